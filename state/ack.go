package state

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tocsin/tocsin/checks"
)

// Ack is one acknowledgement of an incident: who took it, why, and from
// where ("slack", "discord", "console").
type Ack struct {
	By       string
	Reason   string
	Platform string
}

// Errors of Tracker.Ack, Mute and Unmute. Their texts are safe to show a
// chat user as they are.
var (
	// ErrUnknownTarget: no configured target has that name.
	ErrUnknownTarget = errors.New("no such target")
	// ErrNotDown: the target has no open incident to acknowledge.
	ErrNotDown = errors.New("target is not down")
	// ErrAlreadyAcked: the open incident is acknowledged already; the
	// returned TargetState says by whom and when.
	ErrAlreadyAcked = errors.New("already acknowledged")
	// ErrIncidentClosed: the incident an Acknowledge button names is over
	// (recovered, or replaced by a newer one).
	ErrIncidentClosed = errors.New("that incident is over")
	// ErrNotMuted: Unmute of a target that is not muted.
	ErrNotMuted = errors.New("target is not muted")
	// ErrNotAcked: Unack of an open incident nobody acknowledged.
	ErrNotAcked = errors.New("not acknowledged")
)

// muted reports whether st's alerts are held at now by a mute.
func (t *Tracker) muted(st TargetState, now time.Time) bool {
	return st.MutedUntil.After(now)
}

// held reports whether tg's alerts are held at now: a mute, a maintenance
// window, or flapping. t.mu must be held.
func (t *Tracker) held(tg checks.Target, st TargetState, now time.Time) bool {
	return t.holdNote(tg, st, now) != ""
}

// holdNote is the console note of what holds tg's alerts at now,
// "(muted)" for a mute or a maintenance window, "(flapping)", or "" when
// nothing does. t.mu must be held.
func (t *Tracker) holdNote(tg checks.Target, st TargetState, now time.Time) string {
	if t.muted(st, now) {
		return "(muted)"
	}
	if t.opts.Held != nil {
		if _, h := t.opts.Held(tg, now); h {
			return "(muted)"
		}
	}
	if t.flaps[tg.Name].on {
		return "(flapping)"
	}
	return ""
}

// Ack acknowledges target's open incident for a: it records who, when, why
// and from where on the incident and the target's state, and enqueues an
// ACK event (the alerts show it), in one commit. With incident not 0 (an
// Acknowledge button) only that incident is acknowledged, and target may be
// "" (it is found from the incident). It returns the target's state after
// the ack, or, with ErrAlreadyAcked, the state naming the earlier ack.
// Errors: ErrUnknownTarget, ErrNotDown, ErrIncidentClosed, ErrAlreadyAcked,
// or the store's (nothing changed then).
func (t *Tracker) Ack(ctx context.Context, target string, incident int64, a Ack) (TargetState, error) {
	t.mu.Lock()
	if target == "" && incident != 0 {
		for name, inc := range t.open {
			if inc.ID == incident {
				target = name
				break
			}
		}
		if target == "" {
			t.mu.Unlock()
			return TargetState{}, ErrIncidentClosed
		}
	}
	st, ok := t.states[target]
	if _, tracked := t.targets[target]; !ok || !tracked {
		t.mu.Unlock()
		return TargetState{}, ErrUnknownTarget
	}
	inc, open := t.open[target]
	switch {
	case incident != 0 && (!open || inc.ID != incident):
		t.mu.Unlock()
		return st, ErrIncidentClosed
	case !open:
		t.mu.Unlock()
		return st, ErrNotDown
	case st.AckedBy != "":
		t.mu.Unlock()
		return st, ErrAlreadyAcked
	}
	now := t.now()
	next := st
	next.AckedBy, next.AckedAt, next.AckReason, next.AckPlatform = a.By, now, a.Reason, a.Platform
	inc.AckedBy, inc.AckedAt, inc.AckReason, inc.AckPlatform = a.By, now, a.Reason, a.Platform
	tg := t.targets[target]
	ev := Event{Kind: EventAck, Target: target, TargetKind: tg.Kind, Address: tg.Address(),
		IncidentID: inc.ID, Time: now, Since: inc.Start, Reason: a.Reason, Actor: a.By,
		Cause: inc.Cause, AckedBy: a.By, AckedAt: now}
	b := t.bufferedBatch(&next)
	b.Incidents = append(b.Incidents, inc)
	if inc.Quiet {
		b.Notifiers = t.opts.Local
		ev.Note = "(muted)"
	}
	t.states[target] = next // the group's view shows the ack
	t.decorate(&ev, inc)
	b.Events = append(b.Events, ev)
	if err := t.commit(ctx, b); err != nil {
		t.states[target] = st
		t.mu.Unlock()
		return st, fmt.Errorf("state: ack %s: commit: %w", target, err)
	}
	t.clearBuffer()
	t.install(inc)
	t.mu.Unlock()
	t.notify()
	return next, nil
}

// Unack withdraws the acknowledgement of target's open incident: reminders
// and escalation resume as if it had never been acknowledged (their clocks
// restart now), and an UNACK event shows it on the alert. by is who
// withdrew it ("tocsin" when an ack expired). Errors: ErrUnknownTarget,
// ErrNotDown, ErrNotAcked, or the store's.
func (t *Tracker) Unack(ctx context.Context, target, by string) (TargetState, error) {
	t.mu.Lock()
	st, ok := t.states[target]
	tg, tracked := t.targets[target]
	if !ok || !tracked {
		t.mu.Unlock()
		return TargetState{}, ErrUnknownTarget
	}
	inc, open := t.open[target]
	switch {
	case !open:
		t.mu.Unlock()
		return st, ErrNotDown
	case st.AckedBy == "":
		t.mu.Unlock()
		return st, ErrNotAcked
	}
	now := t.now()
	next := st
	next.AckedBy, next.AckedAt, next.AckReason, next.AckPlatform = "", time.Time{}, "", ""
	inc.AckedBy, inc.AckedAt, inc.AckReason, inc.AckPlatform = "", time.Time{}, "", ""
	inc.ClockAt, inc.LastRemind, inc.Escalated = now, time.Time{}, false
	ev := Event{Kind: EventUnack, Target: target, TargetKind: tg.Kind, Address: tg.Address(),
		IncidentID: inc.ID, Time: now, Since: inc.Start, Actor: by, Cause: inc.Cause}
	b := t.bufferedBatch(&next)
	b.Incidents = append(b.Incidents, inc)
	if inc.Quiet {
		b.Notifiers = t.opts.Local
		ev.Note = "(muted)"
	}
	t.states[target] = next
	t.decorate(&ev, inc)
	b.Events = append(b.Events, ev)
	if err := t.commit(ctx, b); err != nil {
		t.states[target] = st
		t.mu.Unlock()
		return st, fmt.Errorf("state: unack %s: commit: %w", target, err)
	}
	t.clearBuffer()
	t.install(inc)
	t.mu.Unlock()
	t.notify()
	return next, nil
}

// Mute holds target's chat alerts until until: it is still checked and its
// state tracked, and the console still prints its events, marked
// "(muted)". An incident that begins while muted stays quiet to the end.
// A MUTE event is enqueued; chat hears of it only when the target has an
// announced open incident (its alert shows the mute). Muting again moves
// the end. Errors: ErrUnknownTarget, an until not after now, or the
// store's.
func (t *Tracker) Mute(ctx context.Context, target string, until time.Time, by string) (TargetState, error) {
	return t.setMute(ctx, target, until, by)
}

// Unmute ends target's mute at once, enqueueing an UNMUTE event as Mute
// does. Errors: ErrUnknownTarget, ErrNotMuted, or the store's.
func (t *Tracker) Unmute(ctx context.Context, target string, by string) (TargetState, error) {
	return t.setMute(ctx, target, time.Time{}, by)
}

// setMute sets target's mute end (zero: unmute).
func (t *Tracker) setMute(ctx context.Context, target string, until time.Time, by string) (TargetState, error) {
	t.mu.Lock()
	st, ok := t.states[target]
	tg, tracked := t.targets[target]
	if !ok || !tracked {
		t.mu.Unlock()
		return TargetState{}, ErrUnknownTarget
	}
	now := t.now()
	kind := EventMute
	if until.IsZero() {
		kind = EventUnmute
		if !t.muted(st, now) {
			t.mu.Unlock()
			return st, ErrNotMuted
		}
	} else if !until.After(now) {
		t.mu.Unlock()
		return st, fmt.Errorf("state: mute %s: the end %s is not in the future", target, until.Format(time.RFC3339))
	}
	next := st
	next.MutedUntil = until
	ev := Event{Kind: kind, Target: target, TargetKind: tg.Kind, Address: tg.Address(), Time: now,
		Actor: by, AckedBy: st.AckedBy, AckedAt: st.AckedAt}
	if kind == EventMute {
		ev.Duration = until.Sub(now)
	}
	b := t.bufferedBatch(&next)
	if inc, open := t.open[target]; open && !inc.Quiet {
		ev.IncidentID, ev.Since, ev.Cause = inc.ID, inc.Start, inc.Cause
		t.decorate(&ev, inc)
	} else {
		b.Notifiers = t.opts.Local
	}
	b.Events = append(b.Events, ev)
	if err := t.commit(ctx, b); err != nil {
		t.mu.Unlock()
		return st, fmt.Errorf("state: %s %s: commit: %w", strings.ToLower(string(kind)), target, err)
	}
	t.clearBuffer()
	t.states[target] = next
	t.mu.Unlock()
	t.notify()
	return next, nil
}
