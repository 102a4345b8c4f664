package state

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/tocsin/tocsin/checks"
)

// groupTarget is a target DOWN after one failure, UP after one success,
// grouping DOWNs within 10 s, with parents.
func groupTarget(name string, parents ...string) checks.Target {
	tg := httpTarget(name, 1, 1)
	tg.GroupWait, tg.DependsOn = 10*time.Second, parents
	return tg
}

// observeAt feeds one result of target at t.
func observeAt(t *testing.T, h *trackerHarness, target string, at time.Time, ok bool) {
	t.Helper()
	r := checks.Result{Target: target, Kind: checks.KindHTTP, Time: at, OK: ok}
	if !ok {
		r.Reason = "HTTP 503"
	}
	h.now = at
	if err := h.tr.Observe(t.Context(), r); err != nil {
		t.Fatal(err)
	}
}

// lastEvent returns the newest event of target.
func lastEvent(t *testing.T, m *memStore, target string) Event {
	t.Helper()
	evs := m.events()
	for i := len(evs) - 1; i >= 0; i-- {
		if evs[i].Target == target {
			return evs[i]
		}
	}
	t.Fatalf("no event of %s", target)
	return Event{}
}

func memberNames(ms []GroupMember) []string {
	var out []string
	for _, m := range ms {
		out = append(out, fmt.Sprintf("%s:%s", m.Target, m.Status))
	}
	return out
}

func TestTrackerStormGroups(t *testing.T) {
	store := newMemStore()
	h := newHarness(t, store, groupTarget("a"), groupTarget("b"), groupTarget("c"), groupTarget("d"))
	t0 := at(0)
	observeAt(t, h, "a", t0, false)
	observeAt(t, h, "b", t0.Add(3*time.Second), false)
	observeAt(t, h, "c", t0.Add(10*time.Second), false)
	observeAt(t, h, "d", t0.Add(11*time.Second), false) // past group_wait of a's alert

	a, b, c, d := lastEvent(t, store, "a"), lastEvent(t, store, "b"), lastEvent(t, store, "c"), lastEvent(t, store, "d")
	if a.Group != a.IncidentID || len(a.Members) != 1 {
		t.Errorf("the first DOWN leads its own alert: %+v", a)
	}
	for _, ev := range []Event{b, c} {
		if ev.Group != a.IncidentID {
			t.Errorf("%s's DOWN within group_wait has group %d, want %d", ev.Target, ev.Group, a.IncidentID)
		}
	}
	if got := memberNames(c.Members); !slices.Equal(got, []string{"a:down", "b:down", "c:down"}) {
		t.Errorf("c's view of the group = %v", got)
	}
	if d.Group != d.IncidentID {
		t.Errorf("d, past group_wait, should lead its own alert: group %d", d.Group)
	}

	// Recoveries edit the group; only the last one ends it.
	observeAt(t, h, "b", t0.Add(20*time.Second), true)
	if up := lastEvent(t, store, "b"); up.Group != a.IncidentID ||
		!slices.Equal(memberNames(up.Members), []string{"a:down", "b:up", "c:down"}) {
		t.Errorf("b's recovery = group %d %v", up.Group, memberNames(up.Members))
	}
	observeAt(t, h, "a", t0.Add(21*time.Second), true)
	observeAt(t, h, "c", t0.Add(22*time.Second), true)
	if up := lastEvent(t, store, "c"); !slices.Equal(memberNames(up.Members), []string{"a:up", "b:up", "c:up"}) {
		t.Errorf("the last recovery's view = %v", memberNames(up.Members))
	}
	if len(h.tr.groups) != 1 { // d's alone is still open
		t.Errorf("%d groups kept after a's group ended, want 1 (d's)", len(h.tr.groups))
	}
}

func TestTrackerDependencies(t *testing.T) {
	store := newMemStore()
	router := groupTarget("router")
	router.FailAfter = 2
	h := newHarness(t, store, router, groupTarget("web", "router"), groupTarget("db", "router"), groupTarget("late", "router"))
	t0 := at(0)

	// web fails while router is failing but not yet down: held, waiting.
	observeAt(t, h, "router", t0, false)
	observeAt(t, h, "web", t0.Add(time.Second), false)
	web := lastEvent(t, store, "web")
	if web.Note != "(held: router)" {
		t.Errorf("web's DOWN while router fails: note %q", web.Note)
	}
	if b := lastEventBatch(t, store); !slices.Equal(b.Notifiers, []string{"console"}) {
		t.Errorf("a DOWN waiting for its parent went to %v", b.Notifiers)
	}
	// router goes down: its alert. The next tick: web joins it.
	observeAt(t, h, "router", t0.Add(2*time.Second), false)
	r := lastEvent(t, store, "router")
	h.now = t0.Add(3 * time.Second)
	if err := h.tr.Tick(t.Context()); err != nil {
		t.Fatal(err)
	}
	web = lastEvent(t, store, "web")
	if web.Kind != EventDown || web.Group != r.IncidentID || web.Note != "(held: router)" {
		t.Errorf("web after router went down: %+v", web)
	}
	// db fails while router is down: joins at once.
	observeAt(t, h, "db", t0.Add(30*time.Second), false)
	db := lastEvent(t, store, "db")
	if db.Group != r.IncidentID || db.Members[len(db.Members)-1].HeldBy != "router" {
		t.Errorf("db while router is down: %+v", db)
	}

	// Only the group's first open member is reminded.
	for _, name := range []string{"router", "web", "db"} {
		inc := h.tr.open[name]
		if got := h.tr.reminderOwner(inc); got != (name == "router") {
			t.Errorf("reminderOwner(%s) = %v", name, got)
		}
	}

	// Ack all: one event, every member acknowledged.
	n := len(store.events())
	states, err := h.tr.AckGroup(t.Context(), r.IncidentID, Ack{By: "bob", Platform: "slack"})
	if err != nil || len(states) != 3 {
		t.Fatalf("AckGroup = %d states, %v", len(states), err)
	}
	evs := store.events()[n:]
	if len(evs) != 1 || evs[0].Kind != EventAck || evs[0].Reason != "all 3 targets" || evs[0].IncidentID != r.IncidentID {
		t.Errorf("AckGroup events = %+v", evs)
	}
	for _, m := range evs[0].Members {
		if m.AckedBy != "bob" {
			t.Errorf("member %s not acked in the ack's view", m.Target)
		}
	}
	if _, err := h.tr.AckGroup(t.Context(), r.IncidentID, Ack{By: "carol"}); !errors.Is(err, ErrAlreadyAcked) {
		t.Errorf("second AckGroup: %v, want ErrAlreadyAcked", err)
	}

	// router recovers; web recovers within group_wait and stays in the
	// group's alert; db, still down after group_wait, gets its own.
	n = len(store.events())
	observeAt(t, h, "router", t0.Add(60*time.Second), true)
	observeAt(t, h, "web", t0.Add(65*time.Second), true)
	h.now = t0.Add(69 * time.Second)
	if err := h.tr.Tick(t.Context()); err != nil {
		t.Fatal(err)
	}
	h.now = t0.Add(70 * time.Second)
	if err := h.tr.Tick(t.Context()); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ev := range store.events()[n:] {
		own := ev.Group == ev.IncidentID
		got = append(got, fmt.Sprintf("%s %s own=%v %s", ev.Kind, ev.Target, own, ev.Note))
	}
	want := []string{"UP router own=true ", "UP web own=false ", "DOWN db own=true (router is up again)"}
	if !slices.Equal(got, want) {
		t.Errorf("router's recovery: %q, want %q", got, want)
	}
	if _, err := h.tr.AckGroup(t.Context(), r.IncidentID, Ack{By: "carol"}); !errors.Is(err, ErrIncidentClosed) {
		t.Errorf("AckGroup of an ended group: %v", err)
	}

	// late fails while router is failing, and router never goes down:
	// late's own alert goes out after group_wait.
	observeAt(t, h, "router", t0.Add(70*time.Second), false)
	observeAt(t, h, "late", t0.Add(71*time.Second), false)
	h.now = t0.Add(75 * time.Second)
	if err := h.tr.Tick(t.Context()); err != nil {
		t.Fatal(err)
	}
	if ev := lastEvent(t, store, "late"); ev.Note != "(held: router)" {
		t.Errorf("late released before group_wait: %+v", ev)
	}
	observeAt(t, h, "router", t0.Add(76*time.Second), true)
	h.now = t0.Add(82 * time.Second)
	if err := h.tr.Tick(t.Context()); err != nil {
		t.Fatal(err)
	}
	if ev := lastEvent(t, store, "late"); ev.Kind != EventDown || ev.Group != ev.IncidentID || ev.Note != "" {
		t.Errorf("late after group_wait with router up: %+v", ev)
	}
}

// TestTrackerGroupsAfterRestart: the groups of open incidents are rebuilt
// from the store.
func TestTrackerGroupsAfterRestart(t *testing.T) {
	store := newMemStore()
	targets := []checks.Target{groupTarget("a"), groupTarget("b")}
	h := newHarness(t, store, targets...)
	observeAt(t, h, "a", at(0), false)
	observeAt(t, h, "b", at(0).Add(time.Second), false)
	h2 := newHarness(t, store, targets...)
	lead := h2.tr.open["a"].ID
	if g := h2.tr.groups[lead]; g == nil || !slices.Equal(g.order, []string{"a", "b"}) {
		t.Fatalf("rebuilt group = %+v", g)
	}
	observeAt(t, h2, "b", at(0).Add(2*time.Second), true)
	if up := lastEvent(t, store, "b"); up.Group != lead || len(up.Members) != 2 {
		t.Errorf("b's recovery after a restart: %+v", up)
	}
}

// TestTrackerTickJoinsTogether: children that waited for their parent and
// join its alert in the same tick each show the whole group.
func TestTrackerTickJoinsTogether(t *testing.T) {
	store := newMemStore()
	router := groupTarget("router")
	router.FailAfter = 2
	h := newHarness(t, store, router, groupTarget("a", "router"), groupTarget("b", "router"), groupTarget("c", "router"))
	t0 := at(0)
	observeAt(t, h, "router", t0, false)
	for i, n := range []string{"a", "b", "c"} {
		observeAt(t, h, n, t0.Add(time.Duration(i+1)*100*time.Millisecond), false)
	}
	observeAt(t, h, "router", t0.Add(time.Second), false)
	n := len(store.events())
	h.now = t0.Add(2 * time.Second)
	if err := h.tr.Tick(t.Context()); err != nil {
		t.Fatal(err)
	}
	evs := store.events()[n:]
	if len(evs) != 3 {
		t.Fatalf("%d events, want the 3 joins", len(evs))
	}
	for _, ev := range evs {
		if got := memberNames(ev.Members); !slices.Equal(got, []string{"router:down", "a:down", "b:down", "c:down"}) {
			t.Errorf("%s's join shows %v", ev.Target, got)
		}
	}
}

// TestTrackerRemovedMemberShowsGroup: a grouped target removed by a reload
// edits its group's alert with the group, not with itself alone.
func TestTrackerRemovedMemberShowsGroup(t *testing.T) {
	store := newMemStore()
	a, b := groupTarget("a"), groupTarget("b")
	h := newHarness(t, store, a, b)
	observeAt(t, h, "a", at(0), false)
	observeAt(t, h, "b", at(0).Add(time.Second), false)
	if err := h.tr.SetTargets(t.Context(), []checks.Target{a}); err != nil {
		t.Fatal(err)
	}
	ev := lastEvent(t, store, "b")
	if ev.Kind != EventRemoved || ev.Group != lastEvent(t, store, "a").IncidentID ||
		!slices.Equal(memberNames(ev.Members), []string{"a:down", "b:up"}) {
		t.Errorf("REMOVED of a grouped target = %+v %v", ev, memberNames(ev.Members))
	}
}
