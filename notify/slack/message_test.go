package slack

import (
	"encoding/json"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/tocsin/tocsin/state"
)

var (
	since = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC) // 1795608000
	at    = since.Add(4*time.Minute + 12*time.Second)      // 1795608252
)

// shopEvent is an event of incident 42 of target shop, of kind k.
func shopEvent(k state.EventKind) state.Event {
	return state.Event{
		ID: 7, Kind: k, Target: "shop", TargetKind: "http", Address: "https://shop.example.com/health",
		IncidentID: 42, Time: at, Since: since, Cause: "HTTP 503",
	}
}

// jsonEqual fails t unless got marshals to the same JSON value as want.
func jsonEqual(t *testing.T, got any, want string) {
	t.Helper()
	b, err := json.Marshal(got)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	var g, w any
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatalf("unmarshal got: %v", err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("unmarshal want: %v\n%s", err, want)
	}
	if !reflect.DeepEqual(g, w) {
		gi, _ := json.MarshalIndent(g, "", "  ")
		wi, _ := json.MarshalIndent(w, "", "  ")
		t.Errorf("JSON differs\ngot:  %s\nwant: %s", gi, wi)
	}
}

// Blocks that several expected messages share.
const (
	headerDown     = `{"type":"header","text":{"type":"plain_text","text":":red_circle: DOWN shop","emoji":true}}`
	failed503      = `{"type":"section","text":{"type":"mrkdwn","text":"*What failed:* HTTP 503"}}`
	sinceAndCheck  = `{"type":"section","fields":[{"type":"mrkdwn","text":"*Since*\n<!date^1795608000^{date_short_pretty} {time_secs}|2026-11-25 12:00:00 UTC>"},{"type":"mrkdwn","text":"*Check*\nhttp https://shop.example.com/health"}]}`
	ackButton42    = `{"type":"actions","block_id":"tocsin_actions","elements":[{"type":"button","text":{"type":"plain_text","text":"Acknowledge","emoji":true},"action_id":"tocsin_ack","value":"42","style":"primary"}]}`
	context42      = `{"type":"context","elements":[{"type":"mrkdwn","text":"tocsin · incident 42"}]}`
	ackedByAliceAt = `Acknowledged by @alice at <!date^1795608060^{date_short_pretty} {time_secs}|2026-11-25 12:01:00 UTC>`
)

func TestAlertMessage(t *testing.T) {
	tests := []struct {
		name string
		ev   func(ev *state.Event)
		want string
	}{
		{"down", func(ev *state.Event) {
			ev.Reason, ev.Latency = "HTTP 503", 12500*time.Microsecond
		}, `{"text":"DOWN shop: HTTP 503","blocks":[` + headerDown + `,` + failed503 + `,
			{"type":"section","fields":[
				{"type":"mrkdwn","text":"*Since*\n<!date^1795608000^{date_short_pretty} {time_secs}|2026-11-25 12:00:00 UTC>"},
				{"type":"mrkdwn","text":"*Check*\nhttp https://shop.example.com/health"},
				{"type":"mrkdwn","text":"*Latency*\n12.5 ms"}]},
			` + ackButton42 + `,` + context42 + `]}`},
		{"down: minimal, no incident id, no button", func(ev *state.Event) {
			*ev = state.Event{Kind: state.EventDown, Target: "db", Reason: "dial tcp 127.0.0.1:9: connection refused"}
		}, `{"text":"DOWN db: dial tcp 127.0.0.1:9: connection refused","blocks":[
			{"type":"header","text":{"type":"plain_text","text":":red_circle: DOWN db","emoji":true}},
			{"type":"section","text":{"type":"mrkdwn","text":"*What failed:* dial tcp 127.0.0.1:9: connection refused"}},
			{"type":"context","elements":[{"type":"mrkdwn","text":"tocsin"}]}]}`},
		{"down: note, escaped text", func(ev *state.Event) {
			ev.Reason, ev.Note, ev.Address = `body lacks "<ok> & more"`, "(held: router)", "https://shop.example.com/?a=1&b=<2>"
		}, `{"text":"DOWN shop: body lacks \"&lt;ok&gt; &amp; more\"","blocks":[` + headerDown + `,
			{"type":"section","text":{"type":"mrkdwn","text":"*What failed:* body lacks \"&lt;ok&gt; &amp; more\""}},
			{"type":"section","fields":[
				{"type":"mrkdwn","text":"*Since*\n<!date^1795608000^{date_short_pretty} {time_secs}|2026-11-25 12:00:00 UTC>"},
				{"type":"mrkdwn","text":"*Check*\nhttp https://shop.example.com/?a=1&amp;b=&lt;2&gt;"}]},
			` + ackButton42 + `,
			{"type":"context","elements":[{"type":"mrkdwn","text":"tocsin · incident 42 · (held: router)"}]}]}`},
		{"ack: who and when, cause kept, button gone", func(ev *state.Event) {
			ev.Kind, ev.Actor, ev.Reason, ev.AckedBy, ev.AckedAt = state.EventAck, "alice", "on it", "alice", since.Add(time.Minute)
		}, `{"text":"ACKNOWLEDGED shop: HTTP 503","blocks":[
			{"type":"header","text":{"type":"plain_text","text":":large_yellow_circle: ACKNOWLEDGED shop","emoji":true}},
			` + failed503 + `,` + sinceAndCheck + `,
			{"type":"section","text":{"type":"mrkdwn","text":"` + ackedByAliceAt + `"}},
			` + context42 + `]}`},
		{"ack by a Slack user id, at the event's time", func(ev *state.Event) {
			ev.Kind, ev.Actor = state.EventAck, "U0ALICE"
		}, `{"text":"ACKNOWLEDGED shop: HTTP 503","blocks":[
			{"type":"header","text":{"type":"plain_text","text":":large_yellow_circle: ACKNOWLEDGED shop","emoji":true}},
			` + failed503 + `,` + sinceAndCheck + `,
			{"type":"section","text":{"type":"mrkdwn","text":"Acknowledged by <@U0ALICE> at <!date^1795608252^{date_short_pretty} {time_secs}|2026-11-25 12:04:12 UTC>"}},
			` + context42 + `]}`},
		{"unack: red with the button again", func(ev *state.Event) {
			ev.Kind, ev.Actor = state.EventUnack, "alice"
		}, `{"text":"DOWN shop: HTTP 503","blocks":[` + headerDown + `,` + failed503 + `,` + sinceAndCheck + `,
			{"type":"section","text":{"type":"mrkdwn","text":"Acknowledgement withdrawn by @alice"}},
			` + ackButton42 + `,` + context42 + `]}`},
		{"up: resolved, cause and ack kept", func(ev *state.Event) {
			ev.Kind, ev.Duration, ev.Latency = state.EventUp, 4*time.Minute+12*time.Second+400*time.Millisecond, time.Millisecond
			ev.AckedBy, ev.AckedAt = "alice", since.Add(time.Minute)
		}, `{"text":"RESOLVED shop after 4m12s: HTTP 503","blocks":[
			{"type":"header","text":{"type":"plain_text","text":":large_green_circle: RESOLVED shop","emoji":true}},
			` + failed503 + `,` + sinceAndCheck + `,
			{"type":"section","text":{"type":"mrkdwn","text":"Resolved after 4m12s\n` + ackedByAliceAt + `"}},
			` + context42 + `]}`},
		{"up, never acknowledged", func(ev *state.Event) {
			ev.Kind, ev.Duration = state.EventUp, 90*time.Second
		}, `{"text":"RESOLVED shop after 1m30s: HTTP 503","blocks":[
			{"type":"header","text":{"type":"plain_text","text":":large_green_circle: RESOLVED shop","emoji":true}},
			` + failed503 + `,` + sinceAndCheck + `,
			{"type":"section","text":{"type":"mrkdwn","text":"Resolved after 1m30s"}},
			` + context42 + `]}`},
		{"removed", func(ev *state.Event) {
			ev.Kind, ev.Duration = state.EventRemoved, 4*time.Minute+12*time.Second
		}, `{"text":"REMOVED shop after 4m12s: HTTP 503","blocks":[
			{"type":"header","text":{"type":"plain_text","text":":white_circle: REMOVED shop","emoji":true}},
			` + failed503 + `,` + sinceAndCheck + `,
			{"type":"section","text":{"type":"mrkdwn","text":"Removed from the config after 4m12s"}},
			` + context42 + `]}`},
		{"mute, unacknowledged: button stays", func(ev *state.Event) {
			ev.Kind, ev.Actor, ev.Duration = state.EventMute, "alice", 30*time.Minute
		}, `{"text":"MUTED shop: HTTP 503","blocks":[
			{"type":"header","text":{"type":"plain_text","text":":no_bell: MUTED shop","emoji":true}},
			` + failed503 + `,` + sinceAndCheck + `,
			{"type":"section","text":{"type":"mrkdwn","text":"Muted by @alice until <!date^1795610052^{date_short_pretty} {time_secs}|2026-11-25 12:34:12 UTC>"}},
			` + ackButton42 + `,` + context42 + `]}`},
		{"mute, acknowledged: no button", func(ev *state.Event) {
			ev.Kind, ev.Actor, ev.AckedBy, ev.AckedAt = state.EventMute, "bob", "alice", since.Add(time.Minute)
		}, `{"text":"MUTED shop: HTTP 503","blocks":[
			{"type":"header","text":{"type":"plain_text","text":":no_bell: MUTED shop","emoji":true}},
			` + failed503 + `,` + sinceAndCheck + `,
			{"type":"section","text":{"type":"mrkdwn","text":"Muted by @bob\n` + ackedByAliceAt + `"}},
			` + context42 + `]}`},
		{"unmute, unacknowledged", func(ev *state.Event) {
			ev.Kind, ev.Actor = state.EventUnmute, "alice"
		}, `{"text":"DOWN shop: HTTP 503","blocks":[` + headerDown + `,` + failed503 + `,` + sinceAndCheck + `,
			{"type":"section","text":{"type":"mrkdwn","text":"Unmuted by @alice"}},
			` + ackButton42 + `,` + context42 + `]}`},
		{"remind of an acknowledged incident", func(ev *state.Event) {
			ev.Kind, ev.Reason, ev.AckedBy, ev.AckedAt = state.EventRemind, "<!here>", "alice", since.Add(time.Minute)
		}, `{"text":"ACKNOWLEDGED shop: HTTP 503","blocks":[
			{"type":"header","text":{"type":"plain_text","text":":large_yellow_circle: ACKNOWLEDGED shop","emoji":true}},
			` + failed503 + `,` + sinceAndCheck + `,
			{"type":"section","text":{"type":"mrkdwn","text":"` + ackedByAliceAt + `"}},
			` + context42 + `]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := shopEvent(state.EventDown)
			tt.ev(&ev)
			jsonEqual(t, AlertMessage(ev), tt.want)
		})
	}
}

func TestReplyText(t *testing.T) {
	tests := []struct {
		name     string
		ev       func(ev *state.Event)
		thread   string // threaded
		topLevel string // not threaded; "" = same as thread
		kind     state.EventKind
	}{
		{name: "up", kind: state.EventUp, ev: func(ev *state.Event) { ev.Duration = 4*time.Minute + 12*time.Second + 300*time.Millisecond },
			thread: "shop is up again after 4m12s"},
		{name: "up with note", kind: state.EventUp, ev: func(ev *state.Event) { ev.Duration, ev.Note = time.Minute, "(muted)" },
			thread: "shop is up again after 1m0s (muted)"},
		{name: "removed", kind: state.EventRemoved, ev: func(ev *state.Event) { ev.Duration = 4*time.Minute + 12*time.Second },
			thread: "shop was removed from the config after 4m12s"},
		{name: "ack", kind: state.EventAck, ev: func(ev *state.Event) { ev.Actor, ev.Reason = "alice", "looking into it" },
			thread: "Acknowledged by @alice: looking into it", topLevel: "shop: Acknowledged by @alice: looking into it"},
		{name: "ack, no reason, user id", kind: state.EventAck, ev: func(ev *state.Event) { ev.Actor = "U0ALICE" },
			thread: "Acknowledged by <@U0ALICE>", topLevel: "shop: Acknowledged by <@U0ALICE>"},
		{name: "ack, escaped", kind: state.EventAck, ev: func(ev *state.Event) { ev.Actor, ev.Reason = "@al<ice>", "db & <!channel>" },
			thread: "Acknowledged by @al&lt;ice&gt;: db &amp; &lt;!channel&gt;", topLevel: "shop: Acknowledged by @al&lt;ice&gt;: db &amp; &lt;!channel&gt;"},
		{name: "unack", kind: state.EventUnack, ev: func(ev *state.Event) { ev.Actor = "alice" },
			thread: "Acknowledgement withdrawn by @alice", topLevel: "shop: Acknowledgement withdrawn by @alice"},
		{name: "mute", kind: state.EventMute, ev: func(ev *state.Event) { ev.Actor, ev.Duration = "alice", 30*time.Minute },
			thread:   "Muted by @alice until <!date^1795610052^{date_short_pretty} {time_secs}|2026-11-25 12:34:12 UTC>",
			topLevel: "shop: Muted by @alice until <!date^1795610052^{date_short_pretty} {time_secs}|2026-11-25 12:34:12 UTC>"},
		{name: "mute, no duration", kind: state.EventMute, ev: func(ev *state.Event) { ev.Actor = "alice" },
			thread: "Muted by @alice", topLevel: "shop: Muted by @alice"},
		{name: "unmute", kind: state.EventUnmute, ev: func(ev *state.Event) { ev.Actor = "alice" },
			thread: "Unmuted by @alice", topLevel: "shop: Unmuted by @alice"},
		{name: "remind, duration from since", kind: state.EventRemind, ev: func(ev *state.Event) { ev.Reason = "<@U0ALICE>" },
			thread: "<@U0ALICE> Reminder: shop has been down for 4m12s: HTTP 503"},
		{name: "remind, nobody on call", kind: state.EventRemind, ev: func(ev *state.Event) { ev.Duration = 30 * time.Minute },
			thread: "Reminder: shop has been down for 30m0s: HTTP 503"},
		{name: "escalate to a group", kind: state.EventEscalate, ev: func(ev *state.Event) { ev.Reason = "<!subteam^S0ONCALL>" },
			thread: "<!subteam^S0ONCALL> Escalation: shop has been down for 4m12s and nobody acknowledged it: HTTP 503"},
		{name: "escalate to the channel, bare @here", kind: state.EventEscalate, ev: func(ev *state.Event) { ev.Reason = "@here <b> & co" },
			thread: "<!here> &lt;b&gt; &amp; co Escalation: shop has been down for 4m12s and nobody acknowledged it: HTTP 503"},
		{name: "flapping", kind: state.EventFlapping, ev: func(ev *state.Event) { ev.Reason = "state changed 12 times in 21 checks" },
			thread: ":warning: shop is flapping: state changed 12 times in 21 checks"},
		{name: "down", kind: state.EventDown, ev: func(ev *state.Event) { ev.Reason = "HTTP 503\n\tmore" },
			thread: "shop is down: HTTP 503 more"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := shopEvent(tt.kind)
			tt.ev(&ev)
			if got := ReplyText(ev, true); got != tt.thread {
				t.Errorf("threaded:\n got %q\nwant %q", got, tt.thread)
			}
			want := tt.topLevel
			if want == "" {
				want = tt.thread
			}
			if got := ReplyText(ev, false); got != want {
				t.Errorf("top-level:\n got %q\nwant %q", got, want)
			}
		})
	}
}

// entity matches what may follow an & in escaped text.
var entity = regexp.MustCompile(`&(amp|lt|gt);`)

// checkMrkdwn fails t if s is longer than limit characters or has a broken
// entity or token.
func checkMrkdwn(t *testing.T, what, s string, limit int) {
	t.Helper()
	if n := utf8.RuneCountInString(s); n > limit {
		t.Errorf("%s: %d characters, more than %d", what, n, limit)
	}
	if strings.Count(s, "&") != len(entity.FindAllString(s, -1)) {
		t.Errorf("%s: a broken entity in …%q", what, s[max(0, len(s)-40):])
	}
	if strings.Count(s, "<") != strings.Count(s, ">") {
		t.Errorf("%s: unbalanced < > in %q", what, s[max(0, len(s)-40):])
	}
}

// checkLimits fails t unless m keeps within Slack's limits.
func checkLimits(t *testing.T, m Message) {
	t.Helper()
	checkMrkdwn(t, "text", m.Text, maxText)
	if len(m.Blocks) > maxBlocks {
		t.Errorf("%d blocks", len(m.Blocks))
	}
	for i, b := range m.Blocks {
		switch b := b.(type) {
		case *slack.HeaderBlock:
			if n := utf8.RuneCountInString(b.Text.Text); n > maxHeaderText {
				t.Errorf("block %d: header of %d characters", i, n)
			}
		case *slack.SectionBlock:
			if b.Text != nil {
				checkMrkdwn(t, "section", b.Text.Text, maxSectionText)
			}
			for _, f := range b.Fields {
				checkMrkdwn(t, "field", f.Text, maxFieldText)
			}
		case *slack.ActionBlock:
			for _, e := range b.Elements.ElementSet {
				if btn, ok := e.(*slack.ButtonBlockElement); ok && len(btn.Value) > maxButtonValue {
					t.Errorf("block %d: button value of %d", i, len(btn.Value))
				}
			}
		case *slack.ContextBlock:
			for _, e := range b.ContextElements.Elements {
				if tx, ok := e.(*slack.TextBlockObject); ok {
					checkMrkdwn(t, "context", tx.Text, maxSectionText)
				}
			}
		}
	}
}

// hugeReason is a 10 KB multi-line reason full of characters to escape.
func hugeReason() string {
	var b strings.Builder
	for b.Len() < 10<<10 {
		b.WriteString("HTTP 500: <html> & body\r\n\tline ünïcödé ✓ &amp;\n")
	}
	return b.String()
}

func TestLimits(t *testing.T) {
	long := hugeReason()
	name := strings.Repeat("n", 200)
	for _, k := range []state.EventKind{state.EventDown, state.EventAck, state.EventUnack, state.EventUp,
		state.EventRemoved, state.EventMute, state.EventUnmute, state.EventRemind, state.EventEscalate, state.EventFlapping} {
		t.Run(string(k), func(t *testing.T) {
			ev := shopEvent(k)
			ev.Target, ev.Reason, ev.Cause, ev.Actor, ev.Note, ev.Address = name, long, long, long, long, long
			m := AlertMessage(ev)
			checkLimits(t, m)
			if !strings.HasSuffix(m.Text, "…") {
				t.Errorf("text not trimmed with …: %q", m.Text[len(m.Text)-20:])
			}
			if strings.Contains(m.Text, "\n") {
				t.Error("text is more than one line")
			}
			r := ReplyText(ev, true)
			checkMrkdwn(t, "reply", r, maxText)
			if !strings.HasSuffix(r, "…") || strings.Contains(r, "\n") {
				t.Errorf("reply not one trimmed line: …%q", r[max(0, len(r)-20):])
			}
		})
	}
	// The 10 KB reason keeps its first lines in the alert.
	ev := shopEvent(state.EventDown)
	ev.Reason = long
	sec := AlertMessage(ev).Blocks[1].(*slack.SectionBlock).Text.Text
	if !strings.HasPrefix(sec, "*What failed:* HTTP 500: &lt;html&gt; &amp; body\nline ünïcödé ✓ &amp;amp;\nHTTP 500") {
		t.Errorf("section starts %q", sec[:80])
	}
}

func TestClip(t *testing.T) {
	tests := []struct {
		in    string
		limit int
		want  string
	}{
		{"abc", 3, "abc"},
		{"abcd", 3, "ab…"},
		{"äöüß", 3, "äö…"},
		{"a &amp; b", 9, "a &amp; b"},
		{"a &amp; b", 8, "a &amp;…"},
		{"a &amp; b", 6, "a …"},
		{"x <!date^1^{time}|12:00 UTC> y", 10, "x …"},
		{"x <@U1> y", 8, "x <@U1>…"},
	}
	for _, tt := range tests {
		if got := clip(tt.in, tt.limit); got != tt.want {
			t.Errorf("clip(%q, %d) = %q, want %q", tt.in, tt.limit, got, tt.want)
		}
	}
}
