package notify

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tocsin/tocsin/state"
)

// Micro-benchmarks of what every event goes through: OneLine, and the
// Dispatcher's delivery of one event on an outbox and a notifier that
// cost nothing (no store, no network). Run them with
//
//	go test -run '^$' -bench . -benchmem ./notify/

// BenchmarkOneLine is OneLine of a typical reason (already one line) and
// of a messy one (newlines, tabs, a control character).
func BenchmarkOneLine(b *testing.B) {
	for _, c := range []struct{ name, s string }{
		{"clean", "dial tcp 127.0.0.1:5432: connect: connection refused"},
		{"messy", "HTTP 500:\n\tinternal\r\nserver  error \x1b[31m at   /health\n"},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				OneLine(c.s)
			}
		})
	}
}

// benchOutbox is an Outbox that keeps nothing but the message refs, so
// that a benchmark measures the Dispatcher alone.
type benchOutbox struct{ refs map[int64]string }

func (o *benchOutbox) Pending(context.Context, string, int) ([]state.Delivery, error) {
	return nil, nil
}
func (o *benchOutbox) StepDone(context.Context, int64, int) error            { return nil }
func (o *benchOutbox) Delivered(context.Context, int64) error                { return nil }
func (o *benchOutbox) Retry(context.Context, int64, time.Time, string) error { return nil }
func (o *benchOutbox) Hold(context.Context, int64, string) error             { return nil }
func (o *benchOutbox) Unhold(context.Context, string) error                  { return nil }
func (o *benchOutbox) Depth(context.Context) (map[string]int, error)         { return nil, nil }

func (o *benchOutbox) Ref(_ context.Context, id int64, _ string) (string, error) {
	return o.refs[id], nil
}

func (o *benchOutbox) SetRef(_ context.Context, id int64, _, ref string) error {
	o.refs[id] = ref
	return nil
}

// benchNotifier is a Notifier that does nothing and always succeeds.
type benchNotifier struct{ name string }

func (n benchNotifier) Name() string                                         { return n.name }
func (n benchNotifier) Post(context.Context, state.Event) (Ref, error)       { return "msg", nil }
func (n benchNotifier) Edit(context.Context, Ref, state.Event) error         { return nil }
func (n benchNotifier) Reply(context.Context, Ref, state.Event) (Ref, error) { return "reply", nil }

// benchWorker is the worker Run would start for a notifier named name.
func benchWorker(name string, grouped bool) (*worker, *benchOutbox) {
	ob := &benchOutbox{refs: map[int64]string{}}
	n := benchNotifier{name}
	d := NewDispatcher(Options{Outbox: ob, Notifiers: []Notifier{n}, Grouped: map[string]bool{name: grouped}})
	return &worker{d: d, n: n, name: name, wake: d.wakes[0], storeWait: d.opts.MinBackoff, grouped: grouped}, ob
}

// benchGroup is a storm of n members led by incident 1, all down.
func benchGroup(n int) []state.GroupMember {
	at := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	ms := make([]state.GroupMember, n)
	for i := range ms {
		ms[i] = state.GroupMember{Target: fmt.Sprintf("target-%02d", i), IncidentID: int64(i + 1),
			Status: state.StatusDown, Cause: "HTTP 503", Since: at.Add(time.Duration(i) * time.Second)}
	}
	return ms
}

// BenchmarkDeliver is the Dispatcher's delivery of one event: a DOWN (a
// post and its ref stored), an UP (its alert's ref looked up, a thread
// reply, the step recorded, an edit), and, on a grouped notifier, the DOWN
// of a member joining a storm of 50 (an edit of the group's alert).
func BenchmarkDeliver(b *testing.B) {
	at := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	members := benchGroup(50)
	for _, c := range []struct {
		name    string
		grouped bool
		ev      state.Event
	}{
		{"down", false, state.Event{ID: 7, Kind: state.EventDown, Target: "shop", IncidentID: 3, Time: at, Since: at,
			Reason: "HTTP 503"}},
		{"up", false, state.Event{ID: 8, Kind: state.EventUp, Target: "shop", IncidentID: 3, Time: at, Since: at,
			Duration: time.Minute, Cause: "HTTP 503"}},
		{"join_group_of_50", true, state.Event{ID: 9, Kind: state.EventDown, Target: members[49].Target,
			IncidentID: 50, Time: at, Since: at, Reason: "HTTP 503", Group: 1, Members: members}},
	} {
		b.Run(c.name, func(b *testing.B) {
			w, ob := benchWorker("slack", c.grouped)
			ob.refs[1], ob.refs[3] = "C1/1.000001", "C1/1.000003"
			ctx := b.Context()
			dl := state.Delivery{ID: c.ev.ID, Notifier: "slack", Event: c.ev, NextAt: at}
			b.ReportAllocs()
			for b.Loop() {
				if !w.deliver(ctx, dl) {
					b.Fatal("deliver stopped the worker")
				}
			}
		})
	}
}

// BenchmarkSuperseded is the look ahead at a full queue (lookahead
// deliveries) for a later edit of the same group: a storm's queued joins,
// of which all but the last are skipped.
func BenchmarkSuperseded(b *testing.B) {
	at := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	members := benchGroup(50)
	w, _ := benchWorker("slack", true)
	w.d.opts.Now = func() time.Time { return at }
	queue := make([]state.Delivery, lookahead)
	for i := range queue {
		// Other groups' events first: the one that supersedes is last.
		g := int64(1000 + i)
		if i == len(queue)-1 {
			g = 1
		}
		queue[i] = state.Delivery{ID: int64(i + 1), Notifier: "slack", NextAt: at, Event: state.Event{
			ID: int64(i + 1), Kind: state.EventDown, Target: members[i%50].Target, IncidentID: int64(2000 + i),
			Group: g, Members: members}}
	}
	first := queue[0]
	first.Event.Group, first.Event.IncidentID = 1, 2
	b.ReportAllocs()
	for b.Loop() {
		if !w.superseded(first, queue[1:]) {
			b.Fatal("not superseded")
		}
	}
}
