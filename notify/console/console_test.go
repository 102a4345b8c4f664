package console

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tocsin/tocsin/state"
)

func TestLine(t *testing.T) {
	at := time.Date(2026, 11, 25, 12, 30, 0, 0, time.UTC)
	tests := []struct {
		name string
		ev   state.Event
		want string
	}{
		{"down", state.Event{Kind: state.EventDown, Target: "shop", Reason: "HTTP 503"}, "DOWN shop HTTP 503"},
		{"down held", state.Event{Kind: state.EventDown, Target: "db", Reason: "connection refused", Note: "(held: router)"},
			"DOWN db connection refused (held: router)"},
		{"down muted", state.Event{Kind: state.EventDown, Target: "web-1", Reason: "100% packet loss (3/3)", Note: "(muted)"},
			"DOWN web-1 100% packet loss (3/3) (muted)"},
		{"down multi-line reason", state.Event{Kind: state.EventDown, Target: "shop", Reason: "HTTP 500:\n\tinternal\r\nerror  \x1b[31m"},
			"DOWN shop HTTP 500: internal error [31m"},
		{"name with spaces", state.Event{Kind: state.EventDown, Target: "my shop\nx", Reason: "HTTP 503"}, "DOWN my_shop_x HTTP 503"},
		{"empty name", state.Event{Kind: state.EventDown, Reason: "x"}, "DOWN - x"},
		{"up", state.Event{Kind: state.EventUp, Target: "shop", Duration: 4*time.Minute + 12*time.Second + 400*time.Millisecond},
			"UP shop after 4m12s"},
		{"up rounds", state.Event{Kind: state.EventUp, Target: "shop", Duration: 1500 * time.Millisecond}, "UP shop after 2s"},
		{"up sub-second", state.Event{Kind: state.EventUp, Target: "shop", Duration: 300 * time.Millisecond}, "UP shop after 0s"},
		{"up zero", state.Event{Kind: state.EventUp, Target: "shop"}, "UP shop after 0s"},
		{"up note", state.Event{Kind: state.EventUp, Target: "shop", Duration: time.Minute, Note: "(muted)"}, "UP shop after 1m0s (muted)"},
		{"removed", state.Event{Kind: state.EventRemoved, Target: "shop", Duration: 4*time.Minute + 12*time.Second},
			"REMOVED shop removed from config after 4m12s"},
		{"ack reason", state.Event{Kind: state.EventAck, Target: "shop", Actor: "alice", Reason: "on it"}, "ACK shop by alice: on it"},
		{"ack", state.Event{Kind: state.EventAck, Target: "shop", Actor: "alice"}, "ACK shop by alice"},
		{"ack no actor", state.Event{Kind: state.EventAck, Target: "shop", Reason: "on it"}, "ACK shop: on it"},
		{"unack", state.Event{Kind: state.EventUnack, Target: "shop", Actor: "alice"}, "UNACK shop by alice"},
		{"remind", state.Event{Kind: state.EventRemind, Target: "shop", Duration: 30 * time.Minute}, "REMIND shop down for 30m0s"},
		{"remind since", state.Event{Kind: state.EventRemind, Target: "shop", Time: at, Since: at.Add(-30 * time.Minute)},
			"REMIND shop down for 30m0s"},
		{"escalate", state.Event{Kind: state.EventEscalate, Target: "shop", Time: at, Since: at.Add(-15 * time.Minute)},
			"ESCALATE shop down for 15m0s, not acknowledged"},
		{"mute", state.Event{Kind: state.EventMute, Target: "shop", Actor: "alice", Time: at, Duration: 30 * time.Minute},
			"MUTE shop by alice until 2026-11-25T13:00:00Z"},
		{"mute local time", state.Event{Kind: state.EventMute, Target: "shop", Actor: "alice",
			Time: at.In(time.FixedZone("CET", 3600)), Duration: 30 * time.Minute}, "MUTE shop by alice until 2026-11-25T13:00:00Z"},
		{"mute no duration", state.Event{Kind: state.EventMute, Target: "shop", Actor: "alice"}, "MUTE shop by alice"},
		{"unmute", state.Event{Kind: state.EventUnmute, Target: "shop", Actor: "alice"}, "UNMUTE shop by alice"},
		{"flapping", state.Event{Kind: state.EventFlapping, Target: "shop", Reason: "state changed 12 times in 21 checks"},
			"FLAPPING shop state changed 12 times in 21 checks"},
		{"flapping bare", state.Event{Kind: state.EventFlapping, Target: "shop"}, "FLAPPING shop"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Line(tt.ev); got != tt.want {
				t.Errorf("Line = %q, want %q", got, tt.want)
			}
		})
	}
}

// failWriter fails every write.
type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

func TestNotifierSteps(t *testing.T) {
	var b strings.Builder
	n := New(&b)
	down := state.Event{ID: 41, Kind: state.EventDown, Target: "shop", Reason: "HTTP 503"}
	up := state.Event{ID: 42, Kind: state.EventUp, Target: "shop", Duration: time.Minute}
	ctx := t.Context()

	ref, err := n.Post(ctx, down)
	if err != nil || ref != "console:41" {
		t.Fatalf("Post = %q, %v; want console:41, nil", ref, err)
	}
	if r, err := n.Reply(ctx, ref, up); err != nil || r != "console:42" {
		t.Fatalf("Reply = %q, %v; want console:42, nil", r, err)
	}
	if err := n.Edit(ctx, ref, up); err != nil {
		t.Fatalf("Edit = %v", err)
	}
	if got, want := b.String(), "DOWN shop HTTP 503\nUP shop after 1m0s\n"; got != want {
		t.Errorf("output = %q, want %q (Edit prints nothing)", got, want)
	}
	if n.Name() != "console" {
		t.Errorf("Name = %q", n.Name())
	}
}

func TestNotifierWriteError(t *testing.T) {
	n := New(failWriter{})
	ev := state.Event{ID: 1, Kind: state.EventDown, Target: "shop"}
	if _, err := n.Post(t.Context(), ev); err == nil || !strings.Contains(err.Error(), "broken pipe") {
		t.Errorf("Post = %v, want the write error", err)
	}
	if _, err := n.Reply(t.Context(), "", ev); err == nil {
		t.Error("Reply = nil, want the write error")
	}
}

// countingWriter records each Write call separately.
type countingWriter struct {
	mu     sync.Mutex
	writes []string
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes = append(w.writes, string(p))
	return len(p), nil
}

func TestNotifierConcurrent(t *testing.T) {
	w := &countingWriter{}
	n := New(w)
	const workers, each = 8, 50
	var wg sync.WaitGroup
	for g := range workers {
		wg.Go(func() {
			for i := range each {
				ev := state.Event{ID: int64(g*each + i), Kind: state.EventDown, Target: fmt.Sprintf("t%d", g), Reason: "x"}
				if _, err := n.Post(t.Context(), ev); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if len(w.writes) != workers*each {
		t.Fatalf("%d writes, want %d", len(w.writes), workers*each)
	}
	for _, s := range w.writes {
		if strings.Count(s, "\n") != 1 || !strings.HasSuffix(s, "\n") || !strings.HasPrefix(s, "DOWN t") {
			t.Errorf("write %q is not one whole line", s)
		}
	}
}
