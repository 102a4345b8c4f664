package slack

import (
	"fmt"
	"testing"
	"time"

	"github.com/tocsin/tocsin/state"
)

// Micro-benchmarks of the rendering of Slack messages: an alert as it is
// posted and edited, and the lines of its thread. Nothing is sent. Run
// them with
//
//	go test -run '^$' -bench . -benchmem ./notify/slack/

var benchSince = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// benchEvent is an event of incident 42 of target shop, of kind k.
func benchEvent(k state.EventKind) state.Event {
	ev := state.Event{ID: 7, Kind: k, Target: "shop", TargetKind: "http", Address: "https://shop.example.com/health",
		IncidentID: 42, Time: benchSince.Add(4*time.Minute + 12*time.Second), Since: benchSince,
		Latency: 1200 * time.Millisecond, Cause: "HTTP 503 Service Unavailable"}
	switch k {
	case state.EventDown:
		ev.Reason = ev.Cause
	case state.EventAck:
		ev.Actor, ev.Reason, ev.AckedBy, ev.AckedAt = "alice", "on it", "alice", ev.Time
	case state.EventUp:
		ev.Duration = ev.Time.Sub(ev.Since)
	}
	return ev
}

// benchStorm is the DOWN of the 50th member of a storm of 50 led by
// incident 1: the group's alert edited to show it.
func benchStorm() state.Event {
	members := make([]state.GroupMember, 50)
	for i := range members {
		members[i] = state.GroupMember{Target: fmt.Sprintf("target-%02d", i), IncidentID: int64(i + 1),
			Status: state.StatusDown, Cause: "dial tcp 127.0.0.1:8080: connect: connection refused",
			Since: benchSince.Add(time.Duration(i) * time.Second)}
	}
	last := members[len(members)-1]
	return state.Event{ID: 60, Kind: state.EventDown, Target: last.Target, TargetKind: "http",
		Address: "http://127.0.0.1:8080/", IncidentID: last.IncidentID, Time: last.Since, Since: last.Since,
		Reason: last.Cause, Cause: last.Cause, Group: 1, Members: members}
}

// BenchmarkAlertMessage renders the alert (blocks and text) for a DOWN,
// its ACK's edit, its recovery's edit, and a grouped alert of 50.
func BenchmarkAlertMessage(b *testing.B) {
	for _, c := range []struct {
		name string
		ev   state.Event
	}{
		{"down", benchEvent(state.EventDown)},
		{"ack", benchEvent(state.EventAck)},
		{"up", benchEvent(state.EventUp)},
		{"group_of_50", benchStorm()},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				AlertMessage(c.ev)
			}
		})
	}
}

// BenchmarkReplyText renders the thread line of an ACK, of a recovery,
// and of a reminder of a group of 50.
func BenchmarkReplyText(b *testing.B) {
	remind := benchStorm()
	remind.Kind, remind.Reason, remind.Duration = state.EventRemind, "<!here>", 30*time.Minute
	for _, c := range []struct {
		name string
		ev   state.Event
	}{
		{"ack", benchEvent(state.EventAck)},
		{"up", benchEvent(state.EventUp)},
		{"remind_group_of_50", remind},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				ReplyText(c.ev, true)
			}
		})
	}
}
