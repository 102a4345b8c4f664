package state

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tocsin/tocsin/checks"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// at is the time of the i-th result of a sequence: one every 10s.
func at(i int) time.Time { return t0.Add(time.Duration(i) * 10 * time.Second) }

func httpTarget(name string, failAfter, recoverAfter int) checks.Target {
	return checks.Target{Name: name, Kind: checks.KindHTTP,
		HTTP:      checks.HTTPSpec{URL: "http://127.0.0.1:8080/" + name},
		FailAfter: failAfter, RecoverAfter: recoverAfter}
}

// result is target's i-th result: ok, or failed with "HTTP 503".
func result(target string, i int, ok bool) checks.Result {
	r := checks.Result{Target: target, Kind: checks.KindHTTP, Time: at(i), OK: ok,
		Latency: time.Duration(i+1) * time.Millisecond}
	if !ok {
		r.Reason = fmt.Sprintf("HTTP 503 #%d", i)
	}
	return r
}

var testNotifiers = []string{"console", "slack"}

// trackerHarness is a Tracker on a memStore, with a fixed clock and a
// count of OnEvent calls.
type trackerHarness struct {
	store   *memStore
	tr      *Tracker
	onEvent *atomic.Int64
	now     time.Time
}

func newHarness(t *testing.T, store *memStore, targets ...checks.Target) *trackerHarness {
	t.Helper()
	h := &trackerHarness{store: store, onEvent: new(atomic.Int64), now: t0.Add(time.Hour)}
	tr, err := NewTracker(t.Context(), TrackerOptions{
		Store:     store,
		Notifiers: testNotifiers,
		Local:     []string{"console"},
		Now:       func() time.Time { return h.now },
		OnEvent:   func() { h.onEvent.Add(1) },
	})
	if err != nil {
		t.Fatalf("NewTracker: %v", err)
	}
	h.tr = tr
	if targets != nil {
		if err := tr.SetTargets(t.Context(), targets); err != nil {
			t.Fatalf("SetTargets: %v", err)
		}
	}
	return h
}

// feed observes seq ("F" fail, "O" ok) for target, numbering results from
// first.
func (h *trackerHarness) feed(t *testing.T, target string, first int, seq string) {
	t.Helper()
	for i, c := range seq {
		if err := h.tr.Observe(t.Context(), result(target, first+i, c == 'O')); err != nil {
			t.Fatalf("Observe #%d: %v", first+i, err)
		}
	}
}

func mustGet(t *testing.T, tr *Tracker, name string) TargetState {
	t.Helper()
	st, ok := tr.Get(name)
	if !ok {
		t.Fatalf("Get(%q): not found", name)
	}
	return st
}

// wantEvent is an expected event, times given as sequence indexes.
type wantEvent struct {
	kind     EventKind
	at       int
	since    int
	incident int64
}

func TestTrackerMachine(t *testing.T) {
	tests := []struct {
		name         string
		failAfter    int
		recoverAfter int
		seq          string
		want         []wantEvent
		status       Status
		since        int // index of the final Since; -1 for none
	}{
		{"unknown then ok is up without event", 3, 2, "O", nil, StatusUp, 0},
		{"no results stays unknown", 3, 2, "", nil, StatusUnknown, -1},
		{"failures below threshold stay unknown", 3, 2, "FF", nil, StatusUnknown, -1},
		{"a success resets the failure streak", 3, 2, "FOFFF",
			[]wantEvent{{EventDown, 4, 2, 1}}, StatusDown, 2},
		{"five failures are one DOWN", 3, 2, "FFFFF",
			[]wantEvent{{EventDown, 2, 0, 1}}, StatusDown, 0},
		{"up then down", 2, 1, "OOFF",
			[]wantEvent{{EventDown, 3, 2, 1}}, StatusDown, 2},
		{"a failure resets the success streak", 3, 2, "FFFOFOO",
			[]wantEvent{{EventDown, 2, 0, 1}, {EventUp, 6, 0, 1}}, StatusUp, 6},
		{"recovery needs recover_after successes", 3, 3, "FFFOO",
			[]wantEvent{{EventDown, 2, 0, 1}}, StatusDown, 0},
		{"thresholds of one flip at once, new incident each time", 1, 1, "FOFO",
			[]wantEvent{{EventDown, 0, 0, 1}, {EventUp, 1, 0, 1}, {EventDown, 2, 2, 2}, {EventUp, 3, 2, 2}},
			StatusUp, 3},
		{"zero thresholds act as one", 0, 0, "FO",
			[]wantEvent{{EventDown, 0, 0, 1}, {EventUp, 1, 0, 1}}, StatusUp, 1},
		{"failures while down send nothing", 2, 1, "FFFFFFO",
			[]wantEvent{{EventDown, 1, 0, 1}, {EventUp, 6, 0, 1}}, StatusUp, 6},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			store := newMemStore()
			tg := httpTarget("shop", tc.failAfter, tc.recoverAfter)
			h := newHarness(t, store, tg)
			h.feed(t, "shop", 0, tc.seq)

			got := store.events()
			if len(got) != len(tc.want) {
				t.Fatalf("got %d events %+v, want %d", len(got), got, len(tc.want))
			}
			for i, w := range tc.want {
				ev := got[i]
				if ev.Kind != w.kind || ev.IncidentID != w.incident || !ev.Time.Equal(at(w.at)) || !ev.Since.Equal(at(w.since)) {
					t.Errorf("event %d = %s inc %d time %v since %v; want %s inc %d time %v since %v",
						i, ev.Kind, ev.IncidentID, ev.Time, ev.Since, w.kind, w.incident, at(w.at), at(w.since))
				}
				if ev.Target != "shop" || ev.TargetKind != checks.KindHTTP || ev.Address != tg.HTTP.URL {
					t.Errorf("event %d names %q %q %q", i, ev.Target, ev.TargetKind, ev.Address)
				}
				if ev.Latency != time.Duration(w.at+1)*time.Millisecond {
					t.Errorf("event %d latency %v", i, ev.Latency)
				}
				switch w.kind {
				case EventDown:
					if want := fmt.Sprintf("HTTP 503 #%d", w.at); ev.Reason != want || ev.Duration != 0 {
						t.Errorf("DOWN reason %q duration %v, want %q 0", ev.Reason, ev.Duration, want)
					}
				case EventUp:
					if want := at(w.at).Sub(at(w.since)); ev.Reason != "" || ev.Duration != want {
						t.Errorf("UP reason %q duration %v, want \"\" %v", ev.Reason, ev.Duration, want)
					}
				}
			}
			if n := h.onEvent.Load(); n != int64(len(tc.want)) {
				t.Errorf("OnEvent called %d times, want %d", n, len(tc.want))
			}
			for _, b := range store.committed() {
				if len(b.Events) > 0 && !slices.Equal(b.Notifiers, testNotifiers) {
					t.Errorf("batch notifiers %v, want %v", b.Notifiers, testNotifiers)
				}
			}

			st := mustGet(t, h.tr, "shop")
			if st.Status != tc.status {
				t.Errorf("status %s, want %s", st.Status, tc.status)
			}
			if tc.since >= 0 && !st.Since.Equal(at(tc.since)) {
				t.Errorf("since %v, want %v", st.Since, at(tc.since))
			}
			if tc.since < 0 && !st.Since.IsZero() {
				t.Errorf("since %v, want zero", st.Since)
			}

			// Incidents: DOWN opened one, UP closed the same one.
			for _, w := range tc.want {
				inc, ok := store.incident(w.incident)
				if !ok {
					t.Fatalf("incident %d not stored", w.incident)
				}
				if !inc.Start.Equal(at(w.since)) || inc.Target != "shop" {
					t.Errorf("incident %+v, want start %v", inc, at(w.since))
				}
				if w.kind == EventUp && (!inc.End.Equal(at(w.at)) || inc.EndReason != "recovered") {
					t.Errorf("closed incident %+v, want end %v recovered", inc, at(w.at))
				}
			}
			if st.Status == StatusDown {
				if st.IncidentID == 0 {
					t.Errorf("down without incident id")
				}
				inc, _ := store.incident(st.IncidentID)
				if !inc.End.IsZero() || inc.Cause == "" {
					t.Errorf("open incident %+v", inc)
				}
			} else if st.IncidentID != 0 {
				t.Errorf("%s with incident id %d", st.Status, st.IncidentID)
			}
		})
	}
}

func TestTrackerLastCheckFields(t *testing.T) {
	tests := []struct {
		name    string
		ok      bool
		wantErr string
	}{
		{"failure records its reason", false, "HTTP 503 #4"},
		{"success clears the reason", true, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, newMemStore(), httpTarget("shop", 10, 1))
			h.feed(t, "shop", 0, "FOFF")
			if err := h.tr.Observe(t.Context(), result("shop", 4, tc.ok)); err != nil {
				t.Fatal(err)
			}
			st := mustGet(t, h.tr, "shop")
			if st.LastError != tc.wantErr || !st.LastCheck.Equal(at(4)) || st.LastLatency != 5*time.Millisecond {
				t.Errorf("state %+v", st)
			}
		})
	}
}

func TestTrackerBuffersUnchangedResults(t *testing.T) {
	tests := []struct {
		name  string
		prior string // results before the N counted ones
		n     int
		ok    bool
	}{
		{"fresh target, oks", "", 50, true},
		{"up target, oks", "O", 20, true},
		{"failures below threshold", "", 2, false},
		{"down target, failures", "FFF", 30, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			store := newMemStore()
			h := newHarness(t, store, httpTarget("shop", 3, 2), httpTarget("other", 3, 2))
			h.feed(t, "shop", 0, tc.prior)
			if err := h.tr.Flush(t.Context()); err != nil {
				t.Fatal(err)
			}
			before := len(store.committed())
			for i := range tc.n {
				r := result("shop", len(tc.prior)+i, tc.ok)
				if err := h.tr.Observe(t.Context(), r); err != nil {
					t.Fatal(err)
				}
			}
			if got := len(store.committed()) - before; got != 0 {
				t.Fatalf("%d commits before Flush, want 0", got)
			}
			if err := h.tr.Flush(t.Context()); err != nil {
				t.Fatal(err)
			}
			batches := store.committed()[before:]
			if len(batches) != 1 {
				t.Fatalf("%d commits after Flush, want 1", len(batches))
			}
			b := batches[0]
			if len(b.Results) != tc.n || len(b.Events) != 0 || len(b.Incidents) != 0 {
				t.Errorf("batch: %d results %d events %d incidents", len(b.Results), len(b.Events), len(b.Incidents))
			}
			for i, r := range b.Results {
				if !r.Time.Equal(at(len(tc.prior) + i)) {
					t.Errorf("result %d out of order: %v", i, r.Time)
				}
			}
			if len(b.States) != 1 || b.States[0] != mustGet(t, h.tr, "shop") {
				t.Errorf("batch states %+v, want the latest state of shop", b.States)
			}
			// Nothing more to write: Flush commits nothing.
			if err := h.tr.Flush(t.Context()); err != nil {
				t.Fatal(err)
			}
			if got := len(store.committed()) - before; got != 1 {
				t.Errorf("empty Flush committed: %d commits", got)
			}
		})
	}
}

func TestTrackerTransitionCommitsBuffered(t *testing.T) {
	store := newMemStore()
	h := newHarness(t, store, httpTarget("web", 3, 1), httpTarget("shop", 3, 1))
	var want []checks.Result
	observe := func(r checks.Result) {
		t.Helper()
		want = append(want, r)
		if err := h.tr.Observe(t.Context(), r); err != nil {
			t.Fatal(err)
		}
	}
	observe(result("web", 0, true))
	observe(result("shop", 1, false))
	observe(result("web", 2, true))
	observe(result("shop", 3, false))
	if n := len(store.committed()); n != 0 {
		t.Fatalf("%d commits before the transition", n)
	}
	observe(result("shop", 4, false)) // DOWN

	batches := store.committed()
	if len(batches) != 1 {
		t.Fatalf("%d commits, want 1", len(batches))
	}
	b := batches[0]
	if !slices.EqualFunc(b.Results, want, func(a, b checks.Result) bool { return a == b }) {
		t.Errorf("results %+v, want %+v in order", b.Results, want)
	}
	if len(b.States) != 2 || b.States[0] != mustGet(t, h.tr, "web") || b.States[1] != mustGet(t, h.tr, "shop") {
		t.Errorf("states %+v", b.States)
	}
	if b.States[1].Status != StatusDown || b.States[1].IncidentID != 1 {
		t.Errorf("committed shop state %+v", b.States[1])
	}
	if len(b.Events) != 1 || b.Events[0].Kind != EventDown || len(b.Incidents) != 1 || b.Incidents[0].ID != 1 {
		t.Errorf("events %+v incidents %+v", b.Events, b.Incidents)
	}
	if b.Incidents[0].Cause != "HTTP 503 #4" || !b.Incidents[0].Start.Equal(at(1)) {
		t.Errorf("incident %+v", b.Incidents[0])
	}
	// The buffer went with the transition.
	if err := h.tr.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := len(store.committed()); n != 1 {
		t.Errorf("Flush after the transition committed again (%d commits)", n)
	}
}

func TestTrackerCommitError(t *testing.T) {
	errDisk := errors.New("disk full")
	tests := []struct {
		name     string
		prior    string // fed before the store breaks
		deciding bool   // the result that fails to commit
		retry    string // fed after the store heals
		want     EventKind
	}{
		{"DOWN is retried by the next failure", "FF", false, "F", EventDown},
		{"UP is retried by the next success", "FFFO", true, "O", EventUp},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			store := newMemStore()
			h := newHarness(t, store, httpTarget("shop", 3, 2))
			h.feed(t, "shop", 0, tc.prior)
			before := mustGet(t, h.tr, "shop")
			eventsBefore := len(store.events())
			calls := h.onEvent.Load()

			store.setCommitErr(func(*Batch) error { return errDisk })
			err := h.tr.Observe(t.Context(), result("shop", len(tc.prior), tc.deciding))
			if !errors.Is(err, errDisk) {
				t.Fatalf("Observe = %v, want %v", err, errDisk)
			}
			if got := mustGet(t, h.tr, "shop"); got != before {
				t.Errorf("state changed on a failed commit:\n got %+v\nwant %+v", got, before)
			}
			if h.onEvent.Load() != calls {
				t.Errorf("OnEvent called for a failed commit")
			}
			if err := h.tr.Flush(t.Context()); !errors.Is(err, errDisk) {
				t.Errorf("Flush = %v, want %v", err, errDisk)
			}

			store.setCommitErr(nil)
			h.feed(t, "shop", len(tc.prior)+1, tc.retry)
			h.feed(t, "shop", len(tc.prior)+1+len(tc.retry), tc.retry+tc.retry) // no second event
			evs := store.events()[eventsBefore:]
			if len(evs) != 1 || evs[0].Kind != tc.want {
				t.Fatalf("events after healing %+v, want one %s", evs, tc.want)
			}
			if evs[0].IncidentID != 1 {
				t.Errorf("incident id %d, want 1", evs[0].IncidentID)
			}
			// The result whose commit failed is still in the history, in order.
			if err := h.tr.Flush(t.Context()); err != nil {
				t.Fatal(err)
			}
			res := store.allResults()
			if n := len(tc.prior) + 1 + 3*len(tc.retry); len(res) != n {
				t.Fatalf("%d results stored, want %d", len(res), n)
			}
			for i, r := range res {
				if !r.Time.Equal(at(i)) {
					t.Errorf("result %d at %v, want %v", i, r.Time, at(i))
				}
			}
		})
	}
}

func TestTrackerRestart(t *testing.T) {
	store := newMemStore()
	shop := httpTarget("shop", 3, 2)
	h1 := newHarness(t, store, shop, httpTarget("web", 1, 1))
	h1.feed(t, "shop", 0, "FFFF") // DOWN at #2, incident 1
	h1.feed(t, "web", 10, "O")
	if err := h1.tr.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	down := mustGet(t, h1.tr, "shop")

	// "Reopen": a new Tracker on the same store.
	h2 := newHarness(t, store)
	if got, ok := h2.tr.Get("shop"); !ok || got != down {
		t.Fatalf("before SetTargets: %+v %v, want %+v", got, ok, down)
	}
	if err := h2.tr.SetTargets(t.Context(), []checks.Target{shop, httpTarget("web", 1, 1)}); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, h2.tr, "shop"); got != down || got.ConsecFail != 4 || got.IncidentID != 1 {
		t.Fatalf("after restart %+v, want %+v", got, down)
	}
	events := len(store.events())
	h2.feed(t, "shop", 4, "FFFFFO")
	if got := store.events()[events:]; len(got) != 0 {
		t.Fatalf("failures after restart sent %+v", got)
	}
	h2.feed(t, "shop", 10, "O")
	got := store.events()[events:]
	if len(got) != 1 || got[0].Kind != EventUp || got[0].IncidentID != 1 ||
		!got[0].Since.Equal(at(0)) || got[0].Duration != at(10).Sub(at(0)) {
		t.Fatalf("recovery after restart %+v, want UP of incident 1 since %v", got, at(0))
	}
	inc, _ := store.incident(1)
	if !inc.End.Equal(at(10)) || inc.EndReason != "recovered" || inc.Cause != "HTTP 503 #2" {
		t.Errorf("incident %+v", inc)
	}
	// The next outage gets a fresh id although the new Tracker numbered
	// nothing before it.
	h2.feed(t, "shop", 11, "FFF")
	last := store.events()
	if ev := last[len(last)-1]; ev.Kind != EventDown || ev.IncidentID != 2 {
		t.Errorf("next outage %+v, want DOWN of incident 2", ev)
	}
}

func TestTrackerRestartKeepsFailingSince(t *testing.T) {
	store := newMemStore()
	shop := httpTarget("shop", 3, 1)
	h1 := newHarness(t, store, shop)
	h1.feed(t, "shop", 0, "OFF")
	if err := h1.tr.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	h2 := newHarness(t, store, shop)
	// The startup grace: the stored streak (2) already reaches fail_after
	// with one more failure, but no DOWN comes before fail_after checks of
	// this process.
	h2.feed(t, "shop", 3, "FF")
	if evs := store.events(); len(evs) != 0 {
		t.Fatalf("DOWN %+v within the startup grace", evs)
	}
	h2.feed(t, "shop", 5, "F")
	evs := store.events()
	if len(evs) != 1 || evs[0].Kind != EventDown || !evs[0].Since.Equal(at(1)) {
		t.Fatalf("events %+v, want a DOWN since %v (the first failure)", evs, at(1))
	}
	if st := mustGet(t, h2.tr, "shop"); st.ConsecFail != 5 {
		t.Errorf("ConsecFail = %d, want 5: the grace holds the DOWN, not the count", st.ConsecFail)
	}
}

func TestTrackerSetTargetsRemoval(t *testing.T) {
	tests := []struct {
		name      string
		seq       string // shop's results before it is removed
		restart   bool   // removed across a restart
		wantEvent bool
	}{
		{"removed with an open incident", "FFF", false, true},
		{"removed without incident", "O", false, false},
		{"removed while failing below threshold", "FF", false, false},
		{"vanished across a restart with an open incident", "FFFF", true, true},
		{"vanished across a restart, up", "OO", true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			store := newMemStore()
			web := httpTarget("web", 1, 1)
			h := newHarness(t, store, httpTarget("shop", 3, 1), web)
			h.feed(t, "shop", 0, tc.seq)
			h.feed(t, "web", 20, "O")
			if tc.restart {
				if err := h.tr.Flush(t.Context()); err != nil {
					t.Fatal(err)
				}
				h = newHarness(t, store)
			}
			before := len(store.committed())
			calls := h.onEvent.Load()
			if err := h.tr.SetTargets(t.Context(), []checks.Target{web}); err != nil {
				t.Fatal(err)
			}
			batches := store.committed()[before:]
			if len(batches) != 1 {
				t.Fatalf("%d commits, want 1", len(batches))
			}
			b := batches[0]
			if !slices.Equal(b.Removed, []string{"shop"}) {
				t.Errorf("Removed %v, want [shop]", b.Removed)
			}
			for _, st := range b.States {
				if st.Name == "shop" {
					t.Errorf("batch upserts the removed target's state %+v", st)
				}
			}
			if _, ok := h.tr.Get("shop"); ok {
				t.Errorf("removed target still tracked")
			}
			if _, ok := store.state("shop"); ok {
				t.Errorf("removed target's state still stored")
			}
			if snap := h.tr.Snapshot(); len(snap) != 1 || snap[0].Name != "web" {
				t.Errorf("Snapshot %+v", snap)
			}
			if !tc.wantEvent {
				if len(b.Events) != 0 || len(b.Incidents) != 0 || h.onEvent.Load() != calls {
					t.Errorf("events %+v incidents %+v", b.Events, b.Incidents)
				}
				return
			}
			start := at(0)
			if len(b.Events) != 1 || len(b.Incidents) != 1 {
				t.Fatalf("events %+v incidents %+v", b.Events, b.Incidents)
			}
			ev, inc := b.Events[0], b.Incidents[0]
			if ev.Kind != EventRemoved || ev.Target != "shop" || ev.IncidentID != 1 || ev.TargetKind != checks.KindHTTP ||
				!ev.Time.Equal(h.now) || !ev.Since.Equal(start) || ev.Duration != h.now.Sub(start) {
				t.Errorf("event %+v", ev)
			}
			if inc.ID != 1 || inc.EndReason != "removed" || !inc.End.Equal(h.now) || !inc.Start.Equal(start) {
				t.Errorf("incident %+v", inc)
			}
			if h.onEvent.Load() != calls+1 {
				t.Errorf("OnEvent not called")
			}
			// Back in the config later: a fresh start, a fresh incident.
			if err := h.tr.SetTargets(t.Context(), []checks.Target{web, httpTarget("shop", 1, 1)}); err != nil {
				t.Fatal(err)
			}
			if st := mustGet(t, h.tr, "shop"); st.Status != StatusUnknown || st.IncidentID != 0 {
				t.Errorf("re-added %+v", st)
			}
			h.feed(t, "shop", 30, "F")
			evs := store.events()
			if last := evs[len(evs)-1]; last.Kind != EventDown || last.IncidentID != 2 {
				t.Errorf("re-added target's DOWN %+v", last)
			}
		})
	}
}

func TestTrackerSetTargetsRemovalCommitError(t *testing.T) {
	store := newMemStore()
	web := httpTarget("web", 1, 1)
	h := newHarness(t, store, httpTarget("shop", 1, 1), web)
	h.feed(t, "shop", 0, "F")
	errDisk := errors.New("disk full")
	store.setCommitErr(func(*Batch) error { return errDisk })
	if err := h.tr.SetTargets(t.Context(), []checks.Target{web}); !errors.Is(err, errDisk) {
		t.Fatalf("SetTargets = %v, want %v", err, errDisk)
	}
	if st, ok := h.tr.Get("shop"); !ok || st.Status != StatusDown {
		t.Fatalf("a failed removal changed the state: %+v %v", st, ok)
	}
	store.setCommitErr(nil)
	if err := h.tr.SetTargets(t.Context(), []checks.Target{web}); err != nil {
		t.Fatal(err)
	}
	if evs := store.events(); len(evs) != 2 || evs[1].Kind != EventRemoved {
		t.Errorf("events %+v, want DOWN then REMOVED", evs)
	}
}

func TestTrackerSetTargetsChangedSettings(t *testing.T) {
	tests := []struct {
		name      string
		seq       string
		newFail   int
		next      bool // the result after the reload
		wantKinds []EventKind
	}{
		{"lowered threshold already met waits for the next failure", "FFF", 2, false, []EventKind{EventDown}},
		{"lowered threshold already met, next is ok", "FFF", 2, true, nil},
		{"raised threshold", "FF", 5, false, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			store := newMemStore()
			h := newHarness(t, store, httpTarget("shop", 5, 1))
			h.feed(t, "shop", 0, tc.seq)
			before := mustGet(t, h.tr, "shop")
			changed := httpTarget("shop", tc.newFail, 1)
			changed.HTTP.URL = "http://127.0.0.1:9090/new"
			if err := h.tr.SetTargets(t.Context(), []checks.Target{changed}); err != nil {
				t.Fatal(err)
			}
			if got := mustGet(t, h.tr, "shop"); got != before {
				t.Errorf("reload changed the state: %+v, want %+v", got, before)
			}
			if n := len(store.committed()); n != 0 {
				t.Errorf("reload committed %d batches", n)
			}
			if err := h.tr.Observe(t.Context(), result("shop", len(tc.seq), tc.next)); err != nil {
				t.Fatal(err)
			}
			var kinds []EventKind
			for _, ev := range store.events() {
				kinds = append(kinds, ev.Kind)
				if !ev.Since.Equal(at(0)) || ev.Address != changed.HTTP.URL {
					t.Errorf("event %+v, want since %v at the new address", ev, at(0))
				}
			}
			if !slices.Equal(kinds, tc.wantKinds) {
				t.Errorf("events %v, want %v", kinds, tc.wantKinds)
			}
		})
	}
}

func TestTrackerSnapshotGetCounts(t *testing.T) {
	store := newMemStore()
	targets := []checks.Target{httpTarget("zeta", 1, 1), httpTarget("alpha", 1, 1),
		httpTarget("mid", 1, 1), httpTarget("new", 1, 1)}
	h := newHarness(t, store, targets...)
	h.feed(t, "zeta", 0, "O")
	h.feed(t, "alpha", 0, "F")
	h.feed(t, "mid", 0, "O")
	// A result for a target not in the config is ignored.
	if err := h.tr.Observe(t.Context(), result("ghost", 0, false)); err != nil {
		t.Fatal(err)
	}
	if _, ok := h.tr.Get("ghost"); ok {
		t.Errorf("ghost tracked")
	}

	snap := h.tr.Snapshot()
	var names []string
	for _, st := range snap {
		names = append(names, st.Name)
	}
	if want := []string{"zeta", "alpha", "mid", "new"}; !slices.Equal(names, want) {
		t.Errorf("Snapshot order %v, want %v", names, want)
	}
	snap[0].Status = StatusDown // a copy: no effect on the tracker
	if mustGet(t, h.tr, "zeta").Status != StatusUp {
		t.Errorf("Snapshot returned shared state")
	}
	if up, down, unknown := h.tr.Counts(); up != 2 || down != 1 || unknown != 1 {
		t.Errorf("Counts = %d %d %d, want 2 1 1", up, down, unknown)
	}
}

func TestNewTrackerErrors(t *testing.T) {
	errLoad := errors.New("corrupt")
	tests := []struct {
		name  string
		store Store
		want  error
	}{
		{"no store", nil, nil},
		{"load fails", &memStore{loadErr: errLoad}, errLoad},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewTracker(t.Context(), TrackerOptions{Store: tc.store})
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Errorf("NewTracker = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestTrackerRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := newMemStore()
		tr, err := NewTracker(t.Context(), TrackerOptions{Store: store, FlushEvery: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if err := tr.SetTargets(t.Context(), []checks.Target{httpTarget("shop", 3, 1)}); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- tr.Run(ctx) }()

		observe := func(i int) {
			if err := tr.Observe(t.Context(), result("shop", i, true)); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 10 {
			observe(i)
		}
		synctest.Wait()
		if n := len(store.committed()); n != 0 {
			t.Fatalf("%d commits before the first tick", n)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if b := store.committed(); len(b) != 1 || len(b[0].Results) != 10 {
			t.Fatalf("after one tick: %d commits", len(b))
		}
		time.Sleep(3 * time.Second) // idle ticks write nothing
		synctest.Wait()
		if n := len(store.committed()); n != 1 {
			t.Fatalf("idle ticks committed: %d commits", n)
		}
		observe(10)
		observe(11)
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Run = %v", err)
		}
		if b := store.committed(); len(b) != 2 || len(b[1].Results) != 2 {
			t.Fatalf("final flush: %d commits", len(b))
		}
	})
}

func TestTrackerRunFlushErrorRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := newMemStore()
		var fail atomic.Bool
		fail.Store(true)
		store.commitErr = func(*Batch) error {
			if fail.Load() {
				return errors.New("busy")
			}
			return nil
		}
		tr, err := NewTracker(t.Context(), TrackerOptions{Store: store})
		if err != nil {
			t.Fatal(err)
		}
		if err := tr.SetTargets(t.Context(), []checks.Target{httpTarget("shop", 3, 1)}); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- tr.Run(ctx) }()
		if err := tr.Observe(t.Context(), result("shop", 0, true)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(1500 * time.Millisecond) // one failed tick (default FlushEvery 1s)
		synctest.Wait()
		fail.Store(false)
		time.Sleep(time.Second)
		synctest.Wait()
		if b := store.committed(); len(b) != 1 || len(b[0].Results) != 1 {
			t.Fatalf("after a failed and a good tick: %d commits", len(b))
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Run = %v", err)
		}
	})
}

func TestTrackerConcurrentObserve(t *testing.T) {
	const goroutines, perG, targets = 50, 100, 5
	store := newMemStore()
	var tgs []checks.Target
	for i := range targets {
		tgs = append(tgs, httpTarget(fmt.Sprintf("t%d", i), 2, 2))
	}
	h := newHarness(t, store, tgs...)

	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := range goroutines {
		wg.Go(func() {
			name := fmt.Sprintf("t%d", g%targets)
			for i := range perG {
				// Runs of three failures and three successes: transitions
				// happen, interleaved across goroutines.
				ok := (i/3)%2 == 1
				if err := h.tr.Observe(t.Context(), result(name, g*perG+i, ok)); err != nil {
					errs <- err
					return
				}
				if i%10 == 0 {
					h.tr.Snapshot()
					h.tr.Counts()
				}
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			if err := h.tr.Flush(t.Context()); err != nil {
				errs <- err
				return
			}
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if err := h.tr.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}

	if n := len(store.allResults()); n != goroutines*perG {
		t.Errorf("%d results stored, want %d", n, goroutines*perG)
	}
	// Per target, events alternate DOWN, UP, DOWN…; incident ids rise by
	// one across all targets in commit order, each DOWN paired with its UP.
	last := map[string]Event{}
	var nextID int64 = 1
	for _, ev := range store.events() {
		prev, seen := last[ev.Target]
		switch ev.Kind {
		case EventDown:
			if seen && prev.Kind != EventUp {
				t.Fatalf("%s: DOWN after %s", ev.Target, prev.Kind)
			}
			if ev.IncidentID != nextID {
				t.Fatalf("DOWN incident %d, want %d", ev.IncidentID, nextID)
			}
			nextID++
		case EventUp:
			if !seen || prev.Kind != EventDown || prev.IncidentID != ev.IncidentID {
				t.Fatalf("%s: UP %d after %+v", ev.Target, ev.IncidentID, prev)
			}
		}
		last[ev.Target] = ev
	}
	if nextID == 1 {
		t.Errorf("no transitions at all")
	}
	for _, st := range h.tr.Snapshot() {
		stored, _ := store.state(st.Name)
		if stored != st {
			t.Errorf("stored state of %s %+v, tracker has %+v", st.Name, stored, st)
		}
	}
}

func TestTrackerResumesSavedIncident(t *testing.T) {
	start := at(0)
	tests := []struct {
		name      string
		stored    bool // the incident row exists
		wantCause string
	}{
		{"incident in the store", true, "HTTP 500"},
		{"incident row lost: rebuilt from the state", false, "HTTP 502"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			store := newMemStore()
			store.states["shop"] = TargetState{Name: "shop", Kind: checks.KindHTTP, Status: StatusDown,
				Since: start, ConsecFail: 9, LastError: "HTTP 502", IncidentID: 7,
				AckedBy: "alice", AckedAt: at(1)}
			store.lastIncidentID = 6 // lags the state row: the tracker must not reuse 7
			if tc.stored {
				store.incidents[7] = Incident{ID: 7, Target: "shop", Start: start, Cause: "HTTP 500"}
			}
			h := newHarness(t, store, httpTarget("shop", 1, 1))
			h.feed(t, "shop", 5, "O")
			evs := store.events()
			if len(evs) != 1 || evs[0].Kind != EventUp || evs[0].IncidentID != 7 || evs[0].Duration != at(5).Sub(start) {
				t.Fatalf("events %+v, want UP of incident 7", evs)
			}
			inc, _ := store.incident(7)
			if inc.Cause != tc.wantCause || inc.AckedBy != "alice" || !inc.AckedAt.Equal(at(1)) || inc.EndReason != "recovered" {
				t.Errorf("closed incident %+v", inc)
			}
			st := mustGet(t, h.tr, "shop")
			if st.AckedBy != "" || !st.AckedAt.IsZero() || st.IncidentID != 0 || st.Status != StatusUp {
				t.Errorf("state after recovery %+v", st)
			}
			h.feed(t, "shop", 6, "F")
			if evs := store.events(); evs[len(evs)-1].IncidentID != 8 {
				t.Errorf("next incident %d, want 8", evs[len(evs)-1].IncidentID)
			}
		})
	}
}

// TestTrackerErr: a failing store shows in Err even when no transition
// happens (only the periodic flush writes), and clears after a good write.
func TestTrackerErr(t *testing.T) {
	store := newMemStore()
	h := newHarness(t, store, httpTarget("shop", 3, 1))
	broken := errors.New("disk I/O error")
	store.commitErr = func(*Batch) error { return broken }
	h.feed(t, "shop", 0, "O")
	if err := h.tr.Flush(t.Context()); !errors.Is(err, broken) {
		t.Fatalf("Flush = %v, want the store's error", err)
	}
	// A result that changes nothing writes nothing, and must not hide it.
	if err := h.tr.Observe(t.Context(), result("shop", 1, true)); err != nil {
		t.Fatalf("Observe of a steady result = %v", err)
	}
	if err := h.tr.Err(); !errors.Is(err, broken) {
		t.Fatalf("Err = %v, want the store's error", err)
	}
	store.commitErr = nil
	if err := h.tr.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := h.tr.Err(); err != nil {
		t.Fatalf("Err after a good flush = %v, want nil", err)
	}
}
