package state

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/tocsin/tocsin/checks"
)

// Alert groups. Every announced outage has an alert; outages that begin
// within group_wait of an alert's first DOWN (a storm), and outages of
// targets whose depends_on parent is down, share that alert instead of
// posting their own: their incidents' Group is the alert's leader. The
// group lives while any of its incidents is open; it is kept in memory and
// rebuilt from the open incidents after a restart.

// group is one shared alert.
type group struct {
	leader int64
	// order holds the members' targets, leader first, in joining order.
	order []string
	// closed keeps the last view of members whose outage is over, so the
	// alert can show them recovered while others are still down.
	closed map[string]GroupMember
	// openedAt is when the leader's alert went out: DOWNs within
	// group_wait of it join.
	openedAt time.Time
}

// install records inc as the target's current incident (or, closed, as
// over) and keeps the group index in step. t.mu must be held.
func (t *Tracker) install(inc Incident) {
	if inc.End.IsZero() {
		t.open[inc.Target] = inc
	} else {
		delete(t.open, inc.Target)
	}
	// Leave any other group first (a child announced on its own).
	for id, g := range t.groups {
		if id == inc.Group || !slices.Contains(g.order, inc.Target) {
			continue
		}
		if _, wasClosed := g.closed[inc.Target]; wasClosed {
			continue
		}
		g.order = slices.DeleteFunc(g.order, func(s string) bool { return s == inc.Target })
		t.dropIfOver(id)
	}
	if inc.Group == 0 {
		return
	}
	g := t.groups[inc.Group]
	if g == nil {
		g = &group{leader: inc.Group, closed: map[string]GroupMember{}, openedAt: inc.ClockAt}
		t.groups[inc.Group] = g
	}
	if !slices.Contains(g.order, inc.Target) {
		g.order = append(g.order, inc.Target)
	}
	if inc.End.IsZero() {
		delete(g.closed, inc.Target)
	} else {
		g.closed[inc.Target] = t.member(inc, StatusUp)
	}
	t.dropIfOver(inc.Group)
}

// dropIfOver forgets group id once none of its incidents is open.
func (t *Tracker) dropIfOver(id int64) {
	g := t.groups[id]
	if g == nil {
		return
	}
	for _, name := range g.order {
		if inc, ok := t.open[name]; ok && inc.Group == id {
			return
		}
	}
	delete(t.groups, id)
}

// member is inc as a group member with status.
func (t *Tracker) member(inc Incident, status Status) GroupMember {
	acked := inc.AckedBy
	if st, ok := t.states[inc.Target]; ok && status == StatusDown && st.IncidentID == inc.ID {
		acked = st.AckedBy
	}
	return GroupMember{Target: inc.Target, IncidentID: inc.ID, Status: status, Cause: inc.Cause,
		Since: inc.Start, AckedBy: acked, HeldBy: inc.HeldBy}
}

// members is the view of group id with the incidents of pending (not yet
// installed) taking the place of the installed ones. t.mu must be held.
func (t *Tracker) members(id int64, pending ...Incident) []GroupMember {
	g := t.groups[id]
	var order []string
	var closed map[string]GroupMember
	if g != nil {
		order, closed = slices.Clone(g.order), g.closed
	}
	byTarget := map[string]Incident{}
	for _, inc := range pending {
		byTarget[inc.Target] = inc
		if inc.Group == id && !slices.Contains(order, inc.Target) {
			order = append(order, inc.Target)
		}
	}
	var out []GroupMember
	for _, name := range order {
		inc, ok := byTarget[name]
		if !ok {
			inc, ok = t.open[name]
		}
		switch {
		case ok && inc.Group == id && inc.End.IsZero():
			out = append(out, t.member(inc, StatusDown))
		case ok && inc.Group == id:
			out = append(out, t.member(inc, StatusUp))
		default:
			if m, was := closed[name]; was {
				out = append(out, m)
			}
		}
	}
	// The leader first, even when it joined its own group after others
	// (it cannot, but a hand-edited store can).
	slices.SortStableFunc(out, func(a, b GroupMember) int {
		switch {
		case a.IncidentID == id:
			return -1
		case b.IncidentID == id:
			return 1
		}
		return 0
	})
	return out
}

// decorate sets ev's Group and Members when its incident is in a group of
// more than itself or was. t.mu must be held.
func (t *Tracker) decorate(ev *Event, inc Incident, pending ...Incident) {
	if inc.Group == 0 {
		return
	}
	ev.Group = inc.Group
	ev.Members = t.members(inc.Group, append(pending, inc)...)
}

// parentDown returns a parent of tg whose outage is announced, and its
// incident. t.mu must be held.
func (t *Tracker) parentDown(tg checks.Target) (string, Incident, bool) {
	for _, p := range tg.DependsOn {
		if inc, ok := t.open[p]; ok && !inc.Quiet && inc.Group != 0 {
			return p, inc, true
		}
	}
	return "", Incident{}, false
}

// parentFailing returns a parent of tg that fails but is not down yet.
// t.mu must be held.
func (t *Tracker) parentFailing(tg checks.Target) (string, bool) {
	for _, p := range tg.DependsOn {
		st, ok := t.states[p]
		if ok && st.Status != StatusDown && st.ConsecFail > 0 {
			return p, true
		}
	}
	return "", false
}

// stormGroup returns the group whose first alert went out within tg's
// group_wait before now and that is still open, the newest if several.
// t.mu must be held.
func (t *Tracker) stormGroup(tg checks.Target, now time.Time) (int64, bool) {
	if tg.GroupWait <= 0 {
		return 0, false
	}
	var best int64
	var bestAt time.Time
	for id, g := range t.groups {
		// Either side: results of checks that ran at once may be
		// recorded in another order than their times.
		if g.openedAt.IsZero() || now.Sub(g.openedAt) > tg.GroupWait || g.openedAt.Sub(now) > tg.GroupWait {
			continue
		}
		if g.openedAt.After(bestAt) || (g.openedAt.Equal(bestAt) && id < best) {
			best, bestAt = id, g.openedAt
		}
	}
	return best, best != 0
}

// placeDown decides where a new, not held outage of tg is announced: with
// a parent that is down, after waiting for a parent that is failing, with
// a storm, or alone. It fills inc (Group, HeldBy, Quiet, WaitUntil,
// ClockAt) and returns the console note. t.mu must be held.
func (t *Tracker) placeDown(tg checks.Target, inc *Incident, now time.Time) string {
	if p, pinc, ok := t.parentDown(tg); ok {
		inc.Group, inc.HeldBy, inc.ClockAt = pinc.Group, p, now
		return "(held: " + p + ")"
	}
	if p, ok := t.parentFailing(tg); ok && tg.GroupWait > 0 {
		inc.Quiet, inc.HeldBy, inc.WaitUntil = true, p, now.Add(tg.GroupWait)
		return "(held: " + p + ")"
	}
	if id, ok := t.stormGroup(tg, now); ok {
		inc.Group, inc.ClockAt = id, now
		return ""
	}
	inc.Group, inc.ClockAt = inc.ID, now
	return ""
}

// reminderOwner reports whether inc carries its alert's reminders and
// escalation: an incident alone, or the first open member of its group.
// t.mu must be held.
func (t *Tracker) reminderOwner(inc Incident) bool {
	g := t.groups[inc.Group]
	if inc.Group == 0 || g == nil {
		return true
	}
	for _, name := range g.order {
		if o, ok := t.open[name]; ok && o.Group == inc.Group {
			return o.ID == inc.ID
		}
	}
	return true
}

// AckGroup acknowledges every unacknowledged open outage that shares the
// alert of incident leader (an "Acknowledge all" button), in one commit
// with one ACK event on that alert. It returns the states of the targets
// it acknowledged. Errors: ErrIncidentClosed when no outage of that alert
// is open, ErrAlreadyAcked (with the states of the group) when all were
// acknowledged already, or the store's.
func (t *Tracker) AckGroup(ctx context.Context, leader int64, a Ack) ([]TargetState, error) {
	t.mu.Lock()
	g := t.groups[leader]
	if g == nil {
		t.mu.Unlock()
		return nil, ErrIncidentClosed
	}
	now := t.now()
	var (
		incs   []Incident
		states []TargetState
		all    []TargetState
	)
	for _, name := range g.order {
		inc, ok := t.open[name]
		if !ok || inc.Group != leader {
			continue
		}
		st := t.states[name]
		all = append(all, st)
		if st.AckedBy != "" {
			continue
		}
		st.AckedBy, st.AckedAt, st.AckReason, st.AckPlatform = a.By, now, a.Reason, a.Platform
		inc.AckedBy, inc.AckedAt, inc.AckReason, inc.AckPlatform = a.By, now, a.Reason, a.Platform
		incs = append(incs, inc)
		states = append(states, st)
	}
	if len(all) == 0 {
		t.mu.Unlock()
		return nil, ErrIncidentClosed
	}
	if len(incs) == 0 {
		t.mu.Unlock()
		return all, ErrAlreadyAcked
	}
	lead, ok := t.open[t.leaderTarget(g)]
	if !ok || lead.Group != leader {
		lead = incs[0]
	}
	tg := t.targets[lead.Target]
	ev := Event{Kind: EventAck, Target: lead.Target, TargetKind: tg.Kind, Address: tg.Address(),
		IncidentID: leader, Time: now, Since: lead.Start, Actor: a.By, Cause: lead.Cause,
		AckedBy: a.By, AckedAt: now, Reason: a.Reason}
	if ev.Reason == "" {
		ev.Reason = fmt.Sprintf("all %d targets", len(incs))
	}
	b := t.bufferedBatch(nil)
	b.Incidents = append(b.Incidents, incs...)
	for _, st := range states {
		b.States = slices.DeleteFunc(b.States, func(s TargetState) bool { return s.Name == st.Name })
	}
	b.States = append(b.States, states...)
	// The view after the acks: install on copies first.
	saved := make(map[string]TargetState, len(states))
	for _, st := range states {
		saved[st.Name] = t.states[st.Name]
		t.states[st.Name] = st
	}
	ev.Group, ev.Members = leader, t.members(leader, incs...)
	b.Events = append(b.Events, ev)
	if err := t.commit(ctx, b); err != nil {
		for name, st := range saved {
			t.states[name] = st
		}
		t.mu.Unlock()
		return nil, fmt.Errorf("state: ack group %d: commit: %w", leader, err)
	}
	t.clearBuffer()
	for _, inc := range incs {
		t.install(inc)
	}
	t.mu.Unlock()
	t.notify()
	return states, nil
}

// leaderTarget is the target of g's leader incident ("" when unknown).
func (t *Tracker) leaderTarget(g *group) string {
	for _, name := range g.order {
		if inc, ok := t.open[name]; ok && inc.ID == g.leader {
			return name
		}
	}
	return ""
}
