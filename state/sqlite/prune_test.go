package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tocsin/tocsin/checks"
	"github.com/tocsin/tocsin/state"
)

func count(t *testing.T, s *Store, query string, args ...any) int {
	t.Helper()
	var n int
	if err := s.r.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func TestPrune(t *testing.T) {
	ctx := context.Background()
	s := openT(t, "", Options{
		KeepResults:   time.Hour,
		KeepPerTarget: 3,
		KeepHourly:    24 * time.Hour,
		KeepDelivered: 2 * time.Hour,
	})
	res := func(target string, ago time.Duration) checks.Result {
		return checks.Result{Target: target, Kind: checks.KindTCP, Time: t0.Add(-ago), OK: true}
	}
	b := &state.Batch{
		Results: []checks.Result{
			// a: 5 recent (3 kept), 2 too old.
			res("a", 1*time.Minute), res("a", 2*time.Minute), res("a", 3*time.Minute),
			res("a", 4*time.Minute), res("a", 5*time.Minute),
			res("a", 2*time.Hour), res("a", 3*time.Hour),
			// b: 2 recent, both kept.
			res("b", 1*time.Minute), res("b", 2*time.Minute),
			// c: only old ones; their rollups are within KeepHourly but one
			// is older still.
			res("c", 5*time.Hour), res("c", 30*time.Hour),
		},
		Events: []state.Event{
			{Kind: state.EventDown, Target: "old", Time: t0.Add(-5 * time.Hour)},
			{Kind: state.EventDown, Target: "recent", Time: t0.Add(-time.Hour)},
			{Kind: state.EventDown, Target: "queued", Time: t0.Add(-10 * time.Hour)},
			{Kind: state.EventDown, Target: "half", Time: t0.Add(-5 * time.Hour)},
		},
		Notifiers: []string{"console", "slack"},
	}
	commit(t, s, b)
	deliver := func(target, notifier string, at time.Time) {
		t.Helper()
		if _, err := s.w.Exec(`UPDATE deliveries SET delivered_at = ? WHERE notifier = ? AND event_id =
			(SELECT id FROM events WHERE target = ?)`, at.UnixNano(), notifier, target); err != nil {
			t.Fatal(err)
		}
	}
	deliver("old", "console", t0.Add(-4*time.Hour))
	deliver("old", "slack", t0.Add(-3*time.Hour))
	deliver("recent", "console", t0.Add(-time.Hour))
	deliver("recent", "slack", t0.Add(-time.Hour))
	deliver("half", "console", t0.Add(-4*time.Hour)) // slack still queued
	// "queued": old but never delivered: kept however old.

	hourlyBefore := count(t, s, "SELECT count(*) FROM hourly")
	n, err := s.Prune(ctx, t0)
	if err != nil {
		t.Fatal(err)
	}

	for _, tt := range []struct {
		target string
		want   []time.Duration // ages of the results kept, newest first
	}{
		{"a", []time.Duration{time.Minute, 2 * time.Minute, 3 * time.Minute}},
		{"b", []time.Duration{time.Minute, 2 * time.Minute}},
		{"c", nil},
	} {
		rs, err := s.Recent(ctx, tt.target, 0)
		if err != nil {
			t.Fatal(err)
		}
		var ages []time.Duration
		for _, r := range rs {
			ages = append(ages, t0.Sub(r.Time))
		}
		if !reflect.DeepEqual(ages, tt.want) {
			t.Errorf("results of %s after Prune: ages %v, want %v", tt.target, ages, tt.want)
		}
	}
	// Only c's 30h-old rollup is past KeepHourly.
	if got := count(t, s, "SELECT count(*) FROM hourly"); got != hourlyBefore-1 {
		t.Errorf("rollups after Prune = %d, want %d", got, hourlyBefore-1)
	}
	if got := count(t, s, "SELECT count(*) FROM hourly WHERE target = 'c'"); got != 1 {
		t.Errorf("c's rollups after Prune = %d, want 1", got)
	}
	var events []string
	rows, err := s.r.Query("SELECT target FROM events ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var e string
		if err := rows.Scan(&e); err != nil {
			t.Fatal(err)
		}
		events = append(events, e)
	}
	rows.Close()
	if want := []string{"recent", "queued", "half"}; !reflect.DeepEqual(events, want) {
		t.Errorf("events after Prune = %v, want %v", events, want)
	}
	if got := count(t, s, "SELECT count(*) FROM deliveries"); got != 5 {
		t.Errorf("deliveries after Prune = %d, want 5 (recent ×2, queued ×2, half/slack)", got)
	}
	if d := depth(t, s); !reflect.DeepEqual(d, map[string]int{"console": 1, "slack": 2}) {
		t.Errorf("Depth after Prune = %v", d)
	}
	// Removed: results 2 (too many of a) + 2 (a old) + 2 (c old), rollups 1,
	// deliveries 3, events 1.
	if want := 2 + 2 + 2 + 1 + 3 + 1; n != want {
		t.Errorf("Prune removed %d rows, want %d", n, want)
	}
	if n, err := s.Prune(ctx, t0); err != nil || n != 0 {
		t.Errorf("second Prune = %d, %v; want 0", n, err)
	}
}

func TestPruneKeepsIDsUnique(t *testing.T) {
	// Deleting the newest event must not let its id come back.
	s := openT(t, "", Options{KeepDelivered: time.Minute})
	b := &state.Batch{Events: []state.Event{{Kind: state.EventDown, Target: "a", Time: t0}}, Notifiers: []string{"console"}}
	commit(t, s, b)
	p := pending(t, s, "console")
	if err := s.Delivered(context.Background(), p[0].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Prune(context.Background(), t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	b2 := &state.Batch{Events: []state.Event{{Kind: state.EventDown, Target: "b", Time: t0}}, Notifiers: []string{"console"}}
	commit(t, s, b2)
	if b2.Events[0].ID <= b.Events[0].ID {
		t.Errorf("event id %d after pruning event %d; want a new, higher id", b2.Events[0].ID, b.Events[0].ID)
	}
	if p2 := pending(t, s, "console"); p2[0].ID <= p[0].ID {
		t.Errorf("delivery id %d after pruning delivery %d; want a new, higher id", p2[0].ID, p[0].ID)
	}
}

func TestRunPruner(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// The fake clock of the bubble drives both the ticker and Now.
		path := filepath.Join(t.TempDir(), "tocsin.db")
		s, err := Open(context.Background(), path, Options{KeepResults: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		start := time.Now()
		commit(t, s, &state.Batch{Results: []checks.Result{
			{Target: "a", Time: start.Add(-2 * time.Hour)},    // pruned at once
			{Target: "a", Time: start.Add(-30 * time.Minute)}, // pruned at the tick 40 min on
			{Target: "a", Time: start},
		}})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			s.RunPruner(ctx, 40*time.Minute)
			close(done)
		}()
		remaining := func() int {
			rs, err := s.Recent(context.Background(), "a", 0)
			if err != nil {
				t.Fatal(err)
			}
			return len(rs)
		}
		// The first Prune runs at once. The store's queries are not
		// durably blocking, so wait for each step by its effect; every loop
		// is bounded and fake time does not move while the pruner works.
		waitFor := func(want int) {
			t.Helper()
			for range 1000 {
				if remaining() == want {
					return
				}
				time.Sleep(time.Millisecond)
			}
			t.Fatalf("results = %d, want %d", remaining(), want)
		}
		waitFor(2)
		time.Sleep(40 * time.Minute)
		waitFor(1)
		cancel()
		<-done
	})
}

func BenchmarkCommitResults(b *testing.B) {
	s := openT(b, "", Options{})
	ctx := context.Background()
	now := t0
	b.ReportAllocs()
	for b.Loop() {
		batch := &state.Batch{}
		for i := range 1000 {
			batch.Results = append(batch.Results, checks.Result{Target: fmt.Sprintf("t%d", i%50), Kind: checks.KindHTTP,
				Time: now, OK: i%10 != 0, Latency: time.Millisecond, StatusCode: 200})
			now = now.Add(time.Millisecond)
		}
		if err := s.Commit(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
}

// TestPruneIncidents: closed incidents past KeepIncidents go with their
// refs; open ones, recent ones and ones an event still refers to stay.
func TestPruneIncidents(t *testing.T) {
	ctx := context.Background()
	s := openT(t, "", Options{KeepIncidents: 24 * time.Hour, KeepDelivered: time.Hour})
	day := 24 * time.Hour
	commit(t, s, &state.Batch{
		Incidents: []state.Incident{
			{ID: 1, Target: "old", Start: t0.Add(-3 * day), End: t0.Add(-2 * day), EndReason: "recovered"},
			{ID: 2, Target: "recent", Start: t0.Add(-3 * day), End: t0.Add(-time.Hour), EndReason: "recovered"},
			{ID: 3, Target: "open", Start: t0.Add(-3 * day)},
			{ID: 4, Target: "queued", Start: t0.Add(-3 * day), End: t0.Add(-2 * day), EndReason: "recovered"},
		},
		Events:    []state.Event{{Kind: state.EventUp, Target: "queued", IncidentID: 4, Time: t0.Add(-2 * day)}},
		Notifiers: []string{"console"},
	})
	for id := int64(1); id <= 4; id++ {
		if err := s.SetRef(ctx, id, "console", fmt.Sprintf("ref-%d", id)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Prune(ctx, t0); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[int64]bool{1: false, 2: true, 3: true, 4: true} {
		_, ok, err := s.Incident(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		ref, err := s.Ref(ctx, id, "console")
		if err != nil {
			t.Fatal(err)
		}
		if ok != want || (ref != "") != want {
			t.Errorf("incident %d: kept %v, ref %q; want kept %v", id, ok, ref, want)
		}
	}
}
