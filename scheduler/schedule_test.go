package scheduler

import (
	"testing"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/tocsin/tocsin/checks"
)

func TestPhaseScheduleNext(t *testing.T) {
	base := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC) // a multiple of 30s in Unix time
	tests := []struct {
		name  string
		every time.Duration
		phase time.Duration
		t     time.Time
		want  time.Time
	}{
		{"on the grid: a whole interval later", 30 * time.Second, 0, base, base.Add(30 * time.Second)},
		{"before the phase", 30 * time.Second, 7 * time.Second, base, base.Add(7 * time.Second)},
		{"just after the phase", 30 * time.Second, 7 * time.Second, base.Add(7*time.Second + 1), base.Add(37 * time.Second)},
		{"at the phase", 30 * time.Second, 7 * time.Second, base.Add(7 * time.Second), base.Add(37 * time.Second)},
		{"sub-second", time.Second, 250 * time.Millisecond, base.Add(500 * time.Millisecond), base.Add(1250 * time.Millisecond)},
		{"other zone, same instant", 30 * time.Second, 7 * time.Second, base.In(time.FixedZone("X", 5*3600+1800)), base.Add(7 * time.Second)},
		{"before 1970", time.Minute, 10 * time.Second, time.Date(1969, 12, 31, 23, 59, 55, 0, time.UTC), time.Date(1970, 1, 1, 0, 0, 10, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := phaseSchedule{every: tt.every, phase: tt.phase}
			if got := p.Next(tt.t); !got.Equal(tt.want) {
				t.Errorf("Next(%v) = %v, want %v", tt.t, got, tt.want)
			}
		})
	}
}

func TestNewPhaseSchedule(t *testing.T) {
	tests := []struct {
		every   time.Duration
		quantum time.Duration
	}{
		{30 * time.Second, 100 * time.Millisecond},
		{time.Second, 10 * time.Millisecond},
		{50 * time.Nanosecond, time.Nanosecond},
		{24 * time.Hour, 100 * time.Millisecond},
	}
	for _, tt := range tests {
		for _, name := range []string{"a", "web-1", "db", "host-0042"} {
			p := newPhaseSchedule(tt.every, nameHash(name))
			if p.phase < 0 || p.phase >= tt.every || p.phase%tt.quantum != 0 {
				t.Errorf("every %v, %q: phase %v, want in [0, every) on a %v grain", tt.every, name, p.phase, tt.quantum)
			}
			if again := newPhaseSchedule(tt.every, nameHash(name)); again != p {
				t.Errorf("every %v, %q: phase not deterministic", tt.every, name)
			}
		}
	}
}

func TestFirstScheduleNext(t *testing.T) {
	inner, err := ParseSpec("0 * * * * *") // every minute, on the minute
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 11, 25, 12, 0, 56, 0, time.UTC) // 4s to the spec's next run
	tests := []struct {
		name       string
		hash       uint64
		wantFirst  time.Duration // after start
		wantSecond time.Time
	}{
		{"phase within the 4s left", uint64(3 * time.Second), 3 * time.Second, start.Add(4 * time.Second)},
		{"phase wraps at the spec's next run", uint64(5 * time.Second), time.Second, start.Add(4 * time.Second)},
		{"phase zero: at once", 0, 0, start.Add(4 * time.Second)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &firstSchedule{inner: inner, hash: tt.hash}
			first := f.Next(start)
			if got := first.Sub(start); got != tt.wantFirst {
				t.Fatalf("first check %v after start, want %v", got, tt.wantFirst)
			}
			if again := f.Next(start.Add(time.Millisecond)); !again.Equal(first) && tt.wantFirst > time.Millisecond {
				t.Errorf("Next before the first check = %v, want it again (%v)", again, first)
			}
			if got := f.Next(first); !got.Equal(tt.wantSecond) {
				t.Errorf("after the first check Next = %v, want the spec's %v", got, tt.wantSecond)
			}
		})
	}
}

func TestScheduleFor(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		target   checks.Target
		wantKind string // "phase", "first" or "" for an error
	}{
		{"every", checks.Target{Name: "a", Schedule: "@every 30s", Every: 30 * time.Second}, "phase"},
		{"@every without Every", checks.Target{Name: "a", Schedule: "@every 1m"}, "phase"},
		{"six fields", checks.Target{Name: "a", Schedule: "*/10 * * * * *"}, "first"},
		{"five fields", checks.Target{Name: "a", Schedule: "0 2 * * *"}, "first"},
		{"descriptor", checks.Target{Name: "a", Schedule: "@hourly"}, "first"},
		{"CRON_TZ", checks.Target{Name: "a", Schedule: "CRON_TZ=UTC 0 2 * * *"}, "first"},
		{"CRON_TZ alone", checks.Target{Name: "a", Schedule: "CRON_TZ=UTC"}, ""},
		{"none", checks.Target{Name: "a"}, ""},
		{"never", checks.Target{Name: "a", Schedule: "0 0 31 4 *"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := scheduleFor(&tt.target, now, time.Time{})
			var kind string
			switch s.(type) {
			case *earlyPhase:
				kind = "phase"
			case *firstSchedule:
				kind = "first"
			case nil:
			default:
				t.Fatalf("unexpected schedule %T", s)
			}
			if kind != tt.wantKind {
				t.Errorf("scheduleFor = %s, %v; want %q", kind, err, tt.wantKind)
			}
			if (err != nil) != (tt.wantKind == "") {
				t.Errorf("err = %v", err)
			}
		})
	}
	var _ cron.Schedule = phaseSchedule{}
	var _ cron.Schedule = (*earlyPhase)(nil)
	var _ cron.Schedule = (*firstSchedule)(nil)
}

// TestEarlyPhase: with an epoch, a first run that would land past one
// interval after it (less the margin) comes at once, then the phase rules
// again, less than an interval later.
func TestEarlyPhase(t *testing.T) {
	every := 30 * time.Second
	epoch := time.Unix(1_000_000, 0).UTC()
	start := epoch.Add(200 * time.Millisecond) // what startup took
	tests := []struct {
		name      string
		phase     time.Duration // offset of the phase from epoch
		epoch     time.Time
		wantFirst time.Time
	}{
		{"phase well inside", 10 * time.Second, epoch, epoch.Add(10 * time.Second)},
		{"phase in the last 200ms", 100 * time.Millisecond, epoch, start},
		{"phase in the margin", every - every/100, epoch, start},
		{"no epoch", 100 * time.Millisecond, time.Time{}, epoch.Add(every + 100*time.Millisecond)},
		{"epoch long ago (reload)", 100 * time.Millisecond, epoch.Add(-time.Hour), epoch.Add(every + 100*time.Millisecond)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := phaseSchedule{every: every, phase: time.Duration(epoch.UnixNano()%int64(every)) + tt.phase}
			e := &earlyPhase{phaseSchedule: p, epoch: tt.epoch}
			first := e.Next(start)
			if !first.Equal(tt.wantFirst) {
				t.Fatalf("first run at %v after epoch, want %v", first.Sub(epoch), tt.wantFirst.Sub(epoch))
			}
			second := e.Next(first)
			if want := p.Next(first); !second.Equal(want) {
				t.Errorf("second run at %v, want the phase's %v", second.Sub(epoch), want.Sub(epoch))
			}
			if gap := second.Sub(first); gap > every || gap <= 0 {
				t.Errorf("second run %v after the first, want within one interval", gap)
			}
		})
	}
}
