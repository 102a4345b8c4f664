package state

import (
	"context"
	"log/slog"
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
}

// Tracker is the per-target state machine. Observe feeds it results; a
// target goes DOWN after FailAfter consecutive failures and UP again after
// RecoverAfter consecutive successes. Each transition, its incident and the
// events it causes are committed in one Store transaction before Observe
// returns. Safe for concurrent use.
type Tracker struct {
	opts TrackerOptions
}

// NewTracker loads the saved states from opts.Store. A target whose saved
// state is DOWN stays DOWN with its open incident: no new DOWN is sent for
// it after a restart.
func NewTracker(ctx context.Context, opts TrackerOptions) (*Tracker, error) {
	panic("unimplemented")
}

// SetTargets sets the targets being tracked, at start and on every reload.
// New targets start unknown (or resume their saved state); a target no
// longer present loses its state row, and its open incident is closed with
// an EventRemoved; a changed target keeps its state under its new settings.
func (t *Tracker) SetTargets(ctx context.Context, targets []checks.Target) error {
	panic("unimplemented")
}

// Observe applies one check result. A result for an unknown target is
// ignored. It returns an error only when the store failed.
func (t *Tracker) Observe(ctx context.Context, r checks.Result) error {
	panic("unimplemented")
}

// Flush writes the buffered results and states now.
func (t *Tracker) Flush(ctx context.Context) error {
	panic("unimplemented")
}

// Run flushes every FlushEvery until ctx ends, then flushes once more.
func (t *Tracker) Run(ctx context.Context) error {
	panic("unimplemented")
}

// Snapshot returns every tracked target's state, in config order.
func (t *Tracker) Snapshot() []TargetState {
	panic("unimplemented")
}

// Get returns one target's state; ok is false for an unknown name.
func (t *Tracker) Get(name string) (TargetState, bool) {
	panic("unimplemented")
}
