package scheduler

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tocsin/tocsin/checks"
)

// fakeChecker is a checks.Checker whose behaviour is a func field. It
// records every call (name, virtual time), the checks in flight (now and
// at most), and whether two checks of one target ever overlapped.
type fakeChecker struct {
	check func(ctx context.Context, t *checks.Target) checks.Result

	mu      sync.Mutex
	calls   map[string][]time.Time
	running map[string]bool
	overlap []string

	inFlight, maxInFlight atomic.Int64
}

var _ checks.Checker = (*fakeChecker)(nil)

func newFake(check func(ctx context.Context, t *checks.Target) checks.Result) *fakeChecker {
	return &fakeChecker{check: check, calls: map[string][]time.Time{}, running: map[string]bool{}}
}

func (f *fakeChecker) Check(ctx context.Context, t *checks.Target) checks.Result {
	f.mu.Lock()
	f.calls[t.Name] = append(f.calls[t.Name], time.Now())
	if f.running[t.Name] {
		f.overlap = append(f.overlap, t.Name)
	}
	f.running[t.Name] = true
	f.mu.Unlock()
	n := f.inFlight.Add(1)
	for m := f.maxInFlight.Load(); n > m && !f.maxInFlight.CompareAndSwap(m, n); m = f.maxInFlight.Load() {
	}
	defer func() {
		f.inFlight.Add(-1)
		f.mu.Lock()
		f.running[t.Name] = false
		f.mu.Unlock()
	}()
	if f.check == nil {
		return checks.Result{Target: t.Name, Kind: t.Kind, Time: time.Now(), OK: true}
	}
	return f.check(ctx, t)
}

// Calls returns a copy of the recorded call times of name.
func (f *fakeChecker) Calls(name string) []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Time(nil), f.calls[name]...)
}

func (f *fakeChecker) Overlaps() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.overlap...)
}

// sleeper returns a check that sleeps d of virtual time (or until ctx ends).
func sleeper(d time.Duration) func(ctx context.Context, t *checks.Target) checks.Result {
	return func(ctx context.Context, t *checks.Target) checks.Result {
		select {
		case <-time.After(d):
			return checks.Result{Target: t.Name, OK: true}
		case <-ctx.Done():
			return checks.Result{Target: t.Name, Reason: ctx.Err().Error()}
		}
	}
}

func everyTarget(name string, every time.Duration) checks.Target {
	return checks.Target{
		Name: name, Kind: checks.KindTCP, TCP: checks.TCPSpec{Address: "127.0.0.1:9"},
		Timeout: 5 * time.Second, Schedule: "@every " + every.String(), Every: every,
	}
}

func specTarget(name, spec string) checks.Target {
	return checks.Target{
		Name: name, Kind: checks.KindTCP, TCP: checks.TCPSpec{Address: "127.0.0.1:9"},
		Timeout: 5 * time.Second, Schedule: spec,
	}
}

// stop stops s, failing the test if checks did not finish within a minute.
func stop(t *testing.T, s *Scheduler) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
}

func TestSpreadAndFirstCheck(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const (
			n     = 2000
			every = 30 * time.Second
			span  = 5 * time.Minute
		)
		fake := newFake(nil)
		var sunk atomic.Int64
		s := New(Options{Checker: fake, Sink: func(context.Context, checks.Result) { sunk.Add(1) }})
		targets := make([]checks.Target, n)
		for i := range targets {
			targets[i] = everyTarget(fmt.Sprintf("host-%04d", i), every)
		}
		if err := s.SetTargets(targets); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		s.Start()
		time.Sleep(span)
		stop(t, s)

		perSecond := make([]int, int(span/time.Second)+1)
		total := 0
		for _, tg := range targets {
			calls := fake.Calls(tg.Name)
			if len(calls) < 9 || len(calls) > 11 {
				t.Errorf("%s: %d runs in %v, want 10±1", tg.Name, len(calls), span)
				continue
			}
			if first := calls[0].Sub(start); first <= 0 || first > every {
				t.Errorf("%s: first run %v after start, want within (0, %v]", tg.Name, first, every)
			}
			for i := 1; i < len(calls); i++ {
				if d := calls[i].Sub(calls[i-1]); d != every {
					t.Errorf("%s: runs %d and %d are %v apart, want %v", tg.Name, i-1, i, d, every)
				}
			}
			for _, c := range calls {
				perSecond[int(c.Sub(start)/time.Second)]++
				total++
			}
		}
		if got := sunk.Load(); got != int64(total) {
			t.Errorf("sink got %d results, checker ran %d", got, total)
		}
		avg := float64(total) / span.Seconds()
		for sec, c := range perSecond {
			if float64(c) > 3*avg {
				t.Errorf("second %d: %d checks started, more than 3× the average %.1f: a burst", sec, c, avg)
			}
		}
		st := s.Stats()
		if st.Runs != uint64(total) || st.Skipped != 0 || st.InFlight != 0 || st.Targets != n {
			t.Errorf("Stats = %+v, want Runs %d, Skipped 0, InFlight 0, Targets %d", st, total, n)
		}
	})
}

func TestConcurrencyCap(t *testing.T) {
	tests := []struct {
		name          string
		targets       int
		every, sleep  time.Duration
		maxConcurrent int
		wantSkips     bool
	}{
		{name: "cap binds", targets: 500, every: 10 * time.Second, sleep: 2 * time.Second, maxConcurrent: 50},
		{name: "slow check skips", targets: 20, every: time.Second, sleep: 3 * time.Second, maxConcurrent: 512, wantSkips: true},
		{name: "slow check and cap", targets: 100, every: time.Second, sleep: 3 * time.Second, maxConcurrent: 10, wantSkips: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				fake := newFake(sleeper(tt.sleep))
				s := New(Options{Checker: fake, MaxConcurrent: tt.maxConcurrent})
				targets := make([]checks.Target, tt.targets)
				for i := range targets {
					targets[i] = everyTarget(fmt.Sprintf("t%d", i), tt.every)
				}
				if err := s.SetTargets(targets); err != nil {
					t.Fatal(err)
				}
				s.Start()
				time.Sleep(time.Minute)
				stop(t, s)

				max := fake.maxInFlight.Load()
				if max <= 0 || max > int64(tt.maxConcurrent) {
					t.Errorf("max in flight %d, want in (0, %d]", max, tt.maxConcurrent)
				}
				st := s.Stats()
				if st.MaxInFlight > uint64(tt.maxConcurrent) || st.MaxInFlight == 0 {
					t.Errorf("Stats.MaxInFlight %d, want in (0, %d]", st.MaxInFlight, tt.maxConcurrent)
				}
				if tt.wantSkips && st.Skipped == 0 {
					t.Errorf("Stats.Skipped = 0, want missed intervals counted")
				}
				if o := fake.Overlaps(); len(o) > 0 {
					t.Errorf("overlapping runs of one target: %v", o[:min(len(o), 5)])
				}
				if st.InFlight != 0 || st.Waiting != 0 {
					t.Errorf("after Stop: Stats = %+v, want nothing in flight or waiting", st)
				}
			})
		})
	}
}

func TestCronSpecs(t *testing.T) {
	tests := []struct {
		name     string
		spec     string
		delay    time.Duration // before Start, so start is not on a boundary
		run      time.Duration
		boundary time.Duration // every run after the first is on a multiple of it
		wantRuns int           // including the first check
	}{
		{name: "six fields", spec: "*/10 * * * * *", delay: 3500 * time.Millisecond, run: 65 * time.Second, boundary: 10 * time.Second, wantRuns: 1 + 6},
		{name: "five fields", spec: "* * * * *", delay: 7 * time.Second, run: 3 * time.Minute, boundary: time.Minute, wantRuns: 1 + 3},
		{name: "daily", spec: "@daily", delay: time.Hour, run: time.Hour, boundary: 24 * time.Hour, wantRuns: 1},
		{name: "CRON_TZ", spec: "CRON_TZ=UTC 0 */2 * * * *", delay: 0, run: 5 * time.Minute, boundary: 2 * time.Minute, wantRuns: 1 + 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				fake := newFake(nil)
				s := New(Options{Checker: fake})
				if err := s.SetTargets([]checks.Target{specTarget("db", tt.spec)}); err != nil {
					t.Fatal(err)
				}
				time.Sleep(tt.delay)
				start := time.Now()
				s.Start()
				time.Sleep(tt.run)
				stop(t, s)

				calls := fake.Calls("db")
				if len(calls) != tt.wantRuns {
					t.Fatalf("%d runs %v, want %d", len(calls), calls, tt.wantRuns)
				}
				if first := calls[0].Sub(start); first < 0 || first >= firstCheckWindow {
					t.Errorf("first check %v after start, want within %v", first, firstCheckWindow)
				}
				for _, c := range calls[1:] {
					if c.UnixNano()%int64(tt.boundary) != 0 {
						t.Errorf("run at %v, not on a %v boundary", c.UTC(), tt.boundary)
					}
				}
			})
		})
	}
}

func TestSetTargetsWhileRunning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fake := newFake(nil)
		s := New(Options{Checker: fake})
		a, b := everyTarget("a", 10*time.Second), everyTarget("b", 10*time.Second)
		if err := s.SetTargets([]checks.Target{a}); err != nil {
			t.Fatal(err)
		}
		s.Start()
		time.Sleep(25 * time.Second)

		// Add b.
		added := time.Now()
		if err := s.SetTargets([]checks.Target{a, b}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(35 * time.Second)
		if calls := fake.Calls("b"); len(calls) == 0 || calls[0].Sub(added) <= 0 || calls[0].Sub(added) > 10*time.Second {
			t.Fatalf("added b ran at %v, want first within 10s of %v", calls, added)
		}

		// Remove a, slow b down to every 20s.
		changed := time.Now()
		b20 := everyTarget("b", 20*time.Second)
		if err := s.SetTargets([]checks.Target{b20}); err != nil {
			t.Fatal(err)
		}
		aBefore := len(fake.Calls("a"))
		bBefore := len(fake.Calls("b"))
		time.Sleep(90 * time.Second)
		stop(t, s)

		if got := len(fake.Calls("a")); got != aBefore {
			t.Errorf("removed a ran %d more times", got-aBefore)
		}
		after := fake.Calls("b")[bBefore:]
		if len(after) < 4 || len(after) > 5 {
			t.Fatalf("b ran %d times in 90s at every 20s: %v", len(after), after)
		}
		if d := after[0].Sub(changed); d <= 0 || d > 20*time.Second {
			t.Errorf("changed b first ran %v after the change, want within 20s", d)
		}
		for i := 1; i < len(after); i++ {
			if d := after[i].Sub(after[i-1]); d != 20*time.Second {
				t.Errorf("changed b runs %v apart, want 20s", d)
			}
		}
		if st := s.Stats(); st.Targets != 1 {
			t.Errorf("Stats.Targets = %d, want 1", st.Targets)
		}
	})
}

func TestSetTargetsUnchangedKeepsRhythm(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fake := newFake(nil)
		s := New(Options{Checker: fake})
		a := everyTarget("a", 10*time.Second)
		spec := specTarget("c", "*/15 * * * * *")
		if err := s.SetTargets([]checks.Target{a, spec}); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		s.Start()
		for range 6 {
			time.Sleep(5 * time.Second)
			// A reload with the same targets changes nothing: no extra
			// first check, no double run.
			if err := s.SetTargets([]checks.Target{a, spec}); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(time.Second)
		end := time.Now()
		stop(t, s)

		want := 0
		ps := newPhaseSchedule(a.Every, nameHash(a.Name))
		for next := ps.Next(start); !next.After(end); next = ps.Next(next) {
			want++
		}
		calls := fake.Calls("a")
		if len(calls) != want {
			t.Errorf("a ran %d times in 31s at every 10s, want %d", len(calls), want)
		}
		for i := 1; i < len(calls); i++ {
			if d := calls[i].Sub(calls[i-1]); d != a.Every {
				t.Errorf("a runs %v apart, want %v", d, a.Every)
			}
		}
		if got := len(fake.Calls("c")); got != 1+2 {
			t.Errorf("c ran %d times in 31s at */15 s, want 1 first + 2", got)
		}
	})
}

func TestPanickingChecker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var logs bytes.Buffer
		var logMu sync.Mutex
		logger := slog.New(slog.NewTextHandler(lockedWriter{&logMu, &logs}, nil))
		fake := newFake(func(_ context.Context, t *checks.Target) checks.Result {
			if t.Name == "boom" {
				panic("checker bug")
			}
			return checks.Result{Target: t.Name, OK: true}
		})
		var sunk sync.Map
		s := New(Options{
			Checker: fake, MaxConcurrent: 1, Logger: logger,
			Sink: func(_ context.Context, r checks.Result) { sunk.Store(r.Target, true) },
		})
		if err := s.SetTargets([]checks.Target{everyTarget("boom", 10*time.Second), everyTarget("fine", 10*time.Second)}); err != nil {
			t.Fatal(err)
		}
		s.Start()
		time.Sleep(35 * time.Second)
		if !s.Alive() {
			t.Error("not alive after a panic")
		}
		stop(t, s)

		// boom keeps being checked (its skip guard was handed back), and
		// its slot was released, so fine still ran under a cap of 1.
		if got := len(fake.Calls("boom")); got < 3 {
			t.Errorf("boom checked %d times, want ≥ 3 (every interval despite panics)", got)
		}
		if got := len(fake.Calls("fine")); got < 3 {
			t.Errorf("fine checked %d times, want ≥ 3", got)
		}
		if _, ok := sunk.Load("fine"); !ok {
			t.Error("fine's results not delivered")
		}
		if _, ok := sunk.Load("boom"); ok {
			t.Error("a panicked check delivered a result")
		}
		if st := s.Stats(); st.InFlight != 0 || st.Skipped != 0 {
			t.Errorf("Stats = %+v, want nothing in flight, nothing skipped", st)
		}
		logMu.Lock()
		defer logMu.Unlock()
		if !strings.Contains(logs.String(), "checker bug") {
			t.Errorf("panic not logged; logs:\n%s", logs.String())
		}
	})
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestStop(t *testing.T) {
	tests := []struct {
		name       string
		sleep      time.Duration // the check's length
		stopWithin time.Duration // Stop's ctx
		wantErr    error
		wantSunk   bool
	}{
		{name: "waits for in-flight check", sleep: 5 * time.Second, stopWithin: time.Minute, wantSunk: true},
		{name: "cancels when ctx ends", sleep: time.Hour, stopWithin: time.Second, wantErr: context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				started := make(chan struct{}, 1)
				var cancelled atomic.Bool
				fake := newFake(func(ctx context.Context, tg *checks.Target) checks.Result {
					started <- struct{}{}
					select {
					case <-time.After(tt.sleep):
					case <-ctx.Done():
						cancelled.Store(true)
					}
					return checks.Result{Target: tg.Name}
				})
				var sunk atomic.Int64
				s := New(Options{Checker: fake, Sink: func(context.Context, checks.Result) { sunk.Add(1) }})
				tg := everyTarget("slow", 24*time.Hour)
				tg.Timeout = 2 * time.Hour
				if err := s.SetTargets([]checks.Target{tg}); err != nil {
					t.Fatal(err)
				}
				if s.Alive() {
					t.Error("alive before Start")
				}
				s.Start()
				if !s.Alive() {
					t.Error("not alive after Start")
				}
				<-started

				ctx, cancel := context.WithTimeout(context.Background(), tt.stopWithin)
				defer cancel()
				err := s.Stop(ctx)
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("Stop = %v, want %v", err, tt.wantErr)
				}
				if s.Alive() {
					t.Error("alive after Stop")
				}
				if tt.wantSunk && sunk.Load() != 1 {
					t.Errorf("sink got %d results when Stop returned, want 1", sunk.Load())
				}
				synctest.Wait() // let a cancelled check finish
				if !tt.wantSunk {
					if !cancelled.Load() {
						t.Error("the check was not cancelled")
					}
					if sunk.Load() != 0 {
						t.Error("a check cut short by Stop delivered a result")
					}
				}
			})
		})
	}
}

func TestCheckContextTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var left atomic.Int64
		fake := newFake(func(ctx context.Context, tg *checks.Target) checks.Result {
			if dl, ok := ctx.Deadline(); ok {
				left.Store(int64(time.Until(dl)))
			}
			return checks.Result{Target: tg.Name, OK: true}
		})
		s := New(Options{Checker: fake})
		tg := everyTarget("x", time.Minute)
		tg.Timeout = 1500 * time.Millisecond
		if err := s.SetTargets([]checks.Target{tg}); err != nil {
			t.Fatal(err)
		}
		s.Start()
		time.Sleep(time.Minute)
		stop(t, s)
		if got, want := time.Duration(left.Load()), tg.Timeout+timeoutGrace; got != want {
			t.Errorf("check ctx deadline %v away, want the target's Timeout and the grace, %v", got, want)
		}
	})
}

func TestBadSchedule(t *testing.T) {
	tests := []struct {
		name, spec string
	}{
		{"CRON_TZ with nothing after", "CRON_TZ=UTC"},
		{"TZ with nothing after", "TZ=Europe/Berlin"},
		{"unknown zone", "CRON_TZ=Nowhere/Atlantis * * * * *"},
		{"garbage", "every day"},
		{"too many fields", "* * * * * * *"},
		{"empty", ""},
		{"never fires", "0 0 30 2 *"},
		{"bad descriptor", "@fortnightly"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				fake := newFake(nil)
				s := New(Options{Checker: fake})
				// Scheduled first with a good spec, then reloaded with the bad one.
				good := everyTarget("good", 10*time.Second)
				if err := s.SetTargets([]checks.Target{good, specTarget("bad", "*/5 * * * * *")}); err != nil {
					t.Fatal(err)
				}
				s.Start()
				time.Sleep(time.Second)
				err := s.SetTargets([]checks.Target{good, specTarget("bad", tt.spec)})
				if err == nil || !strings.Contains(err.Error(), `"bad"`) {
					t.Fatalf("SetTargets = %v, want an error naming target \"bad\"", err)
				}
				badBefore := len(fake.Calls("bad"))
				time.Sleep(30 * time.Second)
				stop(t, s)
				if got := len(fake.Calls("bad")); got != badBefore {
					t.Errorf("bad target ran %d times after its schedule broke", got-badBefore)
				}
				if len(fake.Calls("good")) < 3 {
					t.Error("a bad target stopped the good one")
				}
				if st := s.Stats(); st.Targets != 1 {
					t.Errorf("Stats.Targets = %d, want 1", st.Targets)
				}
			})
		})
	}
}

func TestDuplicateName(t *testing.T) {
	s := New(Options{Checker: newFake(nil)})
	err := s.SetTargets([]checks.Target{everyTarget("a", time.Second), everyTarget("a", 2*time.Second)})
	if err == nil || !strings.Contains(err.Error(), "duplicate") {
		t.Fatalf("SetTargets = %v, want a duplicate-name error", err)
	}
	if st := s.Stats(); st.Targets != 1 {
		t.Errorf("Stats.Targets = %d, want 1", st.Targets)
	}
}

func TestStartTwiceAndRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fake := newFake(nil)
		s := New(Options{Checker: fake})
		if err := s.SetTargets([]checks.Target{everyTarget("a", 10*time.Second)}); err != nil {
			t.Fatal(err)
		}
		s.Start()
		s.Start()
		time.Sleep(30 * time.Second)
		stop(t, s)
		time.Sleep(30 * time.Second) // stopped: no runs
		s.Start()
		time.Sleep(30 * time.Second)
		stop(t, s)
		if got := len(fake.Calls("a")); got != 6 {
			t.Errorf("a ran %d times in 2×30s running at every 10s, want 6", got)
		}
	})
}
