package console

import (
	"io"
	"testing"
	"time"

	"github.com/tocsin/tocsin/state"
)

// Micro-benchmarks of the console notifier: the line of an event, and
// Post, which writes it. Run them with
//
//	go test -run '^$' -bench . -benchmem ./notify/console/

var benchAt = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// benchEvents are the commonest events: a DOWN, its ACK, its recovery.
var benchEvents = []struct {
	name string
	ev   state.Event
}{
	{"down", state.Event{ID: 7, Kind: state.EventDown, Target: "shop", IncidentID: 3, Time: benchAt, Since: benchAt,
		Reason: "dial tcp 127.0.0.1:8080: connect: connection refused"}},
	{"ack", state.Event{ID: 8, Kind: state.EventAck, Target: "shop", IncidentID: 3, Time: benchAt, Since: benchAt,
		Actor: "alice", Reason: "on it, restarting the pod"}},
	{"up", state.Event{ID: 9, Kind: state.EventUp, Target: "shop", IncidentID: 3, Time: benchAt, Since: benchAt,
		Duration: 4*time.Minute + 12*time.Second, Note: "(muted)"}},
}

// BenchmarkLine renders an event's console line.
func BenchmarkLine(b *testing.B) {
	for _, c := range benchEvents {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Line(c.ev)
			}
		})
	}
}

// BenchmarkPost is the console's delivery of a DOWN: its line written to
// a writer that keeps nothing, and its ref.
func BenchmarkPost(b *testing.B) {
	n := New(io.Discard)
	ctx := b.Context()
	ev := benchEvents[0].ev
	b.ReportAllocs()
	for b.Loop() {
		if _, err := n.Post(ctx, ev); err != nil {
			b.Fatal(err)
		}
	}
}
