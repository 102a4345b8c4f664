package state

import (
	"context"
	"time"

	"github.com/tocsin/tocsin/checks"
)

// Store keeps tocsin's state on disk. state/sqlite implements it (and
// notify.Outbox on the same database). Every method is safe for concurrent
// use. Errors are returned as they are; the Tracker never resets a store
// that failed.
type Store interface {
	// Load returns every saved target state and the highest incident id
	// ever used (0 on a new store), so the Tracker can number new incidents
	// itself without a round trip.
	Load(ctx context.Context) (Loaded, error)
	// Commit writes b in one transaction: all or nothing. An event in
	// b.Changes is enqueued once for every notifier named in b.Notifiers, in
	// the same transaction as the state that caused it (the outbox rule).
	Commit(ctx context.Context, b *Batch) error
	// Incident returns one incident; ok is false when there is none.
	Incident(ctx context.Context, id int64) (inc Incident, ok bool, err error)
	// Incidents returns the newest incidents of target, newest first, at
	// most limit.
	Incidents(ctx context.Context, target string, limit int) ([]Incident, error)
	// Recent returns up to limit of target's newest stored results, newest
	// first.
	Recent(ctx context.Context, target string, limit int) ([]checks.Result, error)
	// Uptime counts target's stored checks and failures since since.
	Uptime(ctx context.Context, target string, since time.Time) (checksRun, failures int, err error)
	// Prune applies the retention limits, returning how many rows it removed.
	Prune(ctx context.Context, now time.Time) (int, error)
	// Close flushes and closes the store.
	Close() error
}

// Loaded is what Store.Load returns.
type Loaded struct {
	States         []TargetState
	LastIncidentID int64
}

// Batch is a set of writes committed together.
type Batch struct {
	// States are upserted by Name.
	States []TargetState
	// Removed names targets whose state rows are deleted (the target left the
	// config); their incidents and history stay.
	Removed []string
	// Results are appended to the history.
	Results []checks.Result
	// Incidents are upserted by ID: a new one (ID the Tracker chose, above
	// Loaded.LastIncidentID) is inserted, a known one updated (end, ack).
	Incidents []Incident
	// Events are enqueued in the outbox, once per notifier in Notifiers, in
	// the order given. Event.ID is assigned by the store.
	Events    []Event
	Notifiers []string
}

// Empty reports whether b has nothing to write.
func (b *Batch) Empty() bool {
	return len(b.States) == 0 && len(b.Removed) == 0 && len(b.Results) == 0 &&
		len(b.Incidents) == 0 && len(b.Events) == 0
}
