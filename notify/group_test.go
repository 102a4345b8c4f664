package notify

import (
	"slices"
	"testing"
	"testing/synctest"

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
		stop := running(t, NewDispatcher(Options{Outbox: ob, Notifiers: []Notifier{n}}))
		defer stop()
		want := []string{
			"post DOWN",
			"edit DOWN n-msg-1",                   // web joins router's alert
			"edit UP n-msg-1",                     // web is up, router still down: no reply
			"reply UP n-msg-1", "edit UP n-msg-1", // the group's last recovery
		}
		if got := n.Calls(); !slices.Equal(got, want) {
			t.Errorf("calls = %q, want %q", got, want)
		}
		if got := ob.refs[refKey(8, "n")]; got != "n-msg-1" {
			t.Errorf("the member's ref = %q, want the group's message", got)
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
		stop := running(t, NewDispatcher(Options{Outbox: ob, Notifiers: []Notifier{n}}))
		defer stop()
		if got := n.Calls(); !slices.Equal(got, []string{"post DOWN"}) {
			t.Errorf("calls = %q, want a post", got)
		}
	})
}
