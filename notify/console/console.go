// Package console is the always-on notifier: one line per event on stdout,
// `EVENT NAME reason…`, as DESIGN.md gives it.
package console

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/tocsin/tocsin/notify"
	"github.com/tocsin/tocsin/state"
)

// Notifier writes event lines to an io.Writer. Safe for concurrent use.
type Notifier struct {
	mu sync.Mutex
	w  io.Writer
}

var _ notify.Notifier = (*Notifier)(nil)

// New returns a console notifier writing to w.
func New(w io.Writer) *Notifier {
	return &Notifier{w: w}
}

// Line renders ev as its console line, without the newline:
//
//	DOWN shop HTTP 503
//	UP shop after 4m12s
//	REMOVED shop removed from config after 4m12s
//	ACK shop by alice: on it
//	UNACK shop by alice
//	REMIND shop down for 30m0s
//	ESCALATE shop down for 15m0s, not acknowledged
//	MUTE shop by alice until 2026-11-25T13:00:00Z
//	UNMUTE shop by alice
//	FLAPPING shop <reason>
//
// ev.Note, when set, ends the line ("(muted)", "(held: router)"). The name
// is one word (whitespace becomes "_"), and whitespace and control
// characters in the rest collapse into single spaces, so an event is always
// exactly one line. Durations are rounded to the second. REMIND and
// ESCALATE take the time down from ev.Duration, or else from ev.Time −
// ev.Since; MUTE takes its end from ev.Time + ev.Duration (the mute's
// length), and leaves "until" out when Duration is 0.
func Line(ev state.Event) string {
	var b strings.Builder
	b.WriteString(word(string(ev.Kind)))
	b.WriteByte(' ')
	b.WriteString(word(ev.Target))
	add := func(parts ...string) {
		for _, p := range parts {
			if p = notify.OneLine(p); p != "" {
				b.WriteByte(' ')
				b.WriteString(p)
			}
		}
	}
	by := func() string {
		if a := notify.OneLine(ev.Actor); a != "" {
			return "by " + a
		}
		return ""
	}
	switch ev.Kind {
	case state.EventUp:
		add("after "+seconds(ev.Duration), ev.Reason)
	case state.EventRemoved:
		add("removed from config after "+seconds(ev.Duration), ev.Reason)
	case state.EventAck:
		switch who, why := by(), notify.OneLine(ev.Reason); {
		case who != "" && why != "":
			add(who + ": " + why)
		case why != "":
			// No actor: keep "ACK shop: reason" readable.
			b.WriteString(": " + why)
		default:
			add(who)
		}
	case state.EventUnack, state.EventUnmute:
		add(by(), ev.Reason)
	case state.EventMute:
		until := ""
		if ev.Duration > 0 {
			until = "until " + ev.Time.Add(ev.Duration).UTC().Format(time.RFC3339)
		}
		add(by(), until, ev.Reason)
	case state.EventRemind:
		add("down for " + seconds(downFor(ev)))
	case state.EventEscalate:
		add("down for " + seconds(downFor(ev)) + ", not acknowledged")
	default: // DOWN, FLAPPING and any later kind: the reason as given.
		add(ev.Reason)
	}
	add(ev.Note)
	return b.String()
}

// downFor is how long ev's target has been down.
func downFor(ev state.Event) time.Duration {
	if ev.Duration > 0 || ev.Since.IsZero() || ev.Time.IsZero() {
		return ev.Duration
	}
	return ev.Time.Sub(ev.Since)
}

// seconds formats d rounded to the second; never negative.
func seconds(d time.Duration) string {
	return max(d.Round(time.Second), 0).String()
}

// word makes s one word: notify.OneLine with "_" for the spaces, "-" when empty.
func word(s string) string {
	s = strings.ReplaceAll(notify.OneLine(s), " ", "_")
	if s == "" {
		return "-"
	}
	return s
}

// Name returns "console".
func (n *Notifier) Name() string { return "console" }

// Post writes ev's line and returns "console:<event id>". A write error is
// returned as is (the Dispatcher retries it).
func (n *Notifier) Post(ctx context.Context, ev state.Event) (notify.Ref, error) {
	if err := n.write(ev); err != nil {
		return "", err
	}
	return ref(ev), nil
}

// Edit writes nothing: every event is printed once, by Post or Reply,
// whatever steps the Dispatcher takes to deliver it.
func (n *Notifier) Edit(ctx context.Context, r notify.Ref, ev state.Event) error {
	return nil
}

// Reply writes ev's line (the console has no threads) and returns
// "console:<event id>". A write error is returned as is.
func (n *Notifier) Reply(ctx context.Context, r notify.Ref, ev state.Event) (notify.Ref, error) {
	if err := n.write(ev); err != nil {
		return "", err
	}
	return ref(ev), nil
}

func ref(ev state.Event) notify.Ref { return notify.Ref(fmt.Sprintf("console:%d", ev.ID)) }

// write writes ev's line in one Write call, so concurrent lines never mix.
func (n *Notifier) write(ev state.Event) error {
	line := Line(ev) + "\n"
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, err := io.WriteString(n.w, line); err != nil {
		return fmt.Errorf("console: %w", err)
	}
	return nil
}
