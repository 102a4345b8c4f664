package notify

import (
	"context"
	"log/slog"
	"time"
)

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
	// 1s), doubling up to MaxBackoff (default 5m).
	MinBackoff, MaxBackoff time.Duration
	// Poll is how often the outbox is looked at without a Wake (default 5s).
	Poll time.Duration
}

// Dispatcher drains the outbox: one worker per notifier, deliveries of one
// notifier strictly in order (a DOWN before its UP), retried with backoff.
type Dispatcher struct {
	opts Options
}

// NewDispatcher returns a Dispatcher; Run starts it.
func NewDispatcher(opts Options) *Dispatcher {
	panic("unimplemented")
}

// Run delivers until ctx ends. At start it unholds every notifier's held
// deliveries (a restart or reload retries permanent failures once more).
func (d *Dispatcher) Run(ctx context.Context) error {
	panic("unimplemented")
}

// Wake tells the workers the outbox has new deliveries. Never blocks.
func (d *Dispatcher) Wake() {
	panic("unimplemented")
}

// Health reports each notifier's health: "" when healthy, else the last
// permanent error (secrets redacted).
func (d *Dispatcher) Health() map[string]string {
	panic("unimplemented")
}
