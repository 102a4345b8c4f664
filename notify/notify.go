// Package notify delivers what the state package wrote to the outbox: the
// Dispatcher drains it, one queue per notifier, with retry and backoff, and
// hands each event to a Notifier (console, Slack, Discord).
package notify

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tocsin/tocsin/state"
)

// Ref identifies a message a notifier posted earlier (a Slack channel and
// ts, a Discord message id), so later events of the same incident can edit
// it or reply in its thread. The notifier alone knows its format.
type Ref string

// Notifier is one place alerts go. Each method either succeeds or returns an
// error that the Dispatcher classifies with Classify: a *Error says whether
// to retry and when; any other error is retried with backoff.
type Notifier interface {
	// Name is the notifier's stable name ("console", "slack", "discord"),
	// the key of its outbox queue.
	Name() string
	// Post sends a new top-level message for ev and returns its reference.
	Post(ctx context.Context, ev state.Event) (Ref, error)
	// Edit replaces the message ref with one that shows ev (a resolved, an
	// acknowledged alert). A notifier that cannot edit does nothing.
	Edit(ctx context.Context, ref Ref, ev state.Event) error
	// Reply sends ev in the thread of ref (Slack thread, Discord reply
	// chain). With an empty ref it posts a new message.
	Reply(ctx context.Context, ref Ref, ev state.Event) (Ref, error)
}

// Error is a delivery error with the notifier's verdict on it.
type Error struct {
	// Permanent: retrying will not help until the config changes (bad
	// token, unknown channel). The delivery stays in the outbox and the
	// notifier is marked unhealthy.
	Permanent bool
	// RetryAfter, when > 0, is the wait the platform asked for (HTTP 429).
	RetryAfter time.Duration
	Err        error
}

func (e *Error) Error() string {
	switch {
	case e.Permanent:
		return fmt.Sprintf("permanent: %v", e.Err)
	case e.RetryAfter > 0:
		return fmt.Sprintf("retry after %s: %v", e.RetryAfter, e.Err)
	}
	return e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// Classify says what to do about err: permanent (keep, stop trying) or
// retry, after retryAfter if the platform named a wait.
func Classify(err error) (permanent bool, retryAfter time.Duration) {
	var ne *Error
	if errors.As(err, &ne) {
		return ne.Permanent, ne.RetryAfter
	}
	return false, 0
}

// Outbox is what the Dispatcher needs of the store (state/sqlite
// implements it). Deliveries are created by the state package in the same
// transaction as the transition that causes them.
type Outbox interface {
	// Pending returns up to limit undelivered, not held deliveries for
	// notifier, oldest event first, whether due yet or not: the Dispatcher
	// delivers strictly in order, so it waits for the first one's NextAt
	// rather than skipping past it (a DOWN goes out before its UP).
	Pending(ctx context.Context, notifier string, limit int) ([]state.Delivery, error)
	// StepDone records that the first step steps of delivery id are done.
	StepDone(ctx context.Context, id int64, step int) error
	// Delivered removes delivery id from the queue (kept as history).
	Delivered(ctx context.Context, id int64) error
	// Retry schedules delivery id again at next, counting an attempt.
	Retry(ctx context.Context, id int64, next time.Time, lastErr string) error
	// Hold keeps delivery id but stops offering it from Pending until
	// Unhold (called at startup and after a config reload).
	Hold(ctx context.Context, id int64, lastErr string) error
	// Unhold makes every held delivery of notifier pending again.
	Unhold(ctx context.Context, notifier string) error
	// Ref and SetRef keep the message reference of an incident's alert on
	// one notifier. Ref returns "" when there is none.
	Ref(ctx context.Context, incidentID int64, notifier string) (string, error)
	SetRef(ctx context.Context, incidentID int64, notifier, ref string) error
	// Depth counts undelivered deliveries per notifier (held included).
	Depth(ctx context.Context) (map[string]int, error)
}
