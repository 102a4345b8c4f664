package notify

import (
	"context"

	"github.com/tocsin/tocsin/state"
)

// Mentions says how one chat platform mentions the people reminders and
// escalations are for, as the platform's own mention text.
type Mentions struct {
	// People maps a person of the on-call rotation (by name, as the state
	// package puts it in Event.Actor) to their mention ("<@U0ALICE>",
	// "<@1111>"). A person without an id on this platform is absent.
	People map[string]string
	// Escalate is the mention of oncall.escalate_to ("<!subteam^S0ONCALL>",
	// "<@&3333>"); "" when there is none for this platform.
	Escalate string
	// Everyone is the channel-wide mention ("<!here>", "@here"), the last
	// resort of an escalation.
	Everyone string
}

// For returns the mention a REMIND or ESCALATE event carries on this
// platform: a reminder mentions the person on call (ev.Actor), or nobody;
// an escalation mentions Escalate, else the person on call, else
// Everyone. Other events mention nobody.
func (m Mentions) For(ev state.Event) string {
	person := m.People[ev.Actor]
	switch ev.Kind {
	case state.EventRemind:
		return person
	case state.EventEscalate:
		switch {
		case m.Escalate != "":
			return m.Escalate
		case person != "":
			return person
		}
		return m.Everyone
	}
	return ""
}

// WithMentions returns n with each REMIND and ESCALATE event's Reason set
// to m.For(ev) before n sees it: the providers render Reason as the
// mention of those events in their platform's syntax. The returned
// Notifier keeps n's name (and so its outbox queue).
func WithMentions(n Notifier, m Mentions) Notifier {
	return &mentioning{n: n, m: m}
}

type mentioning struct {
	n Notifier
	m Mentions
}

func (w *mentioning) Name() string { return w.n.Name() }

func (w *mentioning) with(ev state.Event) state.Event {
	if ev.Kind == state.EventRemind || ev.Kind == state.EventEscalate {
		ev.Reason = w.m.For(ev)
	}
	return ev
}

func (w *mentioning) Post(ctx context.Context, ev state.Event) (Ref, error) {
	return w.n.Post(ctx, w.with(ev))
}

func (w *mentioning) Edit(ctx context.Context, ref Ref, ev state.Event) error {
	return w.n.Edit(ctx, ref, w.with(ev))
}

func (w *mentioning) Reply(ctx context.Context, ref Ref, ev state.Event) (Ref, error) {
	return w.n.Reply(ctx, ref, w.with(ev))
}
