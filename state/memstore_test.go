package state

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/tocsin/tocsin/checks"
)

// memStore is an in-memory Store for the Tracker's tests: maps for the
// rows, every committed batch kept (deep-copied) in order, and injectable
// errors. Restart = a new Tracker on the same memStore.
type memStore struct {
	mu             sync.Mutex
	states         map[string]TargetState
	incidents      map[int64]Incident
	results        []checks.Result
	outbox         []Delivery
	lastIncidentID int64
	lastEventID    int64
	batches        []Batch

	// commitErr, when set, is asked before each Commit; a non-nil answer
	// fails the commit and writes nothing.
	commitErr func(b *Batch) error
	loadErr   error
}

var _ Store = (*memStore)(nil)

func newMemStore() *memStore {
	return &memStore{states: map[string]TargetState{}, incidents: map[int64]Incident{}}
}

func (m *memStore) Load(ctx context.Context) (Loaded, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.loadErr != nil {
		return Loaded{}, m.loadErr
	}
	l := Loaded{LastIncidentID: m.lastIncidentID}
	for _, st := range m.states {
		l.States = append(l.States, st)
	}
	slices.SortFunc(l.States, func(a, b TargetState) int { return cmp.Compare(a.Name, b.Name) })
	return l, nil
}

func (m *memStore) Commit(ctx context.Context, b *Batch) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.commitErr != nil {
		if err := m.commitErr(b); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	c := Batch{
		States:    slices.Clone(b.States),
		Removed:   slices.Clone(b.Removed),
		Results:   slices.Clone(b.Results),
		Incidents: slices.Clone(b.Incidents),
		Events:    slices.Clone(b.Events),
		Notifiers: slices.Clone(b.Notifiers),
	}
	for _, st := range c.States {
		m.states[st.Name] = st
	}
	for _, name := range c.Removed {
		delete(m.states, name)
	}
	m.results = append(m.results, c.Results...)
	for _, inc := range c.Incidents {
		m.incidents[inc.ID] = inc
		m.lastIncidentID = max(m.lastIncidentID, inc.ID)
	}
	for i := range c.Events {
		m.lastEventID++
		c.Events[i].ID = m.lastEventID
		for _, n := range c.Notifiers {
			m.outbox = append(m.outbox, Delivery{ID: int64(len(m.outbox) + 1), Notifier: n, Event: c.Events[i]})
		}
	}
	m.batches = append(m.batches, c)
	return nil
}

func (m *memStore) Incident(ctx context.Context, id int64) (Incident, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	inc, ok := m.incidents[id]
	return inc, ok, nil
}

func (m *memStore) Incidents(ctx context.Context, target string, limit int) ([]Incident, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Incident
	for _, inc := range m.incidents {
		if inc.Target == target {
			out = append(out, inc)
		}
	}
	slices.SortFunc(out, func(a, b Incident) int { return cmp.Compare(b.ID, a.ID) })
	return out[:min(limit, len(out))], nil
}

func (m *memStore) Recent(ctx context.Context, target string, limit int) ([]checks.Result, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []checks.Result
	for i := len(m.results) - 1; i >= 0 && len(out) < limit; i-- {
		if m.results[i].Target == target {
			out = append(out, m.results[i])
		}
	}
	return out, nil
}

func (m *memStore) Uptime(ctx context.Context, target string, since time.Time) (int, int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var n, fails int
	for _, r := range m.results {
		if r.Target == target && !r.Time.Before(since) {
			n++
			if !r.OK {
				fails++
			}
		}
	}
	return n, fails, nil
}

func (m *memStore) Prune(ctx context.Context, now time.Time) (int, error) { return 0, nil }

func (m *memStore) Close() error { return nil }

// committed returns a copy of the batches committed so far.
func (m *memStore) committed() []Batch {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.batches)
}

// events returns every event committed so far, in order.
func (m *memStore) events() []Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Event
	for _, b := range m.batches {
		out = append(out, b.Events...)
	}
	return out
}

func (m *memStore) incident(id int64) (Incident, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	inc, ok := m.incidents[id]
	return inc, ok
}

func (m *memStore) state(name string) (TargetState, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	st, ok := m.states[name]
	return st, ok
}

func (m *memStore) allResults() []checks.Result {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.results)
}

func (m *memStore) setCommitErr(f func(b *Batch) error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.commitErr = f
}
