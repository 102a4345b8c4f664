package discord

import (
	"encoding/json"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/tocsin/tocsin/state"
)

var (
	since = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC) // 1795608000
	at    = since.Add(4*time.Minute + 12*time.Second)      // 1795608252
)

// shopEvent is event 7 of incident 42 of target shop, of kind k.
func shopEvent(k state.EventKind) state.Event {
	return state.Event{
		ID: 7, Kind: k, Target: "shop", TargetKind: "http", Address: "https://shop.example.com/health",
		IncidentID: 42, Time: at, Since: since, Cause: "HTTP 503",
	}
}

// jsonEqual fails t unless got marshals to the same JSON value as want.
func jsonEqual(t *testing.T, got any, want string) {
	t.Helper()
	b, ok := got.([]byte)
	if !ok {
		var err error
		if b, err = json.Marshal(got); err != nil {
			t.Fatalf("marshal: %v", err)
		}
	}
	var g, w any
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatalf("unmarshal got: %v\n%s", err, b)
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

// Parts that several expected messages share.
const (
	sinceField   = `{"name":"Since","value":"<t:1795608000:F> (<t:1795608000:R>)","inline":true}`
	checkField   = `{"name":"Check","value":"http ` + "`https://shop.example.com/health`" + `","inline":true}`
	failed503    = `"description":"` + "```\\nHTTP 503\\n```" + `"`
	footer42     = `"footer":{"text":"tocsin · incident 42"}`
	stamp        = `"timestamp":"2026-11-25T12:04:12Z"`
	noPings      = `"allowed_mentions":{"parse":[],"replied_user":false}`
	ackButtonRow = `[{"type":1,"components":[{"type":2,"label":"Acknowledge","style":4,"disabled":false,"custom_id":"tocsin_ack:42"}]}]`
	ackedByAlice = `Acknowledged by alice at <t:1795608060:f>`
)

func TestAlertMessage(t *testing.T) {
	tests := []struct {
		name string
		ev   func(ev *state.Event)
		want string
	}{
		{"down", func(ev *state.Event) {
			ev.Reason, ev.Latency = "HTTP 503", 12500*time.Microsecond
		}, `{"content":"","flags":0,` + noPings + `,"components":` + ackButtonRow + `,"embeds":[{"type":"rich",
			"title":"DOWN shop","color":15548997,` + failed503 + `,` + stamp + `,` + footer42 + `,
			"fields":[` + sinceField + `,` + checkField + `,{"name":"Latency","value":"12.5 ms","inline":true}]}]}`},
		{"down: minimal, no incident id, no button", func(ev *state.Event) {
			*ev = state.Event{Kind: state.EventDown, Target: "db", Reason: "dial tcp 127.0.0.1:9: connection refused"}
		}, `{"content":"","flags":0,` + noPings + `,"components":[],"embeds":[{"type":"rich",
			"title":"DOWN db","color":15548997,"description":"` + "```\\ndial tcp 127.0.0.1:9: connection refused\\n```" + `",
			"footer":{"text":"tocsin"}}]}`},
		{"down: note, multi-line cause with backticks, odd address", func(ev *state.Event) {
			ev.Reason, ev.Note, ev.Address = "body lacks ```ok```\n  *bold* <@&1>", "(held: router)", "https://x/?a=`b`"
		}, `{"content":"","flags":0,` + noPings + `,"components":` + ackButtonRow + `,"embeds":[{"type":"rich",
			"title":"DOWN shop","color":15548997,
			"description":"` + "```\\nbody lacks `\u200b`\u200b`\u200bok`\u200b`\u200b`\u200b\\n*bold* <@&1>\\n```" + `",
			` + stamp + `,"footer":{"text":"tocsin · incident 42 · (held: router)"},
			"fields":[` + sinceField + `,{"name":"Check","value":"http ` + "`https://x/?a=ˋbˋ`" + `","inline":true}]}]}`},
		{"ack: who and when, cause kept, button gone", func(ev *state.Event) {
			ev.Kind, ev.Actor, ev.Reason, ev.AckedBy, ev.AckedAt = state.EventAck, "alice", "on it", "alice", since.Add(time.Minute)
		}, `{"content":"","flags":0,` + noPings + `,"components":[],"embeds":[{"type":"rich",
			"title":"ACKNOWLEDGED shop","color":15769632,` + failed503 + `,` + stamp + `,` + footer42 + `,
			"fields":[` + sinceField + `,` + checkField + `,{"name":"Status","value":"` + ackedByAlice + `"}]}]}`},
		{"ack by a Discord user id, at the event's time", func(ev *state.Event) {
			ev.Kind, ev.Actor = state.EventAck, "123456789012345678"
		}, `{"content":"","flags":0,` + noPings + `,"components":[],"embeds":[{"type":"rich",
			"title":"ACKNOWLEDGED shop","color":15769632,` + failed503 + `,` + stamp + `,` + footer42 + `,
			"fields":[` + sinceField + `,` + checkField + `,
			{"name":"Status","value":"Acknowledged by <@123456789012345678> at <t:1795608252:f>"}]}]}`},
		{"unack: red with the button again", func(ev *state.Event) {
			ev.Kind, ev.Actor = state.EventUnack, "alice"
		}, `{"content":"","flags":0,` + noPings + `,"components":` + ackButtonRow + `,"embeds":[{"type":"rich",
			"title":"DOWN shop","color":15548997,` + failed503 + `,` + stamp + `,` + footer42 + `,
			"fields":[` + sinceField + `,` + checkField + `,{"name":"Status","value":"Acknowledgement withdrawn by alice"}]}]}`},
		{"up: resolved, cause and ack kept", func(ev *state.Event) {
			ev.Kind, ev.Duration, ev.Latency = state.EventUp, 4*time.Minute+12*time.Second+400*time.Millisecond, time.Millisecond
			ev.AckedBy, ev.AckedAt = "alice", since.Add(time.Minute)
		}, `{"content":"","flags":0,` + noPings + `,"components":[],"embeds":[{"type":"rich",
			"title":"RESOLVED shop","color":5763719,` + failed503 + `,` + stamp + `,` + footer42 + `,
			"fields":[` + sinceField + `,` + checkField + `,{"name":"Status","value":"Resolved after 4m12s\n` + ackedByAlice + `"}]}]}`},
		{"removed", func(ev *state.Event) {
			ev.Kind, ev.Duration = state.EventRemoved, 4*time.Minute+12*time.Second
		}, `{"content":"","flags":0,` + noPings + `,"components":[],"embeds":[{"type":"rich",
			"title":"REMOVED shop","color":10070709,` + failed503 + `,` + stamp + `,` + footer42 + `,
			"fields":[` + sinceField + `,` + checkField + `,{"name":"Status","value":"Removed from the config after 4m12s"}]}]}`},
		{"mute, unacknowledged: button stays", func(ev *state.Event) {
			ev.Kind, ev.Actor, ev.Duration = state.EventMute, "alice", 30*time.Minute
		}, `{"content":"","flags":0,` + noPings + `,"components":` + ackButtonRow + `,"embeds":[{"type":"rich",
			"title":"MUTED shop","color":7634829,` + failed503 + `,` + stamp + `,` + footer42 + `,
			"fields":[` + sinceField + `,` + checkField + `,{"name":"Status","value":"Muted by alice until <t:1795610052:f>"}]}]}`},
		{"mute, acknowledged: no button", func(ev *state.Event) {
			ev.Kind, ev.Actor, ev.AckedBy, ev.AckedAt = state.EventMute, "bob", "alice", since.Add(time.Minute)
		}, `{"content":"","flags":0,` + noPings + `,"components":[],"embeds":[{"type":"rich",
			"title":"MUTED shop","color":7634829,` + failed503 + `,` + stamp + `,` + footer42 + `,
			"fields":[` + sinceField + `,` + checkField + `,{"name":"Status","value":"Muted by bob\n` + ackedByAlice + `"}]}]}`},
		{"unmute, unacknowledged", func(ev *state.Event) {
			ev.Kind, ev.Actor = state.EventUnmute, "alice"
		}, `{"content":"","flags":0,` + noPings + `,"components":` + ackButtonRow + `,"embeds":[{"type":"rich",
			"title":"DOWN shop","color":15548997,` + failed503 + `,` + stamp + `,` + footer42 + `,
			"fields":[` + sinceField + `,` + checkField + `,{"name":"Status","value":"Unmuted by alice"}]}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := shopEvent(state.EventDown)
			tt.ev(&ev)
			jsonEqual(t, AlertMessage(ev), tt.want)
		})
	}
}

func TestAlertText(t *testing.T) {
	tests := []struct {
		kind state.EventKind
		ev   func(*state.Event)
		want string
	}{
		{state.EventDown, func(ev *state.Event) { ev.Reason = "HTTP 503" }, "DOWN shop: HTTP 503"},
		{state.EventAck, func(ev *state.Event) {}, "ACKNOWLEDGED shop: HTTP 503"},
		{state.EventUp, func(ev *state.Event) { ev.Duration = 4*time.Minute + 12*time.Second }, "RESOLVED shop after 4m12s: HTTP 503"},
		{state.EventDown, func(ev *state.Event) { ev.Reason = "**x** @everyone <@1>" }, "DOWN shop: \\*\\*x\\*\\* @\u200beveryone \\<@1\\>"},
	}
	for _, tt := range tests {
		ev := shopEvent(tt.kind)
		tt.ev(&ev)
		if got := AlertText(ev); got != tt.want {
			t.Errorf("AlertText(%s) = %q, want %q", tt.kind, got, tt.want)
		}
	}
}

func TestReplyText(t *testing.T) {
	tests := []struct {
		name     string
		kind     state.EventKind
		ev       func(ev *state.Event)
		thread   string // threaded
		topLevel string // not threaded; "" = same as thread
	}{
		{name: "up", kind: state.EventUp, ev: func(ev *state.Event) { ev.Duration = 4*time.Minute + 12*time.Second + 300*time.Millisecond },
			thread: "shop is up again after 4m12s"},
		{name: "up with note", kind: state.EventUp, ev: func(ev *state.Event) { ev.Duration, ev.Note = time.Minute, "(muted)" },
			thread: "shop is up again after 1m0s (muted)"},
		{name: "removed", kind: state.EventRemoved, ev: func(ev *state.Event) { ev.Duration = 4*time.Minute + 12*time.Second },
			thread: "shop was removed from the config after 4m12s"},
		{name: "ack", kind: state.EventAck, ev: func(ev *state.Event) { ev.Actor, ev.Reason = "alice", "looking into it" },
			thread: "Acknowledged by alice: looking into it", topLevel: "shop: Acknowledged by alice: looking into it"},
		{name: "ack, no reason, user id", kind: state.EventAck, ev: func(ev *state.Event) { ev.Actor = "123456789012345678" },
			thread: "Acknowledged by <@123456789012345678>", topLevel: "shop: Acknowledged by <@123456789012345678>"},
		{name: "ack, escaped", kind: state.EventAck, ev: func(ev *state.Event) { ev.Actor, ev.Reason = "@al_ice_", "db ~~down~~ @here <@&1> [x](https://evil)" },
			thread:   `Acknowledged by al\_ice\_: db \~\~down\~\~ @` + "\u200b" + `here \<@&1\> \[x\](https://evil)`,
			topLevel: `shop: Acknowledged by al\_ice\_: db \~\~down\~\~ @` + "\u200b" + `here \<@&1\> \[x\](https://evil)`},
		{name: "ack, a link kept whole", kind: state.EventAck, ev: func(ev *state.Event) { ev.Actor, ev.Reason = "bob", "see https://wiki.example.com/run_book_1 *now*" },
			thread: `Acknowledged by bob: see https://wiki.example.com/run_book_1 \*now\*`, topLevel: `shop: Acknowledged by bob: see https://wiki.example.com/run_book_1 \*now\*`},
		{name: "unack", kind: state.EventUnack, ev: func(ev *state.Event) { ev.Actor = "alice" },
			thread: "Acknowledgement withdrawn by alice", topLevel: "shop: Acknowledgement withdrawn by alice"},
		{name: "mute", kind: state.EventMute, ev: func(ev *state.Event) { ev.Actor, ev.Duration = "alice", 30*time.Minute },
			thread: "Muted by alice until <t:1795610052:f>", topLevel: "shop: Muted by alice until <t:1795610052:f>"},
		{name: "mute, no duration", kind: state.EventMute, ev: func(ev *state.Event) { ev.Actor = "alice" },
			thread: "Muted by alice", topLevel: "shop: Muted by alice"},
		{name: "unmute", kind: state.EventUnmute, ev: func(ev *state.Event) { ev.Actor = "alice" },
			thread: "Unmuted by alice", topLevel: "shop: Unmuted by alice"},
		{name: "remind, duration from since", kind: state.EventRemind, ev: func(ev *state.Event) { ev.Reason = "<@1111>" },
			thread: "<@1111> Reminder: shop has been down for 4m12s: HTTP 503"},
		{name: "remind, nobody on call", kind: state.EventRemind, ev: func(ev *state.Event) { ev.Duration = 30 * time.Minute },
			thread: "Reminder: shop has been down for 30m0s: HTTP 503"},
		{name: "escalate to a role", kind: state.EventEscalate, ev: func(ev *state.Event) { ev.Reason = "<@&3333>" },
			thread: "<@&3333> Escalation: shop has been down for 4m12s and nobody acknowledged it: HTTP 503"},
		{name: "escalate to the channel", kind: state.EventEscalate, ev: func(ev *state.Event) { ev.Reason = "@here" },
			thread: "@here Escalation: shop has been down for 4m12s and nobody acknowledged it: HTTP 503"},
		{name: "flapping", kind: state.EventFlapping, ev: func(ev *state.Event) { ev.Reason = "state changed 12 times in 21 checks" },
			thread: "⚠️ shop is flapping: state changed 12 times in 21 checks"},
		{name: "down", kind: state.EventDown, ev: func(ev *state.Event) { ev.Reason = "HTTP 503\n\tmore" },
			thread: "shop is down: HTTP 503 more"},
		{name: "a target that looks like a list item", kind: state.EventUp, ev: func(ev *state.Event) { ev.Target, ev.Duration = "1.", time.Second },
			thread: `1\. is up again after 1s`},
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

// TestMentions: the mention text of a REMIND or ESCALATE pings exactly
// the users and roles it names (and @here, the escalation without on-call),
// never @everyone; every other message pings nobody.
func TestMentions(t *testing.T) {
	tests := []struct {
		name   string
		kind   state.EventKind
		reason string
		cause  string
		text   string
		am     string
	}{
		{"user and role", state.EventEscalate, "<@1111> <@!2222> <@&3333> <@1111>", "HTTP 503",
			"<@1111> <@!2222> <@&3333> <@1111> Escalation: shop has been down for 4m12s and nobody acknowledged it: HTTP 503",
			`{"parse":[],"users":["1111","2222"],"roles":["3333"],"replied_user":false}`},
		{"@here", state.EventRemind, "@here", "HTTP 503",
			"@here Reminder: shop has been down for 4m12s: HTTP 503",
			`{"parse":["everyone"],"replied_user":false}`},
		{"@here, and an @everyone in the cause", state.EventEscalate, "@here", "@everyone look @here",
			"@here Escalation: shop has been down for 4m12s and nobody acknowledged it: @\u200beveryone look @\u200bhere",
			`{"parse":["everyone"],"replied_user":false}`},
		{"@everyone is never a ping", state.EventEscalate, "@everyone <@&x>", "HTTP 503",
			"@\u200beveryone \\<@&x\\> Escalation: shop has been down for 4m12s and nobody acknowledged it: HTTP 503",
			`{"parse":[],"replied_user":false}`},
		{"ack reason with mentions", state.EventAck, "<@1111> @everyone", "",
			"Acknowledged: \\<@1111\\> @\u200beveryone",
			`{"parse":[],"replied_user":false}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := shopEvent(tt.kind)
			ev.Reason, ev.Cause = tt.reason, tt.cause
			m := ReplyMessage(ev, true)
			if m.Content != tt.text {
				t.Errorf("content:\n got %q\nwant %q", m.Content, tt.text)
			}
			jsonEqual(t, m.AllowedMentions, tt.am)
			if m.Flags != discordgo.MessageFlagsSuppressEmbeds || len(m.Embeds) != 0 || len(m.Components) != 0 {
				t.Errorf("not text alone with link previews off: %+v", m)
			}
		})
	}
}

func TestAckCustomID(t *testing.T) {
	if got := AckCustomID(42); got != "tocsin_ack:42" {
		t.Errorf("AckCustomID(42) = %q", got)
	}
	for s, want := range map[string]int64{
		"tocsin_ack:42": 42, "tocsin_ack:9223372036854775807": 9223372036854775807,
		"tocsin_ack:": 0, "tocsin_ack:042": 0, "tocsin_ack:-1": 0, "tocsin_ack:0": 0, "tocsin_ack:4x": 0, "other:42": 0,
	} {
		id, ok := ParseAckCustomID(s)
		if id != want || ok != (want != 0) {
			t.Errorf("ParseAckCustomID(%q) = %d, %v; want %d", s, id, ok, want)
		}
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
		{"ab😀cd", 4, "ab…"}, // 😀 counts twice, as in UTF-16
		{"ab😀cd", 5, "ab😀…"},
		{`a \* b`, 4, "a …"},
		{`a \\ b`, 5, `a \\…`},
		{"x <t:1795608000:f> y", 10, "x …"},
		{`x \<t:1 y`, 7, `x \<t:…`}, // an escaped < is no token
		{"x <@1> y", 7, "x <@1>…"},
		{"x <@1> y", 6, "x …"},
	}
	for _, tt := range tests {
		if got := clip(tt.in, tt.limit); got != tt.want {
			t.Errorf("clip(%q, %d) = %q, want %q", tt.in, tt.limit, got, tt.want)
		}
		if w := width(clip(tt.in, tt.limit)); w > tt.limit {
			t.Errorf("clip(%q, %d) is %d wide", tt.in, tt.limit, w)
		}
	}
}

// hugeReason is a 10 KB multi-line reason full of markdown and mentions.
func hugeReason() string {
	var b strings.Builder
	for b.Len() < 10<<10 {
		b.WriteString("HTTP 500: <html> **bold** `code` ```block``` @everyone <@&1>\r\n\tline ünïcödé ✓ 😀 |spoiler|\n")
	}
	return b.String()
}

// codeSpans matches code spans and blocks.
var codeSpans = regexp.MustCompile("(?s)```.*?```|`[^`]*`")

// checkText fails t if s is wider than limit or ends in a broken escape or
// token.
func checkText(t *testing.T, what, s string, limit int) {
	t.Helper()
	if n := width(s); n > limit {
		t.Errorf("%s: %d characters, more than %d", what, n, limit)
	}
	// Code is literal: no tokens in it.
	md := codeSpans.ReplaceAllString(strings.ReplaceAll(s, "\\`", ""), "")
	if i := lastToken(md); i >= 0 && !strings.Contains(md[i:], ">") {
		t.Errorf("%s: an unclosed token in …%q", what, s[max(0, len(s)-40):])
	}
	if strings.Contains(s, "@everyone") {
		t.Errorf("%s: a live @everyone", what)
	}
}

// checkLimits fails t unless m keeps within Discord's limits.
func checkLimits(t *testing.T, m Message) {
	t.Helper()
	checkText(t, "content", m.Content, maxContent)
	if len(m.Embeds) > 10 {
		t.Errorf("%d embeds", len(m.Embeds))
	}
	for _, e := range m.Embeds {
		checkText(t, "title", e.Title, maxTitle)
		checkText(t, "description", e.Description, maxDescription)
		if e.Description != "" && (!strings.HasPrefix(e.Description, "```\n") || !strings.HasSuffix(e.Description, "\n```") ||
			strings.Count(e.Description, "``") != 2) {
			t.Errorf("description is not one code block: …%q", e.Description[max(0, len(e.Description)-40):])
		}
		if len(e.Fields) > maxFields {
			t.Errorf("%d fields", len(e.Fields))
		}
		for _, f := range e.Fields {
			checkText(t, "field name", f.Name, maxFieldName)
			checkText(t, "field "+f.Name, f.Value, maxFieldValue)
			if strings.Count(f.Value, "`")-strings.Count(f.Value, "\\`") != 2*strings.Count(f.Value, "http `") {
				t.Errorf("field %s: an unclosed code span", f.Name)
			}
		}
		if e.Footer != nil && width(e.Footer.Text) > maxFooter {
			t.Errorf("footer: %d characters", width(e.Footer.Text))
		}
		if n := embedLen(e); n > maxEmbedTotal {
			t.Errorf("embed: %d characters in all", n)
		}
	}
	for _, c := range m.Components {
		for _, b := range c.(discordgo.ActionsRow).Components {
			if b := b.(discordgo.Button); len(b.CustomID) > maxCustomID || width(b.Label) > maxLabel {
				t.Errorf("button %+v", b)
			}
		}
	}
}

func TestLimits(t *testing.T) {
	long := hugeReason()
	name := strings.Repeat("n", 300)
	for _, k := range []state.EventKind{state.EventDown, state.EventAck, state.EventUnack, state.EventUp,
		state.EventRemoved, state.EventMute, state.EventUnmute, state.EventRemind, state.EventEscalate, state.EventFlapping} {
		t.Run(string(k), func(t *testing.T) {
			ev := shopEvent(k)
			ev.Target, ev.Reason, ev.Cause, ev.Actor, ev.Note, ev.Address, ev.AckedBy = name, long, long, long, long, long, long
			ev.TargetKind, ev.Latency = "http", time.Second
			m := AlertMessage(ev)
			checkLimits(t, m)
			e := m.Embeds[0]
			if !strings.HasSuffix(e.Description, "…\n```") {
				t.Errorf("description not trimmed with …: %q", e.Description[len(e.Description)-20:])
			}
			if !strings.HasSuffix(e.Title, "…") {
				t.Errorf("title not trimmed with …: %q", e.Title)
			}
			if embedLen(e) < maxEmbedTotal-10 {
				t.Errorf("embed uses %d of %d characters: the cause was cut more than needed", embedLen(e), maxEmbedTotal)
			}
			for _, r := range []Message{ReplyMessage(ev, true), ReplyMessage(ev, false), PlainMessage(AlertText(ev))} {
				checkLimits(t, r)
				if !strings.HasSuffix(r.Content, "…") || strings.Contains(r.Content, "\n") {
					t.Errorf("content not one trimmed line: …%q", r.Content[max(0, len(r.Content)-20):])
				}
			}
		})
	}
	// The 10 KB reason keeps its first lines in the alert.
	ev := shopEvent(state.EventDown)
	ev.Reason = long
	d := AlertMessage(ev).Embeds[0].Description
	if !strings.HasPrefix(d, "```\nHTTP 500: <html> **bold** `\u200bcode`\u200b `\u200b`\u200b`\u200bblock") ||
		!strings.Contains(d, "\nline ünïcödé ✓ 😀 |spoiler|\nHTTP 500") {
		t.Errorf("description starts %q", d[:120])
	}
}

func TestNonce(t *testing.T) {
	ev := shopEvent(state.EventDown)
	a, b := Nonce("tp", ev), Nonce("tp", ev)
	if a != b || !strings.HasPrefix(a, "tp7.") || len(a) > maxNonce {
		t.Errorf("Nonce = %q, %q", a, b)
	}
	if r := Nonce("tr", ev); r == a || !strings.HasPrefix(r, "tr7.") {
		t.Errorf("reply nonce %q, post nonce %q", r, a)
	}
	other := ev
	other.Target = "db" // a state file started afresh: the same id, another event
	if Nonce("tp", other) == a {
		t.Errorf("two events share nonce %q", a)
	}
	ev.ID = 1<<63 - 1
	if n := Nonce("tp", ev); len(n) > maxNonce {
		t.Errorf("Nonce = %q: %d characters", n, len(n))
	}
}
