package notify

import "github.com/tocsin/tocsin/state"

// Group is what a chat provider needs to know of a grouped alert, read
// from an event's Members: who leads it, how many members are still down
// and unacknowledged, and whether it is a parent's alert.
type Group struct {
	ID      int64               // the leader's incident id: the alert's own
	Leader  state.GroupMember   // Members[0]
	Members []state.GroupMember // the leader first
	Down    int                 // members still down
	Unacked int                 // down members nobody acknowledged
	// Deps: the leader is down and holds every other member (depends_on),
	// so the alert is the leader's: "DOWN router", "also unreachable: …".
	Deps bool
}

// GroupOf returns the group of ev's alert; ok is false when ev's alert is
// its incident's alone (no Members, or only one), rendered as ever.
func GroupOf(ev state.Event) (g *Group, ok bool) {
	if len(ev.Members) <= 1 {
		return nil, false
	}
	g = &Group{ID: ev.Group, Leader: ev.Members[0], Members: ev.Members}
	if g.ID == 0 {
		g.ID = g.Leader.IncidentID
	}
	g.Deps = IsDown(g.Leader) && g.Leader.Target != ""
	for i, m := range ev.Members {
		if IsDown(m) {
			g.Down++
			if m.AckedBy == "" {
				g.Unacked++
			}
		}
		if i > 0 && m.HeldBy != g.Leader.Target {
			g.Deps = false
		}
	}
	return g, true
}

// IsDown says whether m's outage lasts: any status but up.
func IsDown(m state.GroupMember) bool { return m.Status != state.StatusUp }

// IsLeader says whether ev is an event of the leader's own incident, which
// alone carries the leader's check (kind, address, latency).
func (g *Group) IsLeader(ev state.Event) bool {
	return ev.IncidentID != 0 && ev.IncidentID == g.Leader.IncidentID
}
