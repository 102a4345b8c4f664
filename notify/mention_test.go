package notify

import (
	"context"
	"testing"

	"github.com/tocsin/tocsin/state"
)

func TestMentionsFor(t *testing.T) {
	full := Mentions{People: map[string]string{"alice": "<@A>"}, Escalate: "<@&ESC>", Everyone: "@here"}
	noEsc := Mentions{People: map[string]string{"alice": "<@A>"}, Everyone: "@here"}
	tests := []struct {
		name  string
		m     Mentions
		kind  state.EventKind
		actor string
		want  string
	}{
		{"reminder: the person on call", full, state.EventRemind, "alice", "<@A>"},
		{"reminder: nobody on call", full, state.EventRemind, "", ""},
		{"reminder: on call but no id here", full, state.EventRemind, "bob", ""},
		{"escalation: escalate_to first", full, state.EventEscalate, "alice", "<@&ESC>"},
		{"escalation: else the person on call", noEsc, state.EventEscalate, "alice", "<@A>"},
		{"escalation: else everyone", noEsc, state.EventEscalate, "", "@here"},
		{"other events: nobody", full, state.EventDown, "alice", ""},
	}
	for _, tc := range tests {
		if got := tc.m.For(state.Event{Kind: tc.kind, Actor: tc.actor}); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

// recordingNotifier keeps the events it is given.
type recordingNotifier struct{ got []state.Event }

func (r *recordingNotifier) Name() string { return "rec" }
func (r *recordingNotifier) Post(_ context.Context, ev state.Event) (Ref, error) {
	r.got = append(r.got, ev)
	return "p", nil
}
func (r *recordingNotifier) Edit(_ context.Context, _ Ref, ev state.Event) error {
	r.got = append(r.got, ev)
	return nil
}
func (r *recordingNotifier) Reply(_ context.Context, _ Ref, ev state.Event) (Ref, error) {
	r.got = append(r.got, ev)
	return "r", nil
}

func TestWithMentions(t *testing.T) {
	rec := &recordingNotifier{}
	n := WithMentions(rec, Mentions{People: map[string]string{"alice": "<@A>"}})
	if n.Name() != "rec" {
		t.Errorf("Name = %q: the queue must keep its name", n.Name())
	}
	ctx := context.Background()
	_, _ = n.Reply(ctx, "x", state.Event{Kind: state.EventRemind, Actor: "alice", Reason: "ignored"})
	_, _ = n.Post(ctx, state.Event{Kind: state.EventDown, Actor: "alice", Reason: "HTTP 503"})
	_ = n.Edit(ctx, "x", state.Event{Kind: state.EventAck, Actor: "alice", Reason: "on it"})
	want := []string{"<@A>", "HTTP 503", "on it"}
	for i, ev := range rec.got {
		if ev.Reason != want[i] {
			t.Errorf("event %d reason %q, want %q", i, ev.Reason, want[i])
		}
	}
}
