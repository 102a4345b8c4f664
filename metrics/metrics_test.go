package metrics

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tocsin/tocsin/checks"
	"github.com/tocsin/tocsin/state"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func TestResult(t *testing.T) {
	tests := []struct {
		name    string
		results []checks.Result
		want    string
	}{
		{
			name: "none: every kind initialised at zero",
			want: `
# HELP tocsin_checks_total Checks run, by kind and result (ok or fail).
# TYPE tocsin_checks_total counter
tocsin_checks_total{kind="http",result="fail"} 0
tocsin_checks_total{kind="http",result="ok"} 0
tocsin_checks_total{kind="ping",result="fail"} 0
tocsin_checks_total{kind="ping",result="ok"} 0
tocsin_checks_total{kind="tcp",result="fail"} 0
tocsin_checks_total{kind="tcp",result="ok"} 0
`,
		},
		{
			name: "mixed",
			results: []checks.Result{
				{Target: "a", Kind: checks.KindHTTP, OK: true, Latency: time.Millisecond},
				{Target: "a", Kind: checks.KindHTTP, OK: false, Reason: "HTTP 503"},
				{Target: "b", Kind: checks.KindTCP, OK: true},
				{Target: "c", Kind: checks.KindHTTP, OK: true},
			},
			want: `
# HELP tocsin_checks_total Checks run, by kind and result (ok or fail).
# TYPE tocsin_checks_total counter
tocsin_checks_total{kind="http",result="fail"} 1
tocsin_checks_total{kind="http",result="ok"} 2
tocsin_checks_total{kind="ping",result="fail"} 0
tocsin_checks_total{kind="ping",result="ok"} 0
tocsin_checks_total{kind="tcp",result="fail"} 0
tocsin_checks_total{kind="tcp",result="ok"} 1
`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			m := New(reg, Sources{})
			for _, r := range tt.results {
				m.Result(r)
			}
			if err := gatherAndCompare(reg, tt.want, "tocsin_checks_total"); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestResultHistogram(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg, Sources{})
	m.Result(checks.Result{Kind: checks.KindPing, OK: true, Latency: 3 * time.Millisecond})
	m.Result(checks.Result{Kind: checks.KindPing, OK: false, Latency: 20 * time.Second})
	m.Result(checks.Result{Kind: checks.KindTCP, OK: true, Latency: 50 * time.Microsecond})
	want := `
# HELP tocsin_check_duration_seconds Latency of checks by kind: ping average RTT, HTTP time to full response, TCP connect time.
# TYPE tocsin_check_duration_seconds histogram
tocsin_check_duration_seconds_bucket{kind="ping",le="0.0001"} 0
tocsin_check_duration_seconds_bucket{kind="ping",le="0.00025"} 0
tocsin_check_duration_seconds_bucket{kind="ping",le="0.0005"} 0
tocsin_check_duration_seconds_bucket{kind="ping",le="0.001"} 0
tocsin_check_duration_seconds_bucket{kind="ping",le="0.0025"} 0
tocsin_check_duration_seconds_bucket{kind="ping",le="0.005"} 1
tocsin_check_duration_seconds_bucket{kind="ping",le="0.01"} 1
tocsin_check_duration_seconds_bucket{kind="ping",le="0.025"} 1
tocsin_check_duration_seconds_bucket{kind="ping",le="0.05"} 1
tocsin_check_duration_seconds_bucket{kind="ping",le="0.1"} 1
tocsin_check_duration_seconds_bucket{kind="ping",le="0.25"} 1
tocsin_check_duration_seconds_bucket{kind="ping",le="0.5"} 1
tocsin_check_duration_seconds_bucket{kind="ping",le="1"} 1
tocsin_check_duration_seconds_bucket{kind="ping",le="2.5"} 1
tocsin_check_duration_seconds_bucket{kind="ping",le="5"} 1
tocsin_check_duration_seconds_bucket{kind="ping",le="10"} 1
tocsin_check_duration_seconds_bucket{kind="ping",le="30"} 2
tocsin_check_duration_seconds_bucket{kind="ping",le="+Inf"} 2
tocsin_check_duration_seconds_sum{kind="ping"} 20.003
tocsin_check_duration_seconds_count{kind="ping"} 2
tocsin_check_duration_seconds_bucket{kind="tcp",le="0.0001"} 1
tocsin_check_duration_seconds_bucket{kind="tcp",le="0.00025"} 1
tocsin_check_duration_seconds_bucket{kind="tcp",le="0.0005"} 1
tocsin_check_duration_seconds_bucket{kind="tcp",le="0.001"} 1
tocsin_check_duration_seconds_bucket{kind="tcp",le="0.0025"} 1
tocsin_check_duration_seconds_bucket{kind="tcp",le="0.005"} 1
tocsin_check_duration_seconds_bucket{kind="tcp",le="0.01"} 1
tocsin_check_duration_seconds_bucket{kind="tcp",le="0.025"} 1
tocsin_check_duration_seconds_bucket{kind="tcp",le="0.05"} 1
tocsin_check_duration_seconds_bucket{kind="tcp",le="0.1"} 1
tocsin_check_duration_seconds_bucket{kind="tcp",le="0.25"} 1
tocsin_check_duration_seconds_bucket{kind="tcp",le="0.5"} 1
tocsin_check_duration_seconds_bucket{kind="tcp",le="1"} 1
tocsin_check_duration_seconds_bucket{kind="tcp",le="2.5"} 1
tocsin_check_duration_seconds_bucket{kind="tcp",le="5"} 1
tocsin_check_duration_seconds_bucket{kind="tcp",le="10"} 1
tocsin_check_duration_seconds_bucket{kind="tcp",le="30"} 1
tocsin_check_duration_seconds_bucket{kind="tcp",le="+Inf"} 1
tocsin_check_duration_seconds_sum{kind="tcp"} 5e-05
tocsin_check_duration_seconds_count{kind="tcp"} 1
`
	if err := gatherAndCompare(reg, want, "tocsin_check_duration_seconds"); err != nil {
		t.Error(err)
	}
}

func TestHooks(t *testing.T) {
	type call struct {
		hook      string // sent, failed, healthy
		notifier  string
		permanent bool
		healthy   bool
	}
	tests := []struct {
		name  string
		calls []call
		names []string
		want  string
	}{
		{
			name: "sent",
			calls: []call{
				{hook: "sent", notifier: "console"},
				{hook: "sent", notifier: "console"},
				{hook: "sent", notifier: "slack"},
			},
			names: []string{"tocsin_alerts_sent_total"},
			want: `
# HELP tocsin_alerts_sent_total Outbox deliveries completed, by notifier.
# TYPE tocsin_alerts_sent_total counter
tocsin_alerts_sent_total{notifier="console"} 2
tocsin_alerts_sent_total{notifier="slack"} 1
`,
		},
		{
			name: "failed",
			calls: []call{
				{hook: "failed", notifier: "slack", permanent: true},
				{hook: "failed", notifier: "slack", permanent: false},
				{hook: "failed", notifier: "slack", permanent: false},
				{hook: "failed", notifier: "discord", permanent: false},
			},
			names: []string{"tocsin_alerts_failed_total"},
			want: `
# HELP tocsin_alerts_failed_total Failed delivery attempts, by notifier and whether the error was permanent.
# TYPE tocsin_alerts_failed_total counter
tocsin_alerts_failed_total{notifier="discord",permanent="false"} 1
tocsin_alerts_failed_total{notifier="slack",permanent="false"} 2
tocsin_alerts_failed_total{notifier="slack",permanent="true"} 1
`,
		},
		{
			name: "healthy: last call wins",
			calls: []call{
				{hook: "healthy", notifier: "slack", healthy: true},
				{hook: "healthy", notifier: "slack", healthy: false},
				{hook: "healthy", notifier: "discord", healthy: false},
				{hook: "healthy", notifier: "discord", healthy: true},
			},
			names: []string{"tocsin_notifier_healthy"},
			want: `
# HELP tocsin_notifier_healthy 1 while the notifier delivers, 0 after a permanent error.
# TYPE tocsin_notifier_healthy gauge
tocsin_notifier_healthy{notifier="discord"} 1
tocsin_notifier_healthy{notifier="slack"} 0
`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			h := New(reg, Sources{}).Hooks()
			for _, c := range tt.calls {
				switch c.hook {
				case "sent":
					h.Sent(c.notifier)
				case "failed":
					h.Failed(c.notifier, c.permanent)
				case "healthy":
					h.Healthy(c.notifier, c.healthy)
				}
			}
			if err := gatherAndCompare(reg, tt.want, tt.names...); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestTargets(t *testing.T) {
	tests := []struct {
		name    string
		targets []state.TargetState
		want    string
	}{
		{
			name: "no targets: counts are zero",
			want: `
# HELP tocsin_targets Targets by status (up, down, unknown).
# TYPE tocsin_targets gauge
tocsin_targets{status="down"} 0
tocsin_targets{status="unknown"} 0
tocsin_targets{status="up"} 0
`,
		},
		{
			name: "up, down, unknown",
			targets: []state.TargetState{
				{Name: "web-1", Kind: checks.KindPing, Status: state.StatusUp, LastCheck: t0, LastLatency: 12500 * time.Microsecond},
				{Name: "shop", Kind: checks.KindHTTP, Status: state.StatusDown, LastCheck: t0, LastLatency: 2 * time.Second},
				{Name: "db", Kind: checks.KindTCP, Status: state.StatusUnknown},
				{Name: "cache", Kind: checks.KindTCP, Status: state.StatusUnknown, LastCheck: t0, LastLatency: time.Millisecond},
				{Name: "api", Kind: checks.KindHTTP, Status: state.StatusUp, LastCheck: t0},
			},
			want: `
# HELP tocsin_target_last_latency_seconds Latency of the target's last check; absent before its first check.
# TYPE tocsin_target_last_latency_seconds gauge
tocsin_target_last_latency_seconds{target="api"} 0
tocsin_target_last_latency_seconds{target="cache"} 0.001
tocsin_target_last_latency_seconds{target="shop"} 2
tocsin_target_last_latency_seconds{target="web-1"} 0.0125
# HELP tocsin_target_up 1 while the target is up, 0 while down; absent while not yet decided.
# TYPE tocsin_target_up gauge
tocsin_target_up{kind="http",target="api"} 1
tocsin_target_up{kind="http",target="shop"} 0
tocsin_target_up{kind="ping",target="web-1"} 1
# HELP tocsin_targets Targets by status (up, down, unknown).
# TYPE tocsin_targets gauge
tocsin_targets{status="down"} 1
tocsin_targets{status="unknown"} 2
tocsin_targets{status="up"} 2
`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			New(reg, Sources{Targets: func() []state.TargetState { return tt.targets }})
			err := gatherAndCompare(reg, tt.want,
				"tocsin_target_up", "tocsin_target_last_latency_seconds", "tocsin_targets")
			if err != nil {
				t.Error(err)
			}
		})
	}
}

func TestTargetsReadAtScrape(t *testing.T) {
	status := state.StatusUnknown
	reg := prometheus.NewRegistry()
	New(reg, Sources{Targets: func() []state.TargetState {
		return []state.TargetState{{Name: "a", Kind: checks.KindTCP, Status: status}}
	}})
	const head = "# HELP tocsin_target_up 1 while the target is up, 0 while down; absent while not yet decided.\n" +
		"# TYPE tocsin_target_up gauge\n"
	for _, tt := range []struct {
		status state.Status
		want   string
	}{
		{state.StatusUnknown, ""},
		{state.StatusUp, head + `tocsin_target_up{kind="tcp",target="a"} 1` + "\n"},
		{state.StatusDown, head + `tocsin_target_up{kind="tcp",target="a"} 0` + "\n"},
		{state.StatusUnknown, ""},
	} {
		status = tt.status
		if err := gatherAndCompare(reg, tt.want, "tocsin_target_up"); err != nil {
			t.Errorf("status %s: %v", tt.status, err)
		}
	}
}

func TestOutboxDepth(t *testing.T) {
	tests := []struct {
		name    string
		depth   map[string]int
		err     error
		want    string
		wantErr bool
	}{
		{
			name:  "per notifier",
			depth: map[string]int{"console": 0, "slack": 3},
			want: `
# HELP tocsin_outbox_depth Undelivered outbox deliveries per notifier, held ones included.
# TYPE tocsin_outbox_depth gauge
tocsin_outbox_depth{notifier="console"} 0
tocsin_outbox_depth{notifier="slack"} 3
`,
		},
		{
			name:    "store error fails that metric only",
			err:     errors.New("database is locked"),
			wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			var gotDeadline bool
			m := New(reg, Sources{OutboxDepth: func(ctx context.Context) (map[string]int, error) {
				_, gotDeadline = ctx.Deadline()
				return tt.depth, tt.err
			}})
			m.Result(checks.Result{Kind: checks.KindTCP, OK: true})
			mfs, err := reg.Gather()
			if !gotDeadline {
				t.Error("OutboxDepth called without a deadline")
			}
			if tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), "database is locked") {
					t.Fatalf("Gather error = %v, want the store's error", err)
				}
				// The rest of the scrape is still there.
				var found bool
				for _, mf := range mfs {
					found = found || mf.GetName() == "tocsin_checks_total"
				}
				if !found {
					t.Error("tocsin_checks_total missing from a scrape with a failing outbox")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := gatherAndCompare(reg, tt.want, "tocsin_outbox_depth"); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestSkipped(t *testing.T) {
	var n uint64 = 7
	reg := prometheus.NewRegistry()
	New(reg, Sources{Skipped: func() uint64 { return n }})
	want := `
# HELP tocsin_checks_skipped_total Scheduled checks skipped because the previous run was still going or the concurrency cap was reached.
# TYPE tocsin_checks_skipped_total counter
tocsin_checks_skipped_total 7
`
	if err := gatherAndCompare(reg, want, "tocsin_checks_skipped_total"); err != nil {
		t.Error(err)
	}
}

func TestNilSourcesNotExported(t *testing.T) {
	reg := prometheus.NewRegistry()
	New(reg, Sources{})
	for _, name := range []string{
		"tocsin_target_up", "tocsin_target_last_latency_seconds", "tocsin_targets",
		"tocsin_outbox_depth", "tocsin_checks_skipped_total",
	} {
		n, err := gatherAndCount(reg, name)
		if err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("%s: %d series with a nil source, want 0", name, n)
		}
	}
}

func TestRuntimeCollectors(t *testing.T) {
	reg := prometheus.NewRegistry()
	New(reg, Sources{})
	for _, name := range []string{"go_goroutines", "process_start_time_seconds"} {
		n, err := gatherAndCount(reg, name)
		if err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("%s: %d series, want 1", name, n)
		}
	}
}

func TestNewTwicePanics(t *testing.T) {
	reg := prometheus.NewRegistry()
	New(reg, Sources{})
	defer func() {
		if recover() == nil {
			t.Error("second New on one registry did not panic")
		}
	}()
	New(reg, Sources{})
}
