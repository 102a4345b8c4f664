package state

import (
	"context"
	"fmt"
	"time"

	"github.com/tocsin/tocsin/checks"
)

// Tick applies the rules that time alone sets off, at the Tracker's clock:
//
//   - a mute that has run out ends (UNMUTE by "tocsin"); when neither a
//     mute nor a maintenance window holds a target any more and it has a
//     quiet outage (begun while held), its DOWN goes out now, and the
//     outage is announced from then on;
//   - an acknowledgement older than the target's ack_expires is withdrawn
//     (UNACK by "tocsin"), so reminders resume;
//   - an announced, unacknowledged outage gets a REMIND every remind_every
//     and one ESCALATE after escalate_after, both counted from the DOWN (or
//     the last unack), both naming the person on call in Actor;
//     0 means never. Muted or held outages get neither.
//
// Events that chat must not see (a quiet target's) go to the Local
// notifiers only. Everything Tick decides is committed in one transaction
// per audience; on a store error nothing of that audience changes and the
// next Tick decides again. Run calls Tick every FlushEvery.
func (t *Tracker) Tick(ctx context.Context) error {
	t.mu.Lock()
	now := t.now()
	// chat goes to every notifier, local to the Local ones only, remote
	// to all but them: the release of a held DOWN the console printed when
	// it happened.
	var chat, local, remote tickBatch
	for _, name := range t.order {
		tg, ok := t.targets[name]
		if !ok {
			continue
		}
		t.tickTarget(tg, now, &chat, &local, &remote)
	}
	// Events of one tick happen together: each grouped one shows its group
	// with every incident this tick changes (a storm of children joining
	// their parent's alert at once).
	var pending []Incident
	for _, tb := range []*tickBatch{&local, &remote, &chat} {
		pending = append(pending, tb.incidents...)
	}
	for _, tb := range []*tickBatch{&local, &remote, &chat} {
		for i := range tb.events {
			if g := tb.events[i].Group; g != 0 {
				tb.events[i].Members = t.members(g, pending...)
			}
		}
	}
	var errs []error
	sent := false
	for _, tb := range []*tickBatch{&local, &remote, &chat} {
		if len(tb.events) == 0 && len(tb.incidents) == 0 {
			continue
		}
		b := &Batch{Notifiers: t.opts.Notifiers, Incidents: tb.incidents, Events: tb.events}
		switch tb {
		case &local:
			b.Notifiers = t.opts.Local
		case &remote:
			b.Notifiers = t.remote()
		}
		for _, name := range tb.names {
			b.States = append(b.States, tb.states[name])
		}
		if err := t.commit(ctx, b); err != nil {
			errs = append(errs, err)
			continue
		}
		sent = true
		for _, name := range tb.names {
			t.states[name] = tb.states[name]
			delete(t.dirty, name)
		}
		for _, inc := range tb.incidents {
			t.install(inc)
		}
	}
	t.mu.Unlock()
	if sent {
		t.notify()
	}
	if len(errs) > 0 {
		return fmt.Errorf("state: tick: commit: %w", errs[0])
	}
	return nil
}

// tickBatch gathers what one Tick changes for one audience.
type tickBatch struct {
	names     []string
	states    map[string]TargetState
	incidents []Incident
	events    []Event
}

func (tb *tickBatch) state(name string, st TargetState) {
	if tb.states == nil {
		tb.states = map[string]TargetState{}
	}
	if _, ok := tb.states[name]; !ok {
		tb.names = append(tb.names, name)
	}
	tb.states[name] = st
}

// tickTarget decides Tick's events for one target. t.mu must be held.
func (t *Tracker) tickTarget(tg checks.Target, now time.Time, chat, local, remote *tickBatch) {
	name := tg.Name
	st := t.states[name]
	inc, open := t.open[name]
	base := func(kind EventKind) Event {
		ev := Event{Kind: kind, Target: name, TargetKind: tg.Kind, Address: tg.Address(), Time: now}
		if open {
			ev.IncidentID, ev.Since, ev.Cause = inc.ID, inc.Start, inc.Cause
			ev.AckedBy, ev.AckedAt = st.AckedBy, st.AckedAt
			if !inc.Quiet {
				t.decorate(&ev, inc)
			}
		}
		return ev
	}
	changed := false

	// A mute that ran out.
	if !st.MutedUntil.IsZero() && !st.MutedUntil.After(now) {
		st.MutedUntil = time.Time{}
		changed = true
		ev := base(EventUnmute)
		ev.Actor, ev.Reason = "tocsin", "mute ended"
		if open && !inc.Quiet {
			chat.events = append(chat.events, ev)
		} else {
			local.events = append(local.events, ev)
		}
	}
	if !open {
		if changed {
			local.state(name, st)
		}
		return
	}
	held := t.held(tg, st, now)

	// A quiet outage whose hold ended: announce it now — with its parent,
	// if the parent it waited for went down, else on its own.
	if inc.Quiet && !held {
		note := ""
		if !inc.WaitUntil.IsZero() {
			p, pinc, parentDown := t.parentDown(tg)
			_, failing := t.parentFailing(tg)
			switch {
			case parentDown:
				inc.Group, inc.HeldBy = pinc.Group, p
				note = "(held: " + p + ")"
			case failing && now.Before(inc.WaitUntil):
				if changed {
					local.state(name, st)
				}
				return // still waiting for the parent
			default:
				inc.Group, inc.HeldBy = inc.ID, ""
			}
		} else {
			inc.Group = inc.ID
		}
		inc.Quiet, inc.WaitUntil = false, time.Time{}
		inc.ClockAt, inc.LastRemind, inc.Escalated = now, time.Time{}, false
		ev := base(EventDown)
		ev.Reason = st.LastError
		if ev.Reason == "" {
			ev.Reason = inc.Cause
		}
		ev.Latency, ev.Note = st.LastLatency, note
		t.decorate(&ev, inc)
		remote.events = append(remote.events, ev)
		remote.incidents = append(remote.incidents, inc)
		remote.state(name, st)
		return
	}
	if inc.Quiet || held {
		if changed {
			tb := chat
			if inc.Quiet {
				tb = local
			}
			tb.state(name, st)
		}
		return
	}

	incChanged := false
	// A child whose parent recovered while it stayed down: once its
	// group_wait is over, it gets an alert of its own.
	if inc.HeldBy != "" && !inc.WaitUntil.IsZero() {
		if p, pinc, down := t.parentDown(tg); down && p == inc.HeldBy && pinc.Group == inc.Group {
			inc.WaitUntil = time.Time{} // the parent is down again: stays with it
			chat.incidents = append(chat.incidents, inc)
			chat.state(name, st)
			return
		}
		if now.Before(inc.WaitUntil) {
			if changed {
				chat.state(name, st)
			}
			return
		}
		parent := inc.HeldBy
		inc.Group, inc.HeldBy, inc.WaitUntil = inc.ID, "", time.Time{}
		inc.ClockAt, inc.LastRemind, inc.Escalated = now, time.Time{}, false
		ev := base(EventDown)
		ev.Reason, ev.Latency, ev.Note = st.LastError, st.LastLatency, "("+parent+" is up again)"
		if ev.Reason == "" {
			ev.Reason = inc.Cause
		}
		t.decorate(&ev, inc)
		chat.events = append(chat.events, ev)
		chat.incidents = append(chat.incidents, inc)
		chat.state(name, st)
		return
	}
	// An acknowledgement that expired.
	if st.AckedBy != "" && tg.AckExpires > 0 && !st.AckedAt.IsZero() && now.Sub(st.AckedAt) >= tg.AckExpires {
		ev := base(EventUnack)
		ev.Actor = "tocsin"
		ev.Reason = "acknowledgement expired after " + tg.AckExpires.String()
		ev.AckedBy, ev.AckedAt = "", time.Time{}
		st.AckedBy, st.AckedAt, st.AckReason, st.AckPlatform = "", time.Time{}, "", ""
		inc.AckedBy, inc.AckedAt, inc.AckReason, inc.AckPlatform = "", time.Time{}, "", ""
		inc.ClockAt, inc.LastRemind, inc.Escalated = now, time.Time{}, false
		chat.events = append(chat.events, ev)
		changed, incChanged = true, true
	}

	if st.AckedBy == "" && t.reminderOwner(inc) {
		clock := inc.ClockAt
		if clock.IsZero() {
			clock = inc.Start // an incident from before clocks were kept
		}
		oncall := ""
		if t.opts.Oncall != nil {
			oncall = t.opts.Oncall(now)
		}
		if tg.EscalateAfter > 0 && !inc.Escalated && now.Sub(clock) >= tg.EscalateAfter {
			ev := base(EventEscalate)
			ev.Actor, ev.Duration = oncall, now.Sub(inc.Start)
			inc.Escalated = true
			chat.events = append(chat.events, ev)
			incChanged = true
		}
		last := inc.LastRemind
		if last.Before(clock) {
			last = clock
		}
		if tg.RemindEvery > 0 && now.Sub(last) >= tg.RemindEvery {
			ev := base(EventRemind)
			ev.Actor, ev.Duration = oncall, now.Sub(inc.Start)
			inc.LastRemind = now
			chat.events = append(chat.events, ev)
			incChanged = true
		}
	}
	if incChanged {
		chat.incidents = append(chat.incidents, inc)
	}
	if changed || incChanged {
		chat.state(name, st)
	}
}
