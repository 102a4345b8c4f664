package notify

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tocsin/tocsin/state"
)

// Defaults of Options.
const (
	DefaultMinBackoff = time.Second
	DefaultMaxBackoff = 5 * time.Minute
	DefaultPoll       = 5 * time.Second
)

// UnhealthyAfter is how many consecutive retryable failures mark a notifier
// unhealthy (a permanent error does so at once). The next success makes it
// healthy again.
const UnhealthyAfter = 3

// Hooks lets the caller observe delivery (metrics); every field is optional.
type Hooks struct {
	Sent    func(notifier string)
	Failed  func(notifier string, permanent bool)
	Healthy func(notifier string, healthy bool)
}

// Options configures a Dispatcher.
type Options struct {
	Outbox    Outbox
	Notifiers []Notifier
	Now       func() time.Time // nil: time.Now
	Logger    *slog.Logger
	Hooks     Hooks
	// Backoff bounds the exponential retry delay: first MinBackoff (default
	// 1s), doubling up to MaxBackoff (default 5m). The same bounds pace the
	// retries of a failing outbox.
	MinBackoff, MaxBackoff time.Duration
	// Poll is how often the outbox is looked at without a Wake (default 5s).
	Poll time.Duration
	// Grouped names the notifiers that show a grouped alert as one message
	// edited in place (chat): for them a DOWN that joins a group edits the
	// group's message, queued edits of a group are coalesced, and only the
	// group's last recovery is said in its thread. Any other notifier (the
	// console) gets every event on its own.
	Grouped map[string]bool
	// MinInterval paces a notifier by name: at least this long between the
	// starts of two of its calls (a platform's per-channel rate; Discord's
	// is five messages in five seconds). Absent: no pacing.
	MinInterval map[string]time.Duration
	// Secrets are redacted (see Redact) from every error text the
	// Dispatcher logs, stores in the outbox or reports in Health, in case a
	// provider let one slip through.
	Secrets []string
}

// Dispatcher drains the outbox: one worker per notifier, deliveries of one
// notifier strictly in order (a DOWN before its UP), retried with backoff.
type Dispatcher struct {
	opts  Options
	log   *slog.Logger
	wakes []chan struct{} // one per notifier, buffered 1

	mu      sync.Mutex
	running bool
	health  map[string]string
}

// NewDispatcher returns a Dispatcher; Run starts it. Zero options take
// their defaults; a MaxBackoff below MinBackoff is raised to it.
func NewDispatcher(opts Options) *Dispatcher {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = DefaultMinBackoff
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = DefaultMaxBackoff
	}
	opts.MaxBackoff = max(opts.MaxBackoff, opts.MinBackoff)
	if opts.Poll <= 0 {
		opts.Poll = DefaultPoll
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := &Dispatcher{
		opts:   opts,
		log:    log,
		wakes:  make([]chan struct{}, len(opts.Notifiers)),
		health: make(map[string]string, len(opts.Notifiers)),
	}
	for i, n := range opts.Notifiers {
		d.wakes[i] = make(chan struct{}, 1)
		if n != nil {
			d.health[n.Name()] = ""
		}
	}
	return d
}

// Run delivers until ctx ends. At start it unholds every notifier's held
// deliveries (a restart or reload retries permanent failures once more) and
// resets every notifier's health. It returns nil once ctx has ended and
// every worker has stopped; it may be called again after it returned. It
// returns an error at once, delivering nothing, when there is no Outbox,
// a Notifier is nil, two notifiers share a name, or Run is already running.
func (d *Dispatcher) Run(ctx context.Context) error {
	if d.opts.Outbox == nil {
		return errors.New("notify: dispatcher has no outbox")
	}
	seen := make(map[string]bool, len(d.opts.Notifiers))
	for _, n := range d.opts.Notifiers {
		if n == nil {
			return errors.New("notify: nil notifier")
		}
		if seen[n.Name()] {
			// Two workers on one queue would deliver its events twice.
			return fmt.Errorf("notify: two notifiers named %q", n.Name())
		}
		seen[n.Name()] = true
	}

	d.mu.Lock()
	if d.running {
		d.mu.Unlock()
		return errors.New("notify: dispatcher already running")
	}
	d.running = true
	for name := range d.health {
		d.health[name] = ""
	}
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		d.running = false
		d.mu.Unlock()
	}()

	var wg sync.WaitGroup
	for i, n := range d.opts.Notifiers {
		d.hookHealthy(n.Name(), true)
		w := &worker{d: d, n: n, name: n.Name(), wake: d.wakes[i], storeWait: d.opts.MinBackoff,
			grouped: d.opts.Grouped[n.Name()]}
		wg.Go(func() { w.run(ctx) })
	}
	// A worker stopped by a permanent error returns early; Run still lasts
	// until ctx ends, as its callers expect.
	<-ctx.Done()
	wg.Wait()
	return nil
}

// Wake tells the workers the outbox has new deliveries. Never blocks.
func (d *Dispatcher) Wake() {
	for _, c := range d.wakes {
		select {
		case c <- struct{}{}:
		default: // a wake is already pending: the worker will look anyway
		}
	}
}

// Health reports each notifier's health: "" when healthy, else the error
// that made it unhealthy (secrets redacted): a permanent error, or the last
// of UnhealthyAfter or more consecutive retryable ones.
func (d *Dispatcher) Health() map[string]string {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make(map[string]string, len(d.health))
	for k, v := range d.health {
		out[k] = v
	}
	return out
}

// Redact returns s with every non-empty secret replaced by "[REDACTED]".
// Longer secrets are replaced first, so a secret that contains another is
// not left half visible.
func Redact(s string, secrets ...string) string {
	sorted := slices.Clone(secrets)
	slices.SortFunc(sorted, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	for _, sec := range sorted {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, "[REDACTED]")
		}
	}
	return s
}

// backoff is the retry delay after attempts failed attempts: min·2^attempts,
// capped at max.
func backoff(attempts int, lo, hi time.Duration) time.Duration {
	d := lo
	for range attempts {
		if d >= hi/2 {
			return hi
		}
		d *= 2
	}
	return min(d, hi)
}

func (d *Dispatcher) hookHealthy(name string, ok bool) {
	if d.opts.Hooks.Healthy != nil {
		d.opts.Hooks.Healthy(name, ok)
	}
}

// setHealth records name's health; msg "" means healthy. Hooks.Healthy is
// called only on a change.
func (d *Dispatcher) setHealth(name, msg string) {
	d.mu.Lock()
	was := d.health[name]
	d.health[name] = msg
	d.mu.Unlock()
	if (was == "") != (msg == "") {
		d.hookHealthy(name, msg == "")
	}
}

// worker delivers one notifier's queue. Its fields belong to its goroutine.
type worker struct {
	d    *Dispatcher
	n    Notifier
	name string
	wake <-chan struct{}
	// storeWait is the next wait after an outbox failure.
	storeWait time.Duration
	// failures counts consecutive retryable delivery failures.
	failures int
	// last is when the worker last began a call (MinInterval).
	last time.Time
	// grouped: the notifier shows grouped alerts as one message.
	grouped bool
}

// step is one notifier call of a delivery; a nil run is skipped (an edit
// with no message to edit).
type step func(ctx context.Context) error

func (w *worker) run(ctx context.Context) {
	ob := w.d.opts.Outbox
	if !w.persist(ctx, "unhold", func(ctx context.Context) error { return ob.Unhold(ctx, w.name) }) {
		return
	}
	for ctx.Err() == nil {
		queue, err := ob.Pending(ctx, w.name, lookahead)
		if err != nil {
			if !w.storeFailed(ctx, "pending", err) {
				return
			}
			continue
		}
		w.storeOK()
		if len(queue) == 0 {
			if !w.sleep(ctx, w.d.opts.Poll, true) {
				return
			}
			continue
		}
		dl := queue[0]
		// Strictly in order: wait for the first one rather than skipping
		// past it. A Wake may cut the wait short; we then look again.
		if wait := dl.NextAt.Sub(w.d.opts.Now()); wait > 0 {
			if !w.sleep(ctx, wait, true) {
				return
			}
			continue
		}
		if w.superseded(dl, queue[1:]) {
			if !w.skip(ctx, dl) {
				return
			}
			continue
		}
		if !w.deliver(ctx, dl) {
			return
		}
	}
}

// lookahead is how many pending deliveries a worker reads at once, to see
// whether the first is superseded.
const lookahead = 64

// superseded reports whether dl only edits its group's message and a
// later delivery in queue, due now, edits the same message again: the
// later edit shows everything dl would (each carries the whole group), so
// a storm of 30 DOWNs costs a few edits, not 30.
func (w *worker) superseded(dl state.Delivery, queue []state.Delivery) bool {
	ev := dl.Event
	if !w.grouped || ev.Group == 0 || dl.Step != 0 || !editsOnly(ev) {
		return false
	}
	now := w.d.opts.Now()
	for _, later := range queue {
		if later.NextAt.After(now) {
			return false
		}
		if le := later.Event; le.Group == ev.Group && le.IncidentID != 0 && editsGroup(le) {
			return true
		}
	}
	return false
}

// editsGroup reports whether delivering ev edits its alert's message:
// a DOWN joining a group, a recovery, an ack, a mute and their reversals;
// not a reminder or an escalation (thread replies only).
func editsGroup(ev state.Event) bool {
	switch ev.Kind {
	case state.EventDown:
		return joins(ev)
	case state.EventUp, state.EventRemoved, state.EventAck, state.EventUnack, state.EventMute, state.EventUnmute:
		return true
	}
	return false
}

// editsOnly reports whether ev's delivery is an edit of its group's
// message and nothing else: a DOWN joining the group, or a recovery that
// is not the group's last.
func editsOnly(ev state.Event) bool {
	switch ev.Kind {
	case state.EventDown:
		return joins(ev)
	case state.EventUp:
		return !groupOver(ev)
	}
	return false
}

// skip marks a superseded delivery done without calling the notifier; a
// joining DOWN still takes its group's message as its own. It returns
// false when the worker must stop.
func (w *worker) skip(ctx context.Context, dl state.Delivery) bool {
	ob := w.d.opts.Outbox
	ev := dl.Event
	if joins(ev) {
		r, err := ob.Ref(ctx, ev.Group, w.name)
		if err != nil {
			return w.storeFailed(ctx, "ref", err)
		}
		if r == "" {
			// The group has no message to show it: it posts its own.
			return w.deliver(ctx, dl)
		}
		if !w.persist(ctx, "set ref", func(ctx context.Context) error {
			return ob.SetRef(ctx, ev.IncidentID, w.name, r)
		}) {
			return false
		}
	}
	return w.persist(ctx, "delivered", func(ctx context.Context) error { return ob.Delivered(ctx, dl.ID) })
}

// pace waits until the notifier's MinInterval has passed since its last
// call began; false means ctx ended.
func (w *worker) pace(ctx context.Context) bool {
	gap := w.d.opts.MinInterval[w.name]
	if gap <= 0 {
		return true
	}
	if !w.last.IsZero() {
		if wait := gap - w.d.opts.Now().Sub(w.last); wait > 0 {
			t := time.NewTimer(wait)
			defer t.Stop()
			select {
			case <-ctx.Done():
				return false
			case <-t.C:
			}
		}
	}
	w.last = w.d.opts.Now()
	return true
}

// deliver runs the steps of dl not done yet, then marks it delivered. It
// returns false when the worker must stop: ctx ended or a permanent error.
func (w *worker) deliver(ctx context.Context, dl state.Delivery) bool {
	ob := w.d.opts.Outbox
	ev := dl.Event
	var ref Ref
	switch {
	case w.grouped && joins(ev):
		// A DOWN that joins a grouped alert edits the group's message.
		r, err := ob.Ref(ctx, ev.Group, w.name)
		if err != nil {
			return w.storeFailed(ctx, "ref", err)
		}
		ref = Ref(r)
	case ev.Kind != state.EventDown && !(ev.Kind == state.EventFlapping && flapNew(ev)) && ev.IncidentID != 0:
		r, err := ob.Ref(ctx, ev.IncidentID, w.name)
		if err != nil {
			return w.storeFailed(ctx, "ref", err)
		}
		ref = Ref(r)
	}
	steps := w.steps(dl, ref)
	for i := dl.Step; i < len(steps); i++ {
		if steps[i] == nil {
			continue
		}
		if !w.pace(ctx) {
			return false
		}
		if err := steps[i](ctx); err != nil {
			return w.failed(ctx, dl, err)
		}
		w.succeeded()
		if i+1 < len(steps) {
			// Recorded before the next call, so a retry resumes after it.
			if !w.persist(ctx, "step done", func(ctx context.Context) error { return ob.StepDone(ctx, dl.ID, i+1) }) {
				return false
			}
		}
	}
	if !w.persist(ctx, "delivered", func(ctx context.Context) error { return ob.Delivered(ctx, dl.ID) }) {
		return false
	}
	if w.d.opts.Hooks.Sent != nil {
		w.d.opts.Hooks.Sent(w.name)
	}
	return true
}

// steps lists the calls that deliver dl, by event kind; Delivery.Step
// indexes it.
func (w *worker) steps(dl state.Delivery, ref Ref) []step {
	ob := w.d.opts.Outbox
	ev := dl.Event
	post := func(ctx context.Context) error {
		r, err := w.n.Post(ctx, ev)
		if err != nil {
			return err
		}
		if ev.IncidentID == 0 || r == "" {
			return nil
		}
		// The post succeeded: losing its ref now would make the retry post
		// again, so the store is retried in place instead.
		if !w.persist(ctx, "set ref", func(ctx context.Context) error {
			return ob.SetRef(ctx, ev.IncidentID, w.name, string(r))
		}) {
			return ctx.Err()
		}
		return nil
	}
	var reply step = func(ctx context.Context) error {
		_, err := w.n.Reply(ctx, ref, ev)
		return err
	}
	var edit step
	if ref != "" {
		edit = func(ctx context.Context) error { return w.n.Edit(ctx, ref, ev) }
	}
	switch ev.Kind {
	case state.EventFlapping:
		// One notice per episode: posted, edited with the count, and at
		// the end edited and answered in its thread.
		switch {
		case flapNew(ev):
			return []step{post}
		case ev.Phase == state.FlapEnd:
			return []step{edit, reply}
		}
		return []step{edit}
	case state.EventDown:
		if w.grouped && joins(ev) && ref != "" {
			// The group's alert shows the newcomer, and the newcomer's
			// later events edit and thread there.
			join := func(ctx context.Context) error {
				if err := w.n.Edit(ctx, ref, ev); err != nil {
					return err
				}
				if !w.persist(ctx, "set ref", func(ctx context.Context) error {
					return ob.SetRef(ctx, ev.IncidentID, w.name, string(ref))
				}) {
					return ctx.Err()
				}
				return nil
			}
			return []step{join}
		}
		return []step{post}
	case state.EventUp, state.EventRemoved:
		// The thread learns of the recovery first, then the alert shows it.
		// In a group only the last recovery is said in the thread; the
		// others only change the alert.
		if w.grouped && !groupOver(ev) {
			reply = nil
		}
		return []step{reply, edit}
	case state.EventAck, state.EventUnack, state.EventMute, state.EventUnmute:
		return []step{edit, reply}
	default: // REMIND, ESCALATE, and any kind added later: a thread reply.
		return []step{reply}
	}
}

// flapNew reports whether ev, a FLAPPING, starts an episode (a new
// notice), or has no episode (a notice alone).
func flapNew(ev state.Event) bool {
	return ev.Phase == "" || ev.Phase == state.FlapStart
}

// joins reports whether ev is a DOWN that joins another incident's alert.
func joins(ev state.Event) bool {
	return ev.Kind == state.EventDown && ev.Group != 0 && ev.Group != ev.IncidentID
}

// groupOver reports whether no member of ev's group is still down (true
// for an event alone).
func groupOver(ev state.Event) bool {
	for _, m := range ev.Members {
		if m.Status == state.StatusDown {
			return false
		}
	}
	return true
}

// failed handles a notifier error on dl. It returns false when the worker
// must stop.
func (w *worker) failed(ctx context.Context, dl state.Delivery, err error) bool {
	if ctx.Err() != nil {
		// Shutting down: the call failed because of it; nothing to record.
		return false
	}
	ob := w.d.opts.Outbox
	msg := Redact(err.Error(), w.d.opts.Secrets...)
	permanent, retryAfter := Classify(err)
	if w.d.opts.Hooks.Failed != nil {
		w.d.opts.Hooks.Failed(w.name, permanent)
	}
	ev := dl.Event
	if permanent {
		// Logged once: this worker stops until the next Run.
		w.d.log.Error("notifier failed permanently; its alerts are held until a reload or restart",
			"notifier", w.name, "delivery", dl.ID, "event", string(ev.Kind), "target", ev.Target, "err", msg)
		w.d.setHealth(w.name, msg)
		w.persist(ctx, "hold", func(ctx context.Context) error { return ob.Hold(ctx, dl.ID, msg) })
		return false
	}
	w.failures++
	wait := max(retryAfter, backoff(dl.Attempts, w.d.opts.MinBackoff, w.d.opts.MaxBackoff))
	next := w.d.opts.Now().Add(wait)
	w.d.log.Warn("notifier failed; will retry",
		"notifier", w.name, "delivery", dl.ID, "event", string(ev.Kind), "target", ev.Target,
		"attempt", dl.Attempts+1, "retry_in", wait, "err", msg)
	if w.failures >= UnhealthyAfter {
		w.d.setHealth(w.name, msg)
	}
	return w.persist(ctx, "retry", func(ctx context.Context) error { return ob.Retry(ctx, dl.ID, next, msg) })
}

func (w *worker) succeeded() {
	w.failures = 0
	w.d.setHealth(w.name, "")
}

// persist runs an outbox write until it succeeds, backing off between
// failures; false means ctx ended first. Each write runs on a context that
// ctx's end does not cancel: a call that already succeeded must be recorded
// even when the dispatcher is being stopped (a reload restarts it), or the
// next Run would send it again.
func (w *worker) persist(ctx context.Context, what string, write func(context.Context) error) bool {
	var stopping time.Time // when ctx was first seen ended
	for {
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), persistTimeout)
		err := write(wctx)
		cancel()
		if err == nil {
			w.storeOK()
			return true
		}
		if ctx.Err() == nil && w.storeFailed(ctx, what, err) {
			continue
		}
		if ctx.Err() == nil {
			return false
		}
		// Stopping: keep trying a little, for a failed write now means
		// the call it records is made again after the restart.
		if stopping.IsZero() {
			stopping = time.Now()
		}
		if time.Since(stopping) >= persistTimeout {
			w.d.log.Error("outbox write failed while stopping; the delivery may be repeated",
				"notifier", w.name, "op", what, "err", Redact(err.Error(), w.d.opts.Secrets...))
			return false
		}
		time.Sleep(persistRetry)
	}
}

// storeFailed logs an outbox error and waits out the outbox backoff, which
// doubles up to MaxBackoff while the store keeps failing. It returns false
// when ctx ended.
func (w *worker) storeFailed(ctx context.Context, what string, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	wait := w.storeWait
	w.storeWait = min(2*w.storeWait, w.d.opts.MaxBackoff)
	w.d.log.Error("outbox failed; backing off", "notifier", w.name, "op", what,
		"retry_in", wait, "err", Redact(err.Error(), w.d.opts.Secrets...))
	// A Wake does not cut this wait: new deliveries do not mend the store.
	return w.sleep(ctx, wait, false)
}

// persistTimeout bounds one outbox write made on a detached context, and
// how long a stopping worker keeps retrying one; persistRetry is its pause.
const (
	persistTimeout = 10 * time.Second
	persistRetry   = 100 * time.Millisecond
)

func (w *worker) storeOK() { w.storeWait = w.d.opts.MinBackoff }

// sleep waits for d, or a Wake when wakeable; false means ctx ended.
func (w *worker) sleep(ctx context.Context, d time.Duration, wakeable bool) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	var wake <-chan struct{}
	if wakeable {
		wake = w.wake
	}
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
	case <-wake:
	}
	return true
}
