package sqlite

import (
	"fmt"
	"testing"
	"time"

	"github.com/tocsin/tocsin/checks"
	"github.com/tocsin/tocsin/state"
)

// Micro-benchmarks of the state machine on the SQLite store, in a temp
// dir: state's benchmarks (state/bench_test.go) with the cost of
// persistence added, and the commits that record results. Run them with
//
//	go test -run '^$' -bench . -benchmem ./state/sqlite/

// benchFleet is how many targets the Tracker benchmarks track; a Flush
// comes every benchFleet results (the fleet checked every second, flushed
// every second), timed with them.
const benchFleet = 1000

// benchTargets is a fleet of n targets as the config's defaults make them:
// DOWN after 3 failures, UP after 2 successes, flap detection at 50%/25%.
func benchTargets(n int) []checks.Target {
	targets := make([]checks.Target, n)
	for i := range targets {
		name := fmt.Sprintf("target-%04d", i)
		targets[i] = checks.Target{Name: name, Kind: checks.KindHTTP,
			HTTP:      checks.HTTPSpec{URL: "http://127.0.0.1:8080/" + name},
			FailAfter: 3, RecoverAfter: 2, FlapHigh: 50, FlapLow: 25}
	}
	return targets
}

// benchResult is the result of target at time at: OK, or failed with
// "HTTP 503".
func benchResult(target string, at time.Time, ok bool) checks.Result {
	r := checks.Result{Target: target, Kind: checks.KindHTTP, Time: at, OK: ok,
		Latency: 3 * time.Millisecond, StatusCode: 200}
	if !ok {
		r.Reason, r.StatusCode = "HTTP 503", 503
	}
	return r
}

// benchTracker is a Tracker on a new store in a temp dir, tracking
// targets, every one of them UP already (one success each, flushed).
func benchTracker(b *testing.B, targets []checks.Target) (*state.Tracker, *time.Time) {
	b.Helper()
	ctx := b.Context()
	now := t0
	s := openT(b, "", Options{Now: func() time.Time { return now }})
	tr, err := state.NewTracker(ctx, state.TrackerOptions{
		Store:     s,
		Notifiers: []string{"console", "slack"},
		Local:     []string{"console"},
		Now:       func() time.Time { return now },
	})
	if err != nil {
		b.Fatalf("NewTracker: %v", err)
	}
	if err := tr.SetTargets(ctx, targets); err != nil {
		b.Fatalf("SetTargets: %v", err)
	}
	for _, tg := range targets {
		if err := tr.Observe(ctx, benchResult(tg.Name, now, true)); err != nil {
			b.Fatalf("Observe: %v", err)
		}
	}
	if err := tr.Flush(ctx); err != nil {
		b.Fatalf("Flush: %v", err)
	}
	return tr, &now
}

// BenchmarkTrackerObserveUp is Tracker.Observe of a result that changes
// nothing (UP stays UP), across a fleet of benchFleet targets, with the
// Flush of every benchFleet results (their rows and the fleet's states in
// one transaction) shared among them.
func BenchmarkTrackerObserveUp(b *testing.B) {
	targets := benchTargets(benchFleet)
	tr, now := benchTracker(b, targets)
	ctx := b.Context()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := tr.Observe(ctx, benchResult(targets[i%benchFleet].Name, *now, true)); err != nil {
			b.Fatal(err)
		}
		if i++; i%benchFleet == 0 {
			*now = now.Add(time.Second)
			if err := tr.Flush(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkTrackerObserveFlip is Tracker.Observe of a transition,
// alternately UP→DOWN (a new incident, its DOWN in the outbox) and
// DOWN→UP (the incident closed, the UP in the outbox), each committed
// before Observe returns, for one target of a quiet fleet of benchFleet.
// Flap detection is off, so every DOWN is announced.
func BenchmarkTrackerObserveFlip(b *testing.B) {
	targets := benchTargets(benchFleet)
	targets[0].FailAfter, targets[0].RecoverAfter, targets[0].FlapHigh, targets[0].FlapLow = 1, 1, 0, 0
	benchFlip(b, targets)
}

// BenchmarkTrackerObserveFlapping is BenchmarkTrackerObserveFlip for a
// target that flaps: every transition is held from chat and edits the
// flapping notice, a second commit.
func BenchmarkTrackerObserveFlapping(b *testing.B) {
	targets := benchTargets(benchFleet)
	targets[0].FailAfter, targets[0].RecoverAfter = 1, 1
	benchFlip(b, targets)
}

func benchFlip(b *testing.B, targets []checks.Target) {
	tr, now := benchTracker(b, targets)
	ctx := b.Context()
	name := targets[0].Name
	ok := true
	observe := func() {
		ok = !ok
		*now = now.Add(time.Second)
		if err := tr.Observe(ctx, benchResult(name, *now, ok)); err != nil {
			b.Fatal(err)
		}
	}
	for range 42 { // into the steady state: flapping already, when it flaps
		observe()
	}
	b.ReportAllocs()
	for b.Loop() {
		observe()
	}
	if st, _ := tr.Get(name); st.ConsecOK+st.ConsecFail != 1 {
		b.Fatalf("not a transition at every result: %+v", st)
	}
}

// BenchmarkCommitTransition is the commit of one transition as the Tracker
// makes it: the target's state, its result, the new incident and the DOWN
// event enqueued for two notifiers, in one transaction.
func BenchmarkCommitTransition(b *testing.B) {
	s := openT(b, "", Options{})
	ctx := b.Context()
	at := t0
	var id int64
	b.ReportAllocs()
	for b.Loop() {
		id++
		at = at.Add(time.Second)
		r := benchResult("shop", at, false)
		st := state.TargetState{Name: "shop", Kind: checks.KindHTTP, Status: state.StatusDown, Since: at,
			ConsecFail: 1, FailingSince: at, LastCheck: at, LastError: r.Reason, LastLatency: r.Latency, IncidentID: id}
		inc := state.Incident{ID: id, Target: "shop", Start: at, Cause: r.Reason, ClockAt: at, Group: id}
		ev := state.Event{Kind: state.EventDown, Target: "shop", TargetKind: checks.KindHTTP,
			Address: "http://127.0.0.1:8080/shop", IncidentID: id, Time: at, Since: at, Reason: r.Reason,
			Latency: r.Latency, Cause: r.Reason, Group: id,
			Members: []state.GroupMember{{Target: "shop", IncidentID: id, Status: state.StatusDown, Cause: r.Reason, Since: at}}}
		if err := s.Commit(ctx, &state.Batch{States: []state.TargetState{st}, Results: []checks.Result{r},
			Incidents: []state.Incident{inc}, Events: []state.Event{ev}, Notifiers: []string{"console", "slack"}}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCommitFlush is the periodic flush of a fleet of benchFleet
// targets checked once each: benchFleet states and results in one
// transaction. Per op: one flush; the ns/result metric is its share of
// one result.
func BenchmarkCommitFlush(b *testing.B) {
	s := openT(b, "", Options{})
	ctx := b.Context()
	targets := benchTargets(benchFleet)
	at := t0
	batch := &state.Batch{States: make([]state.TargetState, benchFleet), Results: make([]checks.Result, benchFleet)}
	b.ReportAllocs()
	for b.Loop() {
		at = at.Add(time.Second)
		for i, tg := range targets {
			batch.Results[i] = benchResult(tg.Name, at, true)
			batch.States[i] = state.TargetState{Name: tg.Name, Kind: tg.Kind, Status: state.StatusUp, Since: t0,
				ConsecOK: 1, LastCheck: at, LastLatency: 3 * time.Millisecond}
		}
		if err := s.Commit(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchFleet), "ns/result")
}
