package state

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/tocsin/tocsin/checks"
)

// TrackerOptions configures a Tracker.
type TrackerOptions struct {
	Store Store
	// Notifiers names the outbox queues every event is enqueued to
	// ("console", and "slack"/"discord" when configured).
	Notifiers []string
	// Now is the clock; nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
	// FlushEvery is how often results that change no state are written in
	// one batch (default 1s). A transition is written at once, with every
	// result buffered before it.
	FlushEvery time.Duration
	// OnEvent, when set, is called after a commit that enqueued events, so
	// the dispatcher wakes without polling.
	OnEvent func()
	// Local names the notifiers (of Notifiers) that get every event, also
	// those held from chat: a muted target's DOWN, its quiet incident's
	// recovery ("console").
	Local []string
	// Held, when set, says whether a target's alerts are held at a time by
	// something other than a mute (a maintenance window), and its name.
	Held func(tg checks.Target, at time.Time) (why string, held bool)
	// Oncall, when set, names the person on call at a time ("" nobody):
	// reminders and escalations carry it in Event.Actor.
	Oncall func(at time.Time) string
}

// maxBuffered bounds the results kept in memory while the store keeps
// failing: beyond it the oldest are dropped (and logged), so a broken disk
// costs history, not the daemon's memory.
const maxBuffered = 100_000

// Tracker is the per-target state machine. Observe feeds it results; a
// target goes DOWN after FailAfter consecutive failures and UP again after
// RecoverAfter consecutive successes. Each transition, its incident and the
// events it causes are committed in one Store transaction before Observe
// returns. Safe for concurrent use.
type Tracker struct {
	opts TrackerOptions
	now  func() time.Time
	log  *slog.Logger

	// mu guards everything below. It is held across every Commit: that
	// serialises transitions (incident ids are handed out in commit order)
	// and keeps a flush from writing a state older than one a transition
	// has just written.
	mu sync.Mutex
	// configured is false until the first SetTargets: until then the saved
	// states of targets no longer in the config are kept.
	configured bool
	order      []string // config order (load order before SetTargets)
	targets    map[string]checks.Target
	states     map[string]TargetState
	// open holds the open incident of every target that has one.
	open           map[string]Incident
	lastIncidentID int64

	// The buffer: results not yet written, and the targets whose state
	// changed since the last commit.
	results []checks.Result
	dirty   map[string]struct{}

	// storeErr is the error of the last commit, nil once one succeeds.
	storeErr error

	// seen counts each target's results in this process: no new DOWN
	// before fail_after of them (the startup grace).
	seen map[string]int
	// flaps is each target's flap detection, in memory: a restart starts
	// every history afresh.
	flaps map[string]flapTrack
	// groups indexes the shared alerts by their leader incident.
	groups map[int64]*group
}

// flapTrack is one target's flap history and verdict, and while it
// flaps, its notice: the key its message is kept under (a negative
// number, apart from incident ids), when the episode began and how many
// transitions it has seen.
type flapTrack struct {
	h       flapHistory
	on      bool
	notice  int64
	since   time.Time
	changes int
}

// NewTracker loads the saved states from opts.Store. A target whose saved
// state is DOWN stays DOWN with its open incident: no new DOWN is sent for
// it after a restart. It fails when opts.Store is nil or when loading fails.
func NewTracker(ctx context.Context, opts TrackerOptions) (*Tracker, error) {
	if opts.Store == nil {
		return nil, errors.New("state: tracker needs a store")
	}
	if opts.FlushEvery <= 0 {
		opts.FlushEvery = time.Second
	}
	t := &Tracker{
		opts:    opts,
		now:     opts.Now,
		log:     opts.Logger,
		targets: map[string]checks.Target{},
		states:  map[string]TargetState{},
		open:    map[string]Incident{},
		dirty:   map[string]struct{}{},
		seen:    map[string]int{},
		flaps:   map[string]flapTrack{},
		groups:  map[int64]*group{},
	}
	if t.now == nil {
		t.now = time.Now
	}
	if t.log == nil {
		t.log = slog.New(slog.DiscardHandler)
	}
	loaded, err := opts.Store.Load(ctx)
	if err != nil {
		return nil, fmt.Errorf("state: load: %w", err)
	}
	t.lastIncidentID = loaded.LastIncidentID
	for _, st := range loaded.States {
		if st.Status == "" {
			st.Status = StatusUnknown
		}
		if _, dup := t.states[st.Name]; !dup {
			t.order = append(t.order, st.Name)
		}
		t.states[st.Name] = st
		if st.IncidentID == 0 {
			continue
		}
		// Never reuse an id, even if the store's counter lags a state row.
		t.lastIncidentID = max(t.lastIncidentID, st.IncidentID)
		inc, ok, err := opts.Store.Incident(ctx, st.IncidentID)
		if err != nil {
			return nil, fmt.Errorf("state: load incident %d of %s: %w", st.IncidentID, st.Name, err)
		}
		if !ok {
			// The state row names an incident the store lost: rebuild
			// what the state knows so that recovery can still close it.
			inc = Incident{ID: st.IncidentID, Target: st.Name, Start: st.Since,
				Cause: st.LastError, AckedBy: st.AckedBy, AckedAt: st.AckedAt}
		}
		if st.AckedBy != "" && inc.AckedBy == st.AckedBy {
			st.AckReason, st.AckPlatform = inc.AckReason, inc.AckPlatform
			t.states[st.Name] = st
		}
		t.open[st.Name] = inc
	}
	slices.Sort(t.order)
	// The alert groups of the open incidents, leaders first.
	opens := make([]Incident, 0, len(t.open))
	for _, inc := range t.open {
		opens = append(opens, inc)
	}
	slices.SortFunc(opens, func(a, b Incident) int { return cmp.Compare(a.ID, b.ID) })
	for _, inc := range opens {
		t.install(inc)
	}
	return t, nil
}

// SetTargets sets the targets being tracked, at start and on every reload.
// New targets start unknown (or resume their saved state); a target no
// longer present loses its state row, and its open incident is closed with
// an EventRemoved; a changed target keeps its state under its new settings
// (a threshold already met by its counters is acted on by the next result,
// not now). The removals are committed before SetTargets returns; when that
// commit fails SetTargets returns the error and changes nothing.
func (t *Tracker) SetTargets(ctx context.Context, targets []checks.Target) error {
	events, err := t.setTargets(ctx, targets)
	if events {
		t.notify()
	}
	return err
}

// setTargets does SetTargets' work under t.mu and reports whether it
// committed events.
func (t *Tracker) setTargets(ctx context.Context, targets []checks.Target) (events bool, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()

	keep := make(map[string]checks.Target, len(targets))
	order := make([]string, 0, len(targets))
	for _, tg := range targets {
		if _, dup := keep[tg.Name]; dup {
			return false, fmt.Errorf("state: target %q given twice", tg.Name)
		}
		keep[tg.Name] = tg
		order = append(order, tg.Name)
	}

	// Removals: every state, tracked or only loaded, whose name is gone.
	var removed []string
	for _, name := range t.order {
		if _, ok := keep[name]; !ok {
			removed = append(removed, name)
		}
	}
	now := t.now()
	var b *Batch
	var closedOnes []Incident
	if len(removed) > 0 {
		b = t.bufferedBatch(nil)
		// A removed target's state row goes; its buffered results stay in
		// the history.
		b.States = slices.DeleteFunc(b.States, func(st TargetState) bool {
			return slices.Contains(removed, st.Name)
		})
		for _, name := range removed {
			b.Removed = append(b.Removed, name)
			inc, ok := t.open[name]
			if !ok {
				continue
			}
			st := t.states[name]
			inc = closeIncident(inc, st, now, "removed")
			closedOnes = append(closedOnes, inc)
			b.Incidents = append(b.Incidents, inc)
			ev := Event{Kind: EventRemoved, Target: name, TargetKind: st.Kind,
				IncidentID: inc.ID, Time: now, Since: inc.Start, Duration: inc.End.Sub(inc.Start)}
			if old, ok := t.targets[name]; ok {
				ev.TargetKind = old.Kind
				ev.Address = old.Address()
			}
			// A member of a grouped alert: the edit shows the group.
			t.decorate(&ev, inc, closedOnes...)
			b.Events = append(b.Events, ev)
		}
		if err := t.commit(ctx, b); err != nil {
			return false, fmt.Errorf("state: remove %v: %w", removed, err)
		}
		t.clearBuffer()
	}

	// The commit (if any) is done: install the new target set.
	for _, inc := range closedOnes {
		t.install(inc)
	}
	for _, name := range removed {
		delete(t.states, name)
		delete(t.open, name)
		delete(t.dirty, name)
	}
	for _, tg := range targets {
		st, ok := t.states[tg.Name]
		if !ok {
			st = TargetState{Name: tg.Name, Kind: tg.Kind, Status: StatusUnknown}
		}
		if st.Kind != tg.Kind {
			st.Kind = tg.Kind
			t.dirty[tg.Name] = struct{}{}
		}
		t.states[tg.Name] = st
	}
	t.targets = keep
	t.order = order
	t.configured = true
	return b != nil && len(b.Events) > 0, nil
}

// transition is what one result did to a target's status.
type transition int

const (
	noChange transition = iota
	firstUp             // unknown → up: decided, nothing to announce, buffered
	wentDown
	wentUp
)

// step applies r to st under tg's thresholds and returns the new state and
// the transition it caused. It is pure: the caller decides whether to keep
// the result (only once the store has taken it).
func step(st TargetState, tg checks.Target, r checks.Result) (TargetState, transition) {
	failAfter := max(tg.FailAfter, 1)
	recoverAfter := max(tg.RecoverAfter, 1)
	st.LastCheck = r.Time
	st.LastLatency = r.Latency
	if r.OK {
		st.LastError = ""
		st.ConsecOK++
		st.ConsecFail = 0
		st.FailingSince = time.Time{}
		switch {
		case st.Status == StatusUnknown:
			st.Status, st.Since = StatusUp, r.Time
			return st, firstUp
		case st.Status == StatusDown && st.ConsecOK >= recoverAfter:
			st.Status, st.Since = StatusUp, r.Time
			return st, wentUp
		}
		return st, noChange
	}
	st.LastError = r.Reason
	st.ConsecOK = 0
	if st.ConsecFail == 0 || st.FailingSince.IsZero() {
		st.FailingSince = r.Time
	}
	st.ConsecFail++
	// ">=" rather than "==": after a reload lowered FailAfter below the
	// counter, the next failure decides.
	if st.Status != StatusDown && st.ConsecFail >= failAfter {
		st.Status, st.Since = StatusDown, st.FailingSince
		return st, wentDown
	}
	return st, noChange
}

// Observe applies one check result. A result for an unknown target is
// ignored. It returns an error only when the store failed: then the
// transition the result caused is not applied (the state stays as it was)
// and the next result tries it again; the result itself stays buffered.
func (t *Tracker) Observe(ctx context.Context, r checks.Result) error {
	t.mu.Lock()
	tg, ok := t.targets[r.Target]
	if !ok || !t.configured {
		t.mu.Unlock()
		return nil
	}
	if r.Time.IsZero() {
		r.Time = t.now()
	}
	t.seen[r.Target]++
	next, tr := step(t.states[r.Target], tg, r)
	if tr == wentDown && t.seen[r.Target] < max(tg.FailAfter, 1) {
		// Startup grace: failures counted before a restart may have been
		// the restart's own doing (a dependency not up yet); the DOWN
		// waits for fail_after checks of this process. The counters go
		// on, so it comes at once when they have been made.
		next.Status, next.Since = t.states[r.Target].Status, t.states[r.Target].Since
		tr = noChange
	}
	// Flap detection first: a target that starts flapping with this result
	// has its DOWN held already.
	prevFlap := t.flaps[r.Target]
	flap := prevFlap
	flap.h = flap.h.add(r.OK)
	pct := flap.h.percent()
	flap.on = tg.FlapHigh > 0 && flapping(flap.on, pct, tg.FlapHigh, tg.FlapLow)
	t.flaps[r.Target] = flap
	var flapEv *Event
	var phase, reason string
	switch {
	case flap.on && !prevFlap.on:
		// One notice per episode, edited as it goes: its key is negative,
		// so it never meets an incident's alert.
		flap.notice, flap.since, flap.changes = -(t.lastIncidentID + 1), r.Time, 0
		t.lastIncidentID++
		phase, reason = FlapStart, fmt.Sprintf("state changed in %.0f%% of the last %d checks", pct, flapResults)
	case !flap.on && prevFlap.on:
		phase, reason = FlapEnd, fmt.Sprintf("stopped flapping after %d state changes; it is %s", flap.changes, next.Status)
	case flap.on && (tr == wentDown || tr == wentUp):
		flap.changes++
		phase, reason = FlapUpdate, fmt.Sprintf("%d state changes since %s; %s now", flap.changes,
			flap.since.UTC().Format("15:04:05 UTC"), next.Status)
	}
	if phase != "" {
		flapEv = &Event{Kind: EventFlapping, Target: r.Target, TargetKind: tg.Kind, Address: tg.Address(),
			Time: r.Time, IncidentID: flap.notice, Phase: phase, Count: flap.changes, Since: flap.since,
			Reason: reason}
	}
	t.flaps[r.Target] = flap
	// unknown → up announces nothing, so it needs no outbox write: losing
	// it in a crash only means the next success decides it again.
	if tr == noChange || tr == firstUp {
		t.states[r.Target] = next
		t.dirty[r.Target] = struct{}{}
		t.buffer(r)
		if flapEv == nil {
			t.mu.Unlock()
			return nil
		}
		b := t.bufferedBatch(nil)
		b.Events = append(b.Events, *flapEv)
		if err := t.commit(ctx, b); err != nil {
			t.flaps[r.Target] = prevFlap // decided again by the next result
			t.mu.Unlock()
			return fmt.Errorf("state: %s: commit: %w", r.Target, err)
		}
		t.clearBuffer()
		t.mu.Unlock()
		t.notify()
		return nil
	}

	// Decide on copies; install only once the store has taken them.
	var inc Incident
	var ev Event
	switch tr {
	case wentDown:
		inc = Incident{ID: t.lastIncidentID + 1, Target: r.Target, Start: next.FailingSince, Cause: r.Reason}
		note := t.holdNote(tg, next, r.Time)
		if note != "" {
			inc.Quiet = true
		} else {
			note = t.placeDown(tg, &inc, r.Time)
		}
		next.IncidentID = inc.ID
		ev = Event{Kind: EventDown, Reason: r.Reason, Note: note}
	case wentUp:
		open, had := t.open[r.Target]
		if had {
			inc = closeIncident(open, next, r.Time, "recovered")
		} else {
			// DOWN without a known incident (a hand-edited store): still
			// announce the recovery, with no incident to close.
			inc = Incident{Start: t.states[r.Target].Since, End: r.Time}
		}
		next.IncidentID, next.AckedBy, next.AckedAt, next.AckReason, next.AckPlatform = 0, "", time.Time{}, "", ""
		ev = Event{Kind: EventUp, Duration: inc.End.Sub(inc.Start), AckedBy: inc.AckedBy, AckedAt: inc.AckedAt}
	}
	b := t.bufferedBatch(&next)
	if inc.Quiet {
		// Begun while held: chat never heard of it, so it hears nothing
		// of its end either.
		b.Notifiers = t.opts.Local
		if ev.Note == "" {
			ev.Note = t.holdNote(tg, next, r.Time)
		}
		if ev.Note == "" {
			ev.Note = "(muted)"
		}
	}
	ev.Cause = inc.Cause
	// A parent's recovery: its children still down in its alert get
	// group_wait to recover with it; those still down then are announced
	// on their own (Tick).
	var orphans []Incident
	if tr == wentUp && inc.ID != 0 && inc.Group != 0 && !inc.Quiet && t.holdsAny(inc.Group, r.Target) {
		for _, name := range t.order {
			c, ok := t.open[name]
			if !ok || c.HeldBy != r.Target || c.Group != inc.Group || c.Quiet {
				continue
			}
			c.WaitUntil = r.Time.Add(t.targets[name].GroupWait)
			orphans = append(orphans, c)
		}
	}
	b.Results = append(b.Results, r)
	if inc.ID != 0 {
		b.Incidents = append(b.Incidents, inc)
	}
	ev.Target, ev.TargetKind, ev.Address = r.Target, tg.Kind, tg.Address()
	ev.IncidentID, ev.Time, ev.Since, ev.Latency = inc.ID, r.Time, inc.Start, r.Latency
	if inc.ID != 0 {
		t.decorate(&ev, inc, orphans...)
	}
	b.Events = append(b.Events, ev)
	b.Incidents = append(b.Incidents, orphans...)

	if err := t.commit(ctx, b); err != nil {
		// Keep the result for the history, not the transition: the state
		// stays as it was, so the next result decides again.
		t.buffer(r)
		t.flaps[r.Target] = prevFlap
		t.mu.Unlock()
		return fmt.Errorf("state: %s: commit: %w", r.Target, err)
	}
	t.clearBuffer()
	t.states[r.Target] = next
	switch tr {
	case wentDown:
		t.lastIncidentID = inc.ID
		t.install(inc)
	case wentUp:
		if inc.ID != 0 {
			t.install(inc)
		} else {
			delete(t.open, r.Target)
		}
		for _, c := range orphans {
			t.install(c)
		}
	}
	var flapErr error
	if flapEv != nil {
		// Its own commit: it goes to chat whatever the transition's
		// audience was.
		to := t.opts.Notifiers
		if flapEv.Phase == FlapUpdate {
			// The console printed the transition itself, marked.
			to = t.remote()
		}
		if flapErr = t.commit(ctx, &Batch{Events: []Event{*flapEv}, Notifiers: to}); flapErr != nil {
			// Decided again by the next result, so the notice is not lost.
			t.flaps[r.Target] = prevFlap
		}
	}
	t.mu.Unlock()
	t.notify()
	if flapErr != nil {
		return fmt.Errorf("state: %s: flapping notice: %w", r.Target, flapErr)
	}
	return nil
}

// holdsAny reports whether an announced outage of group id is held by
// parent. Only the group's members can be (install keeps every open
// incident of a group in its order), so a recovery looks at them rather
// than at every target of the config. t.mu must be held.
func (t *Tracker) holdsAny(id int64, parent string) bool {
	g := t.groups[id]
	if g == nil {
		return false
	}
	for _, name := range g.order {
		if c, ok := t.open[name]; ok && c.HeldBy == parent && c.Group == id && !c.Quiet {
			return true
		}
	}
	return false
}

// remote is every notifier but the Local ones.
func (t *Tracker) remote() []string {
	return slices.DeleteFunc(slices.Clone(t.opts.Notifiers), func(n string) bool {
		return slices.Contains(t.opts.Local, n)
	})
}

// closeIncident returns inc ended at end for reason, carrying st's ack.
func closeIncident(inc Incident, st TargetState, end time.Time, reason string) Incident {
	inc.End, inc.EndReason = end, reason
	if st.AckedBy != "" {
		inc.AckedBy, inc.AckedAt = st.AckedBy, st.AckedAt
	}
	return inc
}

// buffer appends r to the unwritten results, dropping the oldest beyond
// maxBuffered. t.mu must be held.
func (t *Tracker) buffer(r checks.Result) {
	t.results = append(t.results, r)
	if n := len(t.results) - maxBuffered; n > 0 {
		t.log.Warn("state: store keeps failing, dropping buffered results", "dropped", n)
		t.results = slices.Delete(t.results, 0, n)
	}
}

// bufferedBatch returns a batch of everything buffered: the results in
// order and the current state of every dirty target, in config order. With
// next set, next replaces (or joins, last) its target's state, and is the
// batch's last state. t.mu must be held.
func (t *Tracker) bufferedBatch(next *TargetState) *Batch {
	b := &Batch{Results: slices.Clone(t.results), Notifiers: t.opts.Notifiers}
	for _, name := range t.order {
		if _, ok := t.dirty[name]; !ok || (next != nil && name == next.Name) {
			continue
		}
		b.States = append(b.States, t.states[name])
	}
	if next != nil {
		b.States = append(b.States, *next)
	}
	return b
}

// clearBuffer forgets what a successful commit wrote. t.mu must be held.
func (t *Tracker) clearBuffer() {
	t.results = t.results[:0]
	clear(t.dirty)
}

// commit writes b unless it is empty. t.mu must be held.
func (t *Tracker) commit(ctx context.Context, b *Batch) error {
	if b.Empty() {
		return nil
	}
	t.storeErr = t.opts.Store.Commit(ctx, b)
	return t.storeErr
}

// Err returns the error of the store's last write, or nil when the last
// write succeeded: a store that stopped taking writes shows here (and on
// /healthz) even while no transition happens.
func (t *Tracker) Err() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.storeErr
}

func (t *Tracker) notify() {
	if t.opts.OnEvent != nil {
		t.opts.OnEvent()
	}
}

// Flush writes the buffered results and states now, in one batch. On an
// error the buffer is kept for the next flush and the error returned.
func (t *Tracker) Flush(ctx context.Context) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.commit(ctx, t.bufferedBatch(nil)); err != nil {
		return fmt.Errorf("state: flush: %w", err)
	}
	t.clearBuffer()
	return nil
}

// Run flushes and applies the timed rules (Tick) every FlushEvery until
// ctx ends, then flushes once more. A failed periodic flush or tick is
// logged and retried at the next one; Run returns
// the error of the final flush, nil when it succeeded.
func (t *Tracker) Run(ctx context.Context) error {
	tick := time.NewTicker(t.opts.FlushEvery)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			if err := t.Flush(ctx); err != nil {
				t.log.Error("state: periodic flush failed", "err", err)
			}
			if err := t.Tick(ctx); err != nil {
				t.log.Error("state: timed rules failed; retried at the next tick", "err", err)
			}
		case <-ctx.Done():
			// The last flush must outlive the ctx that ended Run, but not
			// hang a shutdown on a stuck disk.
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			return t.Flush(fctx)
		}
	}
}

// Snapshot returns every tracked target's state, in config order (before
// the first SetTargets: the saved states, by name).
func (t *Tracker) Snapshot() []TargetState {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]TargetState, 0, len(t.order))
	for _, name := range t.order {
		out = append(out, t.states[name])
	}
	return out
}

// Get returns one target's state; ok is false for an unknown name.
func (t *Tracker) Get(name string) (TargetState, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	st, ok := t.states[name]
	return st, ok
}

// Counts returns how many tracked targets are up, down and not yet decided.
func (t *Tracker) Counts() (up, down, unknown int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, name := range t.order {
		switch t.states[name].Status {
		case StatusUp:
			up++
		case StatusDown:
			down++
		default:
			unknown++
		}
	}
	return up, down, unknown
}
