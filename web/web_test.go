package web

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tocsin/tocsin/checks"
	"github.com/tocsin/tocsin/metrics"
	"github.com/tocsin/tocsin/state"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// fixture is one target of every sort the API has to show.
func fixture() []state.TargetState {
	berlin := time.FixedZone("CET", 3600)
	return []state.TargetState{
		{
			Name: "web-1", Kind: checks.KindPing, Status: state.StatusUp,
			Since: t0.Add(-time.Hour), LastCheck: t0, LastLatency: 1500 * time.Microsecond,
		},
		{
			Name: "shop", Kind: checks.KindHTTP, Status: state.StatusDown,
			// Since in another zone: the API must show it in UTC.
			Since: t0.In(berlin), LastCheck: t0.Add(30 * time.Second), LastError: "HTTP 503",
			LastLatency: 12500 * time.Microsecond, IncidentID: 7,
			AckedBy: "alice", AckedAt: t0.Add(5 * time.Minute), AckReason: "on it", AckPlatform: "slack",
		},
		{Name: "db", Kind: checks.KindTCP}, // zero Status: not decided yet
		{
			Name: "cache", Kind: checks.KindTCP, Status: state.StatusDown,
			Since: t0, LastCheck: t0, LastError: "dial tcp 127.0.0.1:9: connection refused",
			IncidentID: 8, MutedUntil: t0.Add(2 * time.Hour),
		},
	}
}

func get(t *testing.T, h http.Handler, method, path string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	return rec
}

func TestHealthz(t *testing.T) {
	tests := []struct {
		name     string
		alive    func() error
		wantCode int
		wantBody string
	}{
		{"nil Alive", nil, 200, "ok\n"},
		{"alive", func() error { return nil }, 200, "ok\n"},
		{"store broken", func() error { return errors.New("store: database is locked") }, 503, "store: database is locked\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := get(t, Handler(Options{Alive: tt.alive}), "GET", "/healthz")
			if rec.Code != tt.wantCode || rec.Body.String() != tt.wantBody {
				t.Errorf("got %d %q, want %d %q", rec.Code, rec.Body.String(), tt.wantCode, tt.wantBody)
			}
			if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
				t.Errorf("Content-Type %q", ct)
			}
		})
	}
}

const wantStatusJSON = `{
  "targets": [
    {"name": "web-1", "kind": "ping", "status": "up", "since": "2026-11-25T11:00:00Z",
     "last_error": "", "last_latency_ms": 1.5, "acked_by": null, "muted_until": null,
     "acked_at": null, "ack_reason": null, "ack_platform": null, "incident_id": null, "last_check": "2026-11-25T12:00:00Z"},
    {"name": "shop", "kind": "http", "status": "down", "since": "2026-11-25T12:00:00Z",
     "last_error": "HTTP 503", "last_latency_ms": 12.5, "acked_by": "alice", "muted_until": null,
     "acked_at": "2026-11-25T12:05:00Z", "ack_reason": "on it", "ack_platform": "slack", "incident_id": 7, "last_check": "2026-11-25T12:00:30Z"},
    {"name": "db", "kind": "tcp", "status": "unknown", "since": null,
     "last_error": "", "last_latency_ms": 0, "acked_by": null, "muted_until": null,
     "acked_at": null, "ack_reason": null, "ack_platform": null, "incident_id": null, "last_check": null},
    {"name": "cache", "kind": "tcp", "status": "down", "since": "2026-11-25T12:00:00Z",
     "last_error": "dial tcp 127.0.0.1:9: connection refused", "last_latency_ms": 0,
     "acked_by": null, "muted_until": "2026-11-25T14:00:00Z",
     "acked_at": null, "ack_reason": null, "ack_platform": null, "incident_id": 8, "last_check": "2026-11-25T12:00:00Z"}
  ],
  "notifiers": {
    "console": {"healthy": true, "error": ""},
    "slack": {"healthy": false, "error": "permanent: invalid_auth"}
  }
}`

func decode(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("bad JSON %q: %v", s, err)
	}
	return v
}

func TestAPIStatus(t *testing.T) {
	h := Handler(Options{
		Status:    fixture,
		Notifiers: func() map[string]string { return map[string]string{"console": "", "slack": "permanent: invalid_auth"} },
	})
	rec := get(t, h, "GET", "/api/status")
	if rec.Code != 200 {
		t.Fatalf("code %d", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	if got, want := decode(t, rec.Body.String()), decode(t, wantStatusJSON); !reflect.DeepEqual(got, want) {
		t.Errorf("body\n%s\nwant\n%s", rec.Body.String(), wantStatusJSON)
	}

	// Absent values are literally null, not "" or a zero time.
	var raw struct {
		Targets []map[string]json.RawMessage `json:"targets"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &raw); err != nil {
		t.Fatal(err)
	}
	nulls := []struct {
		target int
		fields []string
	}{
		{0, []string{"acked_by", "muted_until", "acked_at", "incident_id"}},
		{1, []string{"muted_until"}},
		{2, []string{"since", "acked_by", "muted_until", "acked_at", "incident_id", "last_check"}},
		{3, []string{"acked_by", "acked_at"}},
	}
	for _, n := range nulls {
		for _, f := range n.fields {
			if got := string(raw.Targets[n.target][f]); got != "null" {
				t.Errorf("targets[%d].%s = %s, want null", n.target, f, got)
			}
		}
	}
}

func TestAPIStatusEmpty(t *testing.T) {
	tests := []struct {
		name string
		opts Options
	}{
		{"nil funcs", Options{}},
		{"empty results", Options{
			Status:    func() []state.TargetState { return nil },
			Notifiers: func() map[string]string { return nil },
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := get(t, Handler(tt.opts), "GET", "/api/status")
			if rec.Code != 200 {
				t.Fatalf("code %d", rec.Code)
			}
			// [] and {}, never null: clients iterate without a check.
			got := strings.Join(strings.Fields(rec.Body.String()), "")
			if want := `{"targets":[],"notifiers":{}}`; got != want {
				t.Errorf("body %s, want %s", got, want)
			}
		})
	}
}

func TestAPITarget(t *testing.T) {
	tests := []struct {
		name     string
		path     string
		wantCode int
		want     string
	}{
		{"down and acked", "/api/status/shop", 200, `{"name": "shop", "kind": "http", "status": "down",
			"since": "2026-11-25T12:00:00Z", "last_error": "HTTP 503", "last_latency_ms": 12.5,
			"acked_by": "alice", "muted_until": null, "acked_at": "2026-11-25T12:05:00Z", "ack_reason": "on it", "ack_platform": "slack",
			"incident_id": 7, "last_check": "2026-11-25T12:00:30Z"}`},
		{"unknown", "/api/status/db", 200, `{"name": "db", "kind": "tcp", "status": "unknown",
			"since": null, "last_error": "", "last_latency_ms": 0, "acked_by": null,
			"muted_until": null, "acked_at": null, "ack_reason": null, "ack_platform": null, "incident_id": null, "last_check": null}`},
		{"no such target", "/api/status/nope", 404, `{"error": "unknown target \"nope\""}`},
		{"escaped name", "/api/status/a%20b", 404, `{"error": "unknown target \"a b\""}`},
	}
	h := Handler(Options{Status: fixture})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := get(t, h, "GET", tt.path)
			if rec.Code != tt.wantCode {
				t.Errorf("code %d, want %d", rec.Code, tt.wantCode)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			if got, want := decode(t, rec.Body.String()), decode(t, tt.want); !reflect.DeepEqual(got, want) {
				t.Errorf("body\n%s\nwant\n%s", rec.Body.String(), tt.want)
			}
		})
	}
}

func TestStatusPage(t *testing.T) {
	targets := append(fixture(), state.TargetState{
		Name: "evil", Kind: checks.KindHTTP, Status: state.StatusDown, Since: t0, LastCheck: t0,
		LastError: `<script>alert("x")</script>`,
	})
	h := Handler(Options{
		Status: func() []state.TargetState { return targets },
		Notifiers: func() map[string]string {
			return map[string]string{"console": "", "slack": "permanent: <b>invalid_auth</b>"}
		},
	})
	rec := get(t, h, "GET", "/")
	if rec.Code != 200 {
		t.Fatalf("code %d", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	body := rec.Body.String()
	for _, want := range []string{
		`<meta http-equiv="refresh" content="30">`,
		"5 targets", "1 up", "3 down", "1 unknown",
		"web-1", "shop", "db", "cache", "evil",
		`<span class="badge down">down</span>`,
		`<span class="badge up">up</span>`,
		`<span class="badge unknown">unknown</span>`,
		"HTTP 503", "acked by alice", "muted until 2026-11-25 14:00:00 UTC",
		"1.5 ms", "2026-11-25 12:00:00 UTC",
		`&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;`,
		`&lt;b&gt;invalid_auth&lt;/b&gt;`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	for _, bad := range []string{"<script", "<b>", "http://", "https://"} {
		if strings.Contains(body, bad) {
			t.Errorf("page contains %q", bad)
		}
	}
	// Down ones first, otherwise config order.
	order := []string{"<td>shop</td>", "<td>cache</td>", "<td>evil</td>", "<td>web-1</td>", "<td>db</td>"}
	last := -1
	for _, name := range order {
		i := strings.Index(body, name)
		if i < 0 || i < last {
			t.Errorf("row %s at %d, after %d: want order %v", name, i, last, order)
		}
		last = i
	}
}

func TestStatusPageEmpty(t *testing.T) {
	rec := get(t, Handler(Options{}), "GET", "/")
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "No targets configured.") {
		t.Errorf("got %d %s", rec.Code, rec.Body.String())
	}
}

func TestMetrics(t *testing.T) {
	tests := []struct {
		name    string
		src     metrics.Sources
		want    []string
		notWant []string
	}{
		{
			name: "after a result",
			src: metrics.Sources{Targets: func() []state.TargetState {
				return []state.TargetState{{Name: "shop", Kind: checks.KindHTTP, Status: state.StatusUp, LastCheck: t0}}
			}},
			want: []string{
				`tocsin_checks_total{kind="http",result="ok"} 1`,
				`tocsin_check_duration_seconds_count{kind="http"} 1`,
				`tocsin_target_up{kind="http",target="shop"} 1`,
				`tocsin_alerts_sent_total{notifier="console"} 1`,
				"go_goroutines ",
			},
		},
		{
			name: "a failing source leaves the rest",
			src: metrics.Sources{OutboxDepth: func(context.Context) (map[string]int, error) {
				return nil, errors.New("database is locked")
			}},
			want:    []string{`tocsin_checks_total{kind="http",result="ok"} 1`},
			notWant: []string{"tocsin_outbox_depth{"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			m := metrics.New(reg, tt.src)
			m.Result(checks.Result{Target: "shop", Kind: checks.KindHTTP, OK: true, Latency: 20 * time.Millisecond})
			m.Hooks().Sent("console")
			rec := get(t, Handler(Options{Gatherer: reg}), "GET", "/metrics")
			if rec.Code != 200 {
				t.Fatalf("code %d: %s", rec.Code, rec.Body.String())
			}
			body := rec.Body.String()
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("/metrics lacks %q", w)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(body, w) {
					t.Errorf("/metrics has %q", w)
				}
			}
		})
	}
}

func TestRouting(t *testing.T) {
	echo := func(s string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, s) })
	}
	h := Handler(Options{
		Status: fixture,
		Mount: map[string]http.Handler{
			"POST /slack/commands":         echo("slack"),
			"/discord/interactions":        echo("discord"),
			"GET /api/status/extra/{$}":    echo("extra"),
			"POST /slack/interactions/{$}": echo("interactions"),
		},
	})
	tests := []struct {
		method, path string
		wantCode     int
		wantBody     string // prefix
	}{
		{"POST", "/slack/commands", 200, "slack"},
		{"GET", "/slack/commands", 405, ""},
		{"POST", "/discord/interactions", 200, "discord"},
		{"PUT", "/discord/interactions", 200, "discord"},
		{"GET", "/api/status/extra/", 200, "extra"},
		{"POST", "/slack/interactions/", 200, "interactions"},
		{"GET", "/nope", 404, ""},
		{"GET", "/index.html", 404, ""},
		{"POST", "/api/status", 405, ""},
		{"DELETE", "/healthz", 405, ""},
		{"POST", "/", 405, ""},
		{"GET", "/metrics", 404, ""}, // no Gatherer
		{"HEAD", "/healthz", 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			rec := get(t, h, tt.method, tt.path)
			if rec.Code != tt.wantCode || !strings.HasPrefix(rec.Body.String(), tt.wantBody) {
				t.Errorf("got %d %q, want %d %q", rec.Code, rec.Body.String(), tt.wantCode, tt.wantBody)
			}
		})
	}
}

// TestServer runs the handler on a real loopback listener once, the way
// cmd/tocsin serves it.
func TestServer(t *testing.T) {
	srv := httptest.NewServer(Handler(Options{Status: fixture, Alive: func() error { return nil }}))
	defer srv.Close()
	for _, path := range []string{"/healthz", "/api/status", "/"} {
		resp, err := srv.Client().Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%s: %d", path, resp.StatusCode)
		}
	}
}
