package sqlite

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/tocsin/tocsin/checks"
	"github.com/tocsin/tocsin/state"
)

func commit(t *testing.T, s *Store, b *state.Batch) {
	t.Helper()
	if err := s.Commit(context.Background(), b); err != nil {
		t.Fatalf("Commit: %v", err)
	}
}

func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	s := openT(t, "", Options{})
	states := []state.TargetState{
		{
			Name: "db", Kind: checks.KindTCP, Status: state.StatusUp, Since: t0.Add(-time.Hour),
			ConsecOK: 7, LastCheck: t0, LastLatency: 1500 * time.Microsecond,
		},
		{
			Name: "shop", Kind: checks.KindHTTP, Status: state.StatusDown, Since: t0.Add(-time.Minute),
			ConsecFail: 4, FailingSince: t0.Add(-2 * time.Minute), LastCheck: t0, LastError: "HTTP 503",
			LastLatency: 12 * time.Millisecond, IncidentID: 7, AckedBy: "alice", AckedAt: t0.Add(-time.Second),
			MutedUntil: t0.Add(time.Hour),
		},
	}
	incidents := []state.Incident{
		{ID: 5, Target: "shop", Start: t0.Add(-48 * time.Hour), End: t0.Add(-47 * time.Hour), Cause: "HTTP 500", EndReason: "recovered"},
		{ID: 6, Target: "db", Start: t0.Add(-24 * time.Hour), End: t0.Add(-23 * time.Hour), Cause: "refused", EndReason: "removed"},
		{ID: 7, Target: "shop", Start: t0.Add(-time.Minute), Cause: "HTTP 503", AckedBy: "alice", AckedAt: t0.Add(-time.Second),
			AckReason: "on it", AckPlatform: "slack", Quiet: true, ClockAt: t0.Add(-time.Minute), LastRemind: t0.Add(-time.Second), Escalated: true,
			Group: 7, HeldBy: "router", WaitUntil: t0.Add(time.Second)},
	}
	results := []checks.Result{
		{Target: "shop", Kind: checks.KindHTTP, Time: t0.Add(-2 * time.Second), OK: false, Latency: 12 * time.Millisecond,
			Reason: "HTTP 503", StatusCode: 503, CertExpiry: t0.Add(90 * 24 * time.Hour)},
		{Target: "shop", Kind: checks.KindHTTP, Time: t0.Add(-time.Second), OK: true, Latency: 10 * time.Millisecond, StatusCode: 200},
		{Target: "web", Kind: checks.KindPing, Time: t0, OK: true, Latency: time.Millisecond, Sent: 3, Received: 2,
			Loss: 33.3, MinRTT: time.Millisecond / 2, AvgRTT: time.Millisecond, MaxRTT: 2 * time.Millisecond},
	}
	commit(t, s, &state.Batch{States: states, Incidents: incidents, Results: results})

	l, err := s.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(l.States, states) {
		t.Errorf("Load states =\n%+v\nwant\n%+v", l.States, states)
	}
	if l.LastIncidentID != 7 {
		t.Errorf("LastIncidentID = %d, want 7", l.LastIncidentID)
	}

	for _, want := range incidents {
		got, ok, err := s.Incident(ctx, want.ID)
		if err != nil || !ok || !reflect.DeepEqual(got, want) {
			t.Errorf("Incident(%d) = %+v, %v, %v; want %+v", want.ID, got, ok, err, want)
		}
	}
	if _, ok, err := s.Incident(ctx, 99); ok || err != nil {
		t.Errorf("Incident(99) = _, %v, %v; want not found, no error", ok, err)
	}

	for _, tt := range []struct {
		target string
		limit  int
		want   []state.Incident
	}{
		{"shop", 10, []state.Incident{incidents[2], incidents[0]}},
		{"shop", 1, []state.Incident{incidents[2]}},
		{"shop", 0, []state.Incident{incidents[2], incidents[0]}},
		{"db", 10, []state.Incident{incidents[1]}},
		{"nobody", 10, nil},
	} {
		got, err := s.Incidents(ctx, tt.target, tt.limit)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Incidents(%q, %d) = %+v, %v; want %+v", tt.target, tt.limit, got, err, tt.want)
		}
	}

	for _, tt := range []struct {
		target string
		limit  int
		want   []checks.Result
	}{
		{"shop", 10, []checks.Result{results[1], results[0]}},
		{"shop", 1, []checks.Result{results[1]}},
		{"web", 10, []checks.Result{results[2]}},
		{"nobody", 10, nil},
	} {
		got, err := s.Recent(ctx, tt.target, tt.limit)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Recent(%q, %d) = %+v, %v; want %+v", tt.target, tt.limit, got, err, tt.want)
		}
	}
}

func TestCommitUpsertsAndRemoves(t *testing.T) {
	ctx := context.Background()
	s := openT(t, "", Options{})
	commit(t, s, &state.Batch{
		States: []state.TargetState{
			{Name: "a", Kind: checks.KindPing, Status: state.StatusUnknown},
			{Name: "b", Kind: checks.KindTCP, Status: state.StatusDown, IncidentID: 1},
		},
		Incidents: []state.Incident{{ID: 1, Target: "b", Start: t0, Cause: "refused"}},
	})
	// An update of b, its incident closed; a removed.
	bUp := state.TargetState{Name: "b", Kind: checks.KindTCP, Status: state.StatusUp, Since: t0.Add(time.Minute), ConsecOK: 1}
	closed := state.Incident{ID: 1, Target: "b", Start: t0, End: t0.Add(time.Minute), Cause: "refused", EndReason: "recovered"}
	commit(t, s, &state.Batch{
		States:    []state.TargetState{bUp},
		Removed:   []string{"a", "never-there"},
		Incidents: []state.Incident{closed},
	})
	l, err := s.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := []state.TargetState{bUp}; !reflect.DeepEqual(l.States, want) {
		t.Errorf("states = %+v, want %+v", l.States, want)
	}
	if got, _, _ := s.Incident(ctx, 1); !reflect.DeepEqual(got, closed) {
		t.Errorf("incident 1 = %+v, want %+v", got, closed)
	}
	if err := s.Commit(ctx, &state.Batch{}); err != nil {
		t.Errorf("empty Commit: %v", err)
	}
	if err := s.Commit(ctx, nil); err != nil {
		t.Errorf("nil Commit: %v", err)
	}
}

func TestCommitSetsEventIDs(t *testing.T) {
	s := openT(t, "", Options{})
	b := &state.Batch{
		Events:    []state.Event{{Kind: state.EventDown, Target: "a", Time: t0}, {Kind: state.EventDown, Target: "b", Time: t0}},
		Notifiers: []string{"console"},
	}
	commit(t, s, b)
	b2 := &state.Batch{Events: []state.Event{{Kind: state.EventUp, Target: "a", Time: t0}}, Notifiers: []string{"console"}}
	commit(t, s, b2)
	ids := []int64{b.Events[0].ID, b.Events[1].ID, b2.Events[0].ID}
	if ids[0] <= 0 || ids[1] <= ids[0] || ids[2] <= ids[1] {
		t.Errorf("event ids = %v; want positive and increasing", ids)
	}
	p, err := s.Pending(context.Background(), "console", 0)
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range p {
		if d.Event.ID != ids[i] {
			t.Errorf("pending[%d] has event id %d, want %d", i, d.Event.ID, ids[i])
		}
	}
}

// assertEmpty fails unless s holds nothing a batch could have written.
func assertEmpty(t *testing.T, s *Store) {
	t.Helper()
	ctx := context.Background()
	l, err := s.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.States) != 0 || l.LastIncidentID != 0 {
		t.Errorf("after a failed Commit: Load = %+v; want nothing", l)
	}
	if r, _ := s.Recent(ctx, "a", 0); len(r) != 0 {
		t.Errorf("after a failed Commit: results %+v; want none", r)
	}
	if n, _, _ := s.Uptime(ctx, "a", time.Time{}); n != 0 {
		t.Errorf("after a failed Commit: %d checks in rollups; want 0", n)
	}
	if d, _ := s.Depth(ctx); len(d) != 0 {
		t.Errorf("after a failed Commit: outbox depth %v; want empty", d)
	}
	var events int
	if err := s.r.QueryRow("SELECT count(*) FROM events").Scan(&events); err != nil || events != 0 {
		t.Errorf("after a failed Commit: %d events (%v); want 0", events, err)
	}
}

func TestCommitIsAtomic(t *testing.T) {
	good := func() *state.Batch {
		return &state.Batch{
			States:    []state.TargetState{{Name: "a", Kind: checks.KindHTTP, Status: state.StatusDown, IncidentID: 1}},
			Results:   []checks.Result{{Target: "a", Kind: checks.KindHTTP, Time: t0, Reason: "HTTP 503"}},
			Incidents: []state.Incident{{ID: 1, Target: "a", Start: t0, Cause: "HTTP 503"}},
			Events:    []state.Event{{Kind: state.EventDown, Target: "a", IncidentID: 1, Time: t0}},
			Notifiers: []string{"console", "slack"},
		}
	}
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name  string
		ctx   context.Context
		spoil func(b *state.Batch)
	}{
		{"incident with id 0 after the rest", context.Background(), func(b *state.Batch) {
			b.Incidents = append(b.Incidents, state.Incident{ID: 0, Target: "a"})
		}},
		{"state without a name after a good one", context.Background(), func(b *state.Batch) {
			b.States = append(b.States, state.TargetState{Name: ""})
		}},
		{"result without a target after a good one", context.Background(), func(b *state.Batch) {
			b.Results = append(b.Results, checks.Result{Time: t0})
		}},
		{"empty notifier name for the last event", context.Background(), func(b *state.Batch) {
			b.Events = append(b.Events, state.Event{Kind: state.EventUp, Target: "a", Time: t0})
			b.Notifiers = append(b.Notifiers, "")
		}},
		{"context already ended", canceled, func(*state.Batch) {}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openT(t, "", Options{})
			b := good()
			tt.spoil(b)
			err := s.Commit(tt.ctx, b)
			if err == nil {
				t.Fatal("Commit of a bad batch succeeded")
			}
			t.Logf("Commit error: %v", err)
			for i, e := range b.Events {
				if e.ID != 0 {
					t.Errorf("event %d got id %d from a failed Commit", i, e.ID)
				}
			}
			assertEmpty(t, s)
			// The store still works after the failure.
			commit(t, s, good())
		})
	}

	t.Run("closed store", func(t *testing.T) {
		s := openT(t, "", Options{})
		s.Close()
		if err := s.Commit(context.Background(), good()); err == nil {
			t.Error("Commit on a closed store succeeded")
		}
	})
}

func TestCommitBigBatch(t *testing.T) {
	ctx := context.Background()
	s := openT(t, "", Options{})
	b := &state.Batch{}
	const n = 5000
	for i := range n {
		b.Results = append(b.Results, checks.Result{Target: fmt.Sprintf("t%d", i%10), Kind: checks.KindTCP,
			Time: t0.Add(time.Duration(i) * time.Second), OK: i%5 != 0, Latency: time.Millisecond})
	}
	commit(t, s, b)
	total, fails := 0, 0
	for i := range 10 {
		c, f, err := s.Uptime(ctx, fmt.Sprintf("t%d", i), time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		total += c
		fails += f
	}
	if total != n || fails != n/5 {
		t.Errorf("Uptime totals = %d checks, %d failures; want %d, %d", total, fails, n, n/5)
	}
	var hourly, sum int
	if err := s.r.QueryRow("SELECT count(*), sum(checks) FROM hourly").Scan(&hourly, &sum); err != nil {
		t.Fatal(err)
	}
	// 5000 s spans two hours (12:00–13:23) for each of 10 targets.
	if hourly != 20 || sum != n {
		t.Errorf("rollups: %d rows, %d checks; want 20, %d", hourly, sum, n)
	}
}

func TestCommitRollupsAccumulate(t *testing.T) {
	s := openT(t, "", Options{})
	for i := range 3 {
		commit(t, s, &state.Batch{Results: []checks.Result{
			{Target: "a", Time: t0.Add(time.Duration(i) * time.Minute), OK: i != 1, Latency: time.Duration(i+1) * time.Millisecond},
		}})
	}
	var checksN, failures, lat int64
	if err := s.r.QueryRow("SELECT checks, failures, latency_sum_ns FROM hourly WHERE target = 'a' AND hour = ?",
		t0.UnixNano()).Scan(&checksN, &failures, &lat); err != nil {
		t.Fatal(err)
	}
	if checksN != 3 || failures != 1 || lat != int64(6*time.Millisecond) {
		t.Errorf("rollup = %d checks, %d failures, %d ns; want 3, 1, %d", checksN, failures, lat, int64(6*time.Millisecond))
	}
}

func TestConcurrentUse(t *testing.T) {
	ctx := context.Background()
	s := openT(t, "", Options{})
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for w := range 4 {
		wg.Go(func() {
			for i := range 20 {
				b := &state.Batch{
					States:    []state.TargetState{{Name: fmt.Sprintf("w%d", w), Status: state.StatusUp}},
					Results:   []checks.Result{{Target: fmt.Sprintf("w%d", w), Time: t0.Add(time.Duration(i) * time.Second), OK: true}},
					Events:    []state.Event{{Kind: state.EventUp, Target: fmt.Sprintf("w%d", w), Time: t0}},
					Notifiers: []string{"console"},
				}
				if err := s.Commit(ctx, b); err != nil {
					errs <- err
					return
				}
			}
		})
		wg.Go(func() {
			for range 20 {
				if _, err := s.Load(ctx); err != nil {
					errs <- err
					return
				}
				if _, err := s.Pending(ctx, "console", 10); err != nil {
					errs <- err
					return
				}
				if _, err := s.Recent(ctx, fmt.Sprintf("w%d", w), 5); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	d, err := s.Depth(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d["console"] != 80 {
		t.Errorf("console depth = %d, want 80", d["console"])
	}
}

func TestUptime(t *testing.T) {
	ctx := context.Background()
	// Checks every 10 minutes from 00:00 to 11:50 (72, every 4th failing),
	// then pruning keeps only the newest 30 raw results (from 07:00 on).
	start := t0.Add(-12 * time.Hour)
	s := openT(t, "", Options{KeepPerTarget: 30, KeepResults: 100 * time.Hour})
	b := &state.Batch{}
	for i := range 72 {
		b.Results = append(b.Results, checks.Result{Target: "a", Time: start.Add(time.Duration(i) * 10 * time.Minute), OK: i%4 != 0})
	}
	commit(t, s, b)
	if _, err := s.Prune(ctx, t0); err != nil {
		t.Fatal(err)
	}
	// count is the truth: checks and failures from i on.
	count := func(from int) (int, int) {
		c, f := 0, 0
		for i := from; i < 72; i++ {
			c++
			if i%4 == 0 {
				f++
			}
		}
		return c, f
	}
	tests := []struct {
		name       string
		since      time.Time
		wantChecks int
		wantFails  int
	}{
		{"all time", time.Time{}, 72, 18},
		{"on an hour before the raw results", start.Add(2 * time.Hour), 60, 15},
		{"mid-hour before the raw results: that hour left out", start.Add(2*time.Hour + 5*time.Minute), 54, 13},
		{"within the raw results", start.Add(8*time.Hour + 5*time.Minute), func() int { c, _ := count(49); return c }(),
			func() int { _, f := count(49); return f }()},
		{"after the last check", t0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, f, err := s.Uptime(ctx, "a", tt.since)
			if err != nil || c != tt.wantChecks || f != tt.wantFails {
				t.Errorf("Uptime(since %v) = %d, %d, %v; want %d, %d", tt.since, c, f, err, tt.wantChecks, tt.wantFails)
			}
		})
	}
	if c, f, err := s.Uptime(ctx, "nobody", time.Time{}); c != 0 || f != 0 || err != nil {
		t.Errorf("Uptime of an unknown target = %d, %d, %v", c, f, err)
	}
}

func TestReadsHonourContext(t *testing.T) {
	s := openT(t, "", Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Load(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Load with an ended context = %v; want context.Canceled", err)
	}
	if _, err := s.Pending(ctx, "console", 1); !errors.Is(err, context.Canceled) {
		t.Errorf("Pending with an ended context = %v; want context.Canceled", err)
	}
}
