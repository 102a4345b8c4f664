package state

import (
	"fmt"
	"testing"
	"time"

	"github.com/tocsin/tocsin/checks"
)

// Micro-benchmarks of the state machine's hot paths, on the in-memory
// store of the tests (memstore_test.go): what the Tracker itself costs.
// state/sqlite has the same Tracker benchmarks on the SQLite store, where
// the cost of persistence shows. Run them with
//
//	go test -run '^$' -bench . -benchmem ./state/

// benchFleet is how many targets the Tracker benchmarks track: results
// of one target pay for the map lookups and the flushes of all of them.
const benchFleet = 1000

// benchFlushEvery is how many results a benchmark observes between two
// flushes: a fleet of benchFleet targets checked every second, flushed
// every second (FlushEvery's default). The flush is timed with them, so
// the ns/op of an UP→UP result includes its share of the batch.
const benchFlushEvery = benchFleet

// benchTarget is a target of the fleet as the config's defaults make it:
// DOWN after 3 failures, UP after 2 successes, flap detection at 50%/25%.
func benchTarget(name string) checks.Target {
	tg := httpTarget(name, 3, 2)
	tg.FlapHigh, tg.FlapLow = 50, 25
	return tg
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

// benchTracker is a Tracker on store tracking targets, every one of them
// UP already (one success each, flushed).
func benchTracker(b *testing.B, store Store, targets []checks.Target) (*Tracker, *time.Time) {
	b.Helper()
	ctx := b.Context()
	now := t0
	tr, err := NewTracker(ctx, TrackerOptions{
		Store:     store,
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

// benchFleetTargets is a fleet of n targets (benchTarget).
func benchFleetTargets(n int) []checks.Target {
	targets := make([]checks.Target, n)
	for i := range targets {
		targets[i] = benchTarget(fmt.Sprintf("target-%05d", i))
	}
	return targets
}

// forget drops what the memStore kept of the committed batches, so a
// long benchmark does not grow it without bound. The Tracker reads none
// of it back.
func (m *memStore) forget() {
	m.mu.Lock()
	defer m.mu.Unlock()
	clear(m.batches)
	m.batches = m.batches[:0]
	clear(m.results)
	m.results = m.results[:0]
	clear(m.outbox)
	m.outbox = m.outbox[:0]
	clear(m.incidents)
}

// BenchmarkStep is the pure state machine step of a target that stays UP:
// the common case, before any map or store is touched.
func BenchmarkStep(b *testing.B) {
	tg := benchTarget("shop")
	st := TargetState{Name: "shop", Kind: checks.KindHTTP, Status: StatusUp, Since: t0, ConsecOK: 5}
	r := benchResult("shop", t0, true)
	b.ReportAllocs()
	var tr transition
	for b.Loop() {
		r.Time = r.Time.Add(time.Second)
		st, tr = step(st, tg, r)
	}
	if tr != noChange || st.Status != StatusUp {
		b.Fatalf("step: %v %v", tr, st.Status)
	}
}

// BenchmarkFlapHistory is the flap detection of one result: the history
// update, its weighted percentage, and the hysteresis.
func BenchmarkFlapHistory(b *testing.B) {
	var h flapHistory
	on := false
	ok := true
	next := func() {
		ok = !ok // a change at every transition: every weight summed
		h = h.add(ok)
		on = flapping(on, h.percent(), 50, 25)
	}
	for range flapResults { // a full history
		next()
	}
	b.ReportAllocs()
	for b.Loop() {
		next()
	}
	if !on {
		b.Fatal("alternating results are not flapping")
	}
}

// BenchmarkObserveUp is Tracker.Observe of a result that changes nothing
// (UP stays UP), across a fleet of benchFleet targets, with a Flush every
// benchFlushEvery results.
func BenchmarkObserveUp(b *testing.B) {
	store := newMemStore()
	targets := benchFleetTargets(benchFleet)
	tr, now := benchTracker(b, store, targets)
	ctx := b.Context()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := tr.Observe(ctx, benchResult(targets[i%benchFleet].Name, *now, true)); err != nil {
			b.Fatal(err)
		}
		i++
		if i%benchFlushEvery == 0 {
			*now = now.Add(time.Second)
			if err := tr.Flush(ctx); err != nil {
				b.Fatal(err)
			}
			store.forget()
		}
	}
}

// BenchmarkObserveFlip is Tracker.Observe of a result that is a
// transition, alternately UP→DOWN (a new incident and its DOWN event) and
// DOWN→UP (the incident closed, the UP event), each committed at once, for
// one target of a quiet fleet of benchFleet. Flap detection is off, so
// every DOWN is announced.
func BenchmarkObserveFlip(b *testing.B) {
	targets := benchFleetTargets(benchFleet)
	targets[0].FailAfter, targets[0].RecoverAfter, targets[0].FlapHigh, targets[0].FlapLow = 1, 1, 0, 0
	benchFlip(b, targets, false)
}

// BenchmarkObserveFlapping is BenchmarkObserveFlip for a target that is
// flapping: every transition is held from chat and edits the flapping
// notice (a second commit).
func BenchmarkObserveFlapping(b *testing.B) {
	targets := benchFleetTargets(benchFleet)
	targets[0].FailAfter, targets[0].RecoverAfter = 1, 1
	benchFlip(b, targets, true)
}

func benchFlip(b *testing.B, targets []checks.Target, wantFlap bool) {
	store := newMemStore()
	tr, now := benchTracker(b, store, targets)
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
	// Into the steady state: flapping already, when it flaps at all.
	for range 2 * flapResults {
		observe()
	}
	if got := tr.flaps[name].on; got != wantFlap {
		b.Fatalf("flapping = %v, want %v", got, wantFlap)
	}
	store.forget()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		observe()
		if i++; i%1024 == 0 {
			store.forget()
		}
	}
	if st, _ := tr.Get(name); st.ConsecOK+st.ConsecFail != 1 {
		b.Fatalf("not a transition at every result: %+v", st)
	}
}

// BenchmarkTick is the once-a-second sweep of the timed rules over 10,000
// targets: all UP, and with 10% of them DOWN (announced, unacknowledged,
// a reminder not due yet).
func BenchmarkTick(b *testing.B) {
	for _, downPct := range []int{0, 10} {
		b.Run(fmt.Sprintf("targets=10000/down=%d%%", downPct), func(b *testing.B) {
			targets := benchFleetTargets(10_000)
			for i := range targets {
				targets[i].RemindEvery, targets[i].EscalateAfter = time.Hour, 2*time.Hour
			}
			store := newMemStore()
			tr, now := benchTracker(b, store, targets)
			ctx := b.Context()
			down := len(targets) * downPct / 100
			for f := range 3 {
				for i := range down {
					// Spread out: each its own alert, not one storm.
					if err := tr.Observe(ctx, benchResult(targets[i*100/downPct].Name, now.Add(time.Duration(f)*time.Second), false)); err != nil {
						b.Fatal(err)
					}
				}
			}
			if _, d, _ := tr.Counts(); d != down {
				b.Fatalf("%d targets down, want %d", d, down)
			}
			if err := tr.Flush(ctx); err != nil {
				b.Fatal(err)
			}
			*now = now.Add(time.Minute)
			store.forget()
			b.ReportAllocs()
			for b.Loop() {
				if err := tr.Tick(ctx); err != nil {
					b.Fatal(err)
				}
			}
			if n := len(store.committed()); n != 0 {
				b.Fatalf("Tick committed %d batches; nothing was due", n)
			}
		})
	}
}
