package notify

import (
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tocsin/tocsin/state"
)

// TestDispatcherGroupedAlert: a DOWN that joins a group edits the group's
// message and takes its ref; a member's recovery while others are down
// edits only; the group's last recovery replies in the thread and edits.
func TestDispatcherGroupedAlert(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		down7 := state.GroupMember{Target: "router", IncidentID: 7, Status: state.StatusDown}
		down8 := state.GroupMember{Target: "web", IncidentID: 8, Status: state.StatusDown, HeldBy: "router"}
		up7, up8 := down7, down8
		up7.Status, up8.Status = state.StatusUp, state.StatusUp

		ob := newFakeOutbox()
		lead := down(1, 7, "router")
		lead.Group, lead.Members = 7, []state.GroupMember{down7}
		ob.add("n", lead)
		join := down(2, 8, "web")
		join.Group, join.Members = 7, []state.GroupMember{down7, down8}
		ob.add("n", join)
		webUp := ev(3, 8, state.EventUp)
		webUp.Group, webUp.Members = 7, []state.GroupMember{down7, up8}
		ob.add("n", webUp)
		routerUp := ev(4, 7, state.EventUp)
		routerUp.Group, routerUp.Members = 7, []state.GroupMember{up7, up8}
		ob.add("n", routerUp)

		n := &fakeNotifier{name: "n"}
		stop := running(t, NewDispatcher(Options{Outbox: ob, Notifiers: []Notifier{n}, Grouped: map[string]bool{"n": true}}))
		defer stop()
		// web's join and web's recovery are superseded by router's
		// recovery, queued behind them, which shows the whole group.
		want := []string{"post DOWN", "reply UP n-msg-1", "edit UP n-msg-1"}
		if got := n.Calls(); !slices.Equal(got, want) {
			t.Errorf("calls = %q, want %q", got, want)
		}
		if got := ob.refs[refKey(8, "n")]; got != "n-msg-1" {
			t.Errorf("the member's ref = %q, want the group's message", got)
		}
	})
}

// TestDispatcherGroupedOneByOne: the same events arriving one at a time
// (nothing queued behind them): each is delivered.
func TestDispatcherGroupedOneByOne(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		down7 := state.GroupMember{Target: "router", IncidentID: 7, Status: state.StatusDown}
		down8 := state.GroupMember{Target: "web", IncidentID: 8, Status: state.StatusDown}
		up8 := down8
		up8.Status = state.StatusUp
		lead := down(1, 7, "router")
		lead.Group, lead.Members = 7, []state.GroupMember{down7}
		join := down(2, 8, "web")
		join.Group, join.Members = 7, []state.GroupMember{down7, down8}
		webUp := ev(3, 8, state.EventUp)
		webUp.Group, webUp.Members = 7, []state.GroupMember{down7, up8}

		ob := newFakeOutbox()
		n := &fakeNotifier{name: "n"}
		d := NewDispatcher(Options{Outbox: ob, Notifiers: []Notifier{n}, Grouped: map[string]bool{"n": true}})
		stop := running(t, d)
		defer stop()
		for _, e := range []state.Event{lead, join, webUp} {
			ob.add("n", e)
			d.Wake()
			synctest.Wait()
		}
		want := []string{"post DOWN", "edit DOWN n-msg-1", "edit UP n-msg-1"}
		if got := n.Calls(); !slices.Equal(got, want) {
			t.Errorf("calls = %q, want %q", got, want)
		}
	})
}

// TestDispatcherMinInterval: deliveries of a paced notifier start at
// least MinInterval apart.
func TestDispatcherMinInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ob := newFakeOutbox()
		for i := range 4 {
			ob.add("n", down(int64(i+1), int64(i+1), "t"))
		}
		n := &fakeNotifier{name: "n"}
		stop := running(t, NewDispatcher(Options{Outbox: ob, Notifiers: []Notifier{n},
			MinInterval: map[string]time.Duration{"n": time.Second}}))
		time.Sleep(5 * time.Second)
		synctest.Wait()
		stop()
		times := n.Times()
		if len(times) != 4 {
			t.Fatalf("%d calls, want 4", len(times))
		}
		for i := 1; i < len(times); i++ {
			if gap := times[i].Sub(times[i-1]); gap < time.Second {
				t.Errorf("calls %d and %d %v apart, want at least 1s", i-1, i, gap)
			}
		}
	})
}

// TestDispatcherJoinWithoutLeaderMessage: a joining DOWN whose group has
// no message (its post never succeeded) posts its own.
func TestDispatcherJoinWithoutLeaderMessage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ob := newFakeOutbox()
		join := down(2, 8, "web")
		join.Group = 7
		ob.add("n", join)
		n := &fakeNotifier{name: "n"}
		stop := running(t, NewDispatcher(Options{Outbox: ob, Notifiers: []Notifier{n}, Grouped: map[string]bool{"n": true}}))
		defer stop()
		if got := n.Calls(); !slices.Equal(got, []string{"post DOWN"}) {
			t.Errorf("calls = %q, want a post", got)
		}
	})
}

// TestDispatcherUngroupedNotifier: a notifier that does not group (the
// console) gets every event of a group on its own: each DOWN posted, each
// UP replied.
func TestDispatcherUngroupedNotifier(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		down7 := state.GroupMember{Target: "router", IncidentID: 7, Status: state.StatusDown}
		down8 := state.GroupMember{Target: "web", IncidentID: 8, Status: state.StatusDown}
		up8 := down8
		up8.Status = state.StatusUp
		ob := newFakeOutbox()
		lead := down(1, 7, "router")
		lead.Group, lead.Members = 7, []state.GroupMember{down7}
		join := down(2, 8, "web")
		join.Group, join.Members = 7, []state.GroupMember{down7, down8}
		webUp := ev(3, 8, state.EventUp)
		webUp.Group, webUp.Members = 7, []state.GroupMember{down7, up8}
		for _, e := range []state.Event{lead, join, webUp} {
			ob.add("console", e)
		}
		n := &fakeNotifier{name: "console"}
		stop := running(t, NewDispatcher(Options{Outbox: ob, Notifiers: []Notifier{n}, Grouped: map[string]bool{"n": true}}))
		defer stop()
		want := []string{"post DOWN", "post DOWN", "reply UP console-msg-2", "edit UP console-msg-2"}
		if got := n.Calls(); !slices.Equal(got, want) {
			t.Errorf("calls = %q, want %q", got, want)
		}
	})
}

// TestDispatcherFlappingNotice: one notice per episode, posted, edited with
// the count, and at the end edited and answered in its thread.
func TestDispatcherFlappingNotice(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ob := newFakeOutbox()
		flap := func(id int64, phase string) state.Event {
			return state.Event{ID: id, Kind: state.EventFlapping, Target: "shop", IncidentID: -5, Phase: phase}
		}
		ob.add("n", flap(1, state.FlapStart))
		ob.add("n", flap(2, state.FlapUpdate))
		ob.add("n", flap(3, state.FlapEnd))
		n := &fakeNotifier{name: "n"}
		stop := running(t, NewDispatcher(Options{Outbox: ob, Notifiers: []Notifier{n}}))
		defer stop()
		want := []string{"post FLAPPING", "edit FLAPPING n-msg-1", "edit FLAPPING n-msg-1", "reply FLAPPING n-msg-1"}
		if got := n.Calls(); !slices.Equal(got, want) {
			t.Errorf("calls = %q, want %q", got, want)
		}
	})
}

// TestDispatcherReminderDoesNotSupersede: a reminder queued behind a join
// only replies in the thread, so the join's edit still goes out.
func TestDispatcherReminderDoesNotSupersede(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		down7 := state.GroupMember{Target: "router", IncidentID: 7, Status: state.StatusDown}
		down8 := state.GroupMember{Target: "web", IncidentID: 8, Status: state.StatusDown}
		ob := newFakeOutbox()
		lead := down(1, 7, "router")
		lead.Group, lead.Members = 7, []state.GroupMember{down7}
		join := down(2, 8, "web")
		join.Group, join.Members = 7, []state.GroupMember{down7, down8}
		remind := ev(3, 7, state.EventRemind)
		remind.Group, remind.Members = 7, []state.GroupMember{down7, down8}
		for _, e := range []state.Event{lead, join, remind} {
			ob.add("n", e)
		}
		n := &fakeNotifier{name: "n"}
		stop := running(t, NewDispatcher(Options{Outbox: ob, Notifiers: []Notifier{n}, Grouped: map[string]bool{"n": true}}))
		defer stop()
		want := []string{"post DOWN", "edit DOWN n-msg-1", "reply REMIND n-msg-1"}
		if got := n.Calls(); !slices.Equal(got, want) {
			t.Errorf("calls = %q, want %q", got, want)
		}
	})
}

// TestDispatcherSupersededJoinWithoutMessage: a join queued behind another
// edit of its group, whose group never got a message, is not skipped: it
// posts its own alert, so nothing is lost.
func TestDispatcherSupersededJoinWithoutMessage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		down8 := state.GroupMember{Target: "web", IncidentID: 8, Status: state.StatusDown}
		down9 := state.GroupMember{Target: "db", IncidentID: 9, Status: state.StatusDown}
		ob := newFakeOutbox()
		j1 := down(2, 8, "web")
		j1.Group, j1.Members = 7, []state.GroupMember{down8}
		j2 := down(3, 9, "db")
		j2.Group, j2.Members = 7, []state.GroupMember{down8, down9}
		ob.add("n", j1)
		ob.add("n", j2)
		n := &fakeNotifier{name: "n"}
		stop := running(t, NewDispatcher(Options{Outbox: ob, Notifiers: []Notifier{n}, Grouped: map[string]bool{"n": true}}))
		defer stop()
		if got := n.Calls(); !slices.Equal(got, []string{"post DOWN", "post DOWN"}) {
			t.Errorf("calls = %q, want each posted", got)
		}
	})
}
