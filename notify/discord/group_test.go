package discord

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/tocsin/tocsin/notify"
	"github.com/tocsin/tocsin/state"
)

// Members of the grouped alerts of the tests: a storm led by shop
// (incident 42) and a dependency group led by router (incident 50).
var (
	shopM = state.GroupMember{Target: "shop", IncidentID: 42, Status: state.StatusDown, Cause: "HTTP 503", Since: since}
	dbM   = state.GroupMember{Target: "db", IncidentID: 43, Status: state.StatusDown,
		Cause: "dial tcp 127.0.0.1:5432: connection refused", Since: since.Add(10 * time.Second)}
	webM = state.GroupMember{Target: "web_1", IncidentID: 44, Status: state.StatusDown, Cause: "HTTP 502 <bad gateway>",
		Since: since.Add(20 * time.Second)}
	routerM = state.GroupMember{Target: "router", IncidentID: 50, Status: state.StatusDown, Cause: "100% packet loss (3/3)",
		Since: since}
)

// acked is m acknowledged by who; up is m recovered; held is m held by
// parent.
func acked(m state.GroupMember, who string) state.GroupMember   { m.AckedBy = who; return m }
func up(m state.GroupMember) state.GroupMember                  { m.Status = state.StatusUp; return m }
func held(m state.GroupMember, parent string) state.GroupMember { m.HeldBy = parent; return m }

// grouped is event 9 of kind k of member m of the group of members (the
// leader first), as the state package writes it.
func grouped(k state.EventKind, m state.GroupMember, members ...state.GroupMember) state.Event {
	ev := state.Event{
		ID: 9, Kind: k, Target: m.Target, TargetKind: "http", Address: "https://" + m.Target + ".example.com/",
		IncidentID: m.IncidentID, Time: at, Since: m.Since, Cause: m.Cause,
		Group: members[0].IncidentID, Members: members,
	}
	if k == state.EventDown {
		ev.Reason = m.Cause
	}
	return ev
}

// Parts that several expected grouped alerts share.
const (
	ack42     = `{"type":2,"label":"Acknowledge","style":4,"disabled":false,"custom_id":"tocsin_ack:42"}`
	ackAll42  = `{"type":2,"label":"Acknowledge all","style":2,"disabled":false,"custom_id":"tocsin_ackall:42"}`
	ack50     = `{"type":2,"label":"Acknowledge","style":4,"disabled":false,"custom_id":"tocsin_ack:50"}`
	ackAll50  = `{"type":2,"label":"Acknowledge all","style":2,"disabled":false,"custom_id":"tocsin_ackall:50"}`
	shopLine  = `🔴 **shop**: HTTP 503`
	dbLine    = `🔴 **db**: dial tcp 127.0.0.1:5432: connection refused`
	dbBobLine = `🟡 **db**: dial tcp 127.0.0.1:5432: connection refused · acked by bob`
	webLine   = `🔴 **web\\_1**: HTTP 502 \\<bad gateway\\>`
	webUpLine = `🟢 **web\\_1**: HTTP 502 \\<bad gateway\\> · up again`
	footer42g = `"footer":{"text":"tocsin · incident 42 · group of 3"}`
)

// row is the action row of the buttons, "[]" for none.
func row(buttons ...string) string {
	if len(buttons) == 0 {
		return `[]`
	}
	return `[{"type":1,"components":[` + strings.Join(buttons, ",") + `]}]`
}

// desc is the description of the lines.
func desc(lines ...string) string { return `"description":"` + strings.Join(lines, `\n`) + `"` }

// statusField is the Status field with value.
func statusField(value string) string { return `{"name":"Status","value":"` + value + `"}` }

func TestGroupAlertMessage(t *testing.T) {
	tests := []struct {
		name string
		ev   state.Event
		want string
	}{
		{"storm: a member's DOWN joins the alert; two unacknowledged, both buttons",
			grouped(state.EventDown, dbM, shopM, dbM, webM),
			`{"content":"","flags":0,` + noPings + `,"components":` + row(ack42, ackAll42) + `,"embeds":[{"type":"rich",
				"title":"3 targets down","color":15548997,` + desc(shopLine, dbLine, webLine) + `,` + stamp + `,` + footer42g + `,
				"fields":[` + sinceField + `]}]}`},
		{"storm: down, acked and up; recovered last in the list, one unacknowledged: no Acknowledge all",
			func() state.Event {
				ev := grouped(state.EventUp, up(webM), shopM, acked(dbM, "bob"), up(webM))
				ev.Duration = 3*time.Minute + 52*time.Second
				return ev
			}(),
			`{"content":"","flags":0,` + noPings + `,"components":` + row(ack42) + `,"embeds":[{"type":"rich",
				"title":"2 targets down","color":15548997,` + desc(shopLine, dbBobLine, webUpLine) + `,` + stamp + `,` + footer42g + `,
				"fields":[` + sinceField + `,` + statusField(`web\\_1 is up again after 3m52s`) + `]}]}`},
		{"storm: the leader's own event shows its check; leader acked, two others not",
			func() state.Event {
				ev := grouped(state.EventAck, acked(shopM, "alice"), acked(shopM, "alice"), dbM, webM)
				ev.Actor, ev.AckedBy, ev.AckedAt = "alice", "alice", since.Add(time.Minute)
				return ev
			}(),
			`{"content":"","flags":0,` + noPings + `,"components":` + row(ackAll42) + `,"embeds":[{"type":"rich",
				"title":"3 targets down","color":15548997,` + desc(`🟡 **shop**: HTTP 503 · acked by alice`, dbLine, webLine) + `,
				` + stamp + `,` + footer42g + `,
				"fields":[` + sinceField + `,{"name":"Check","value":"http ` + "`https://shop.example.com/`" + `","inline":true},
				` + statusField(`Acknowledged shop by alice at <t:1795608060:f>`) + `]}]}`},
		{"storm: acknowledged all: amber, no buttons",
			func() state.Event {
				ev := grouped(state.EventAck, acked(shopM, "bob"), acked(shopM, "bob"), acked(dbM, "bob"), up(webM))
				ev.Actor, ev.AckedBy, ev.AckedAt = "bob", "bob", since.Add(time.Minute)
				ev.TargetKind, ev.Address = "", ""
				return ev
			}(),
			`{"content":"","flags":0,` + noPings + `,"components":[],"embeds":[{"type":"rich",
				"title":"2 targets down, all acknowledged","color":15769632,
				` + desc(`🟡 **shop**: HTTP 503 · acked by bob`, dbBobLine, webUpLine) + `,` + stamp + `,` + footer42g + `,
				"fields":[` + sinceField + `,` + statusField(`Acknowledged by bob (all 2 targets) at <t:1795608060:f>`) + `]}]}`},
		{"storm: all up again: green, resolved after the group's outage",
			func() state.Event {
				ev := grouped(state.EventUp, up(dbM), up(shopM), up(acked(dbM, "bob")), up(webM))
				ev.Duration, ev.Note = 2*time.Minute, "(muted)"
				return ev
			}(),
			`{"content":"","flags":0,` + noPings + `,"components":[],"embeds":[{"type":"rich",
				"title":"All 3 targets up again","color":5763719,
				` + desc(`🟢 **shop**: HTTP 503 · up again`, `🟢 **db**: dial tcp 127.0.0.1:5432: connection refused · up again`, webUpLine) + `,
				` + stamp + `,"footer":{"text":"tocsin · incident 42 · group of 3 · db (muted)"},
				"fields":[` + sinceField + `,` + statusField(`Resolved after 4m12s`) + `]}]}`},
		{"dependency group: DOWN router, also unreachable, the dependents listed",
			grouped(state.EventDown, held(webM, "router"), routerM, held(dbM, "router"), held(webM, "router"), held(shopM, "router")),
			`{"content":"","flags":0,` + noPings + `,"components":` + row(ack50, ackAll50) + `,"embeds":[{"type":"rich",
				"title":"DOWN router","color":15548997,
				` + desc("```\\n100% packet loss (3/3)\\n```", `**Also unreachable:** 3 targets (db, web\\_1, shop)`, dbLine, webLine, shopLine) + `,
				` + stamp + `,"footer":{"text":"tocsin · incident 50 · group of 4"},
				"fields":[` + sinceField + `]}]}`},
		{"dependency group, leader acknowledged, one dependent up: names only those down",
			func() state.Event {
				r := acked(routerM, "alice")
				ev := grouped(state.EventAck, r, r, held(dbM, "router"), up(held(webM, "router")), held(shopM, "router"))
				ev.Actor, ev.Reason, ev.Latency = "alice", "on it", time.Second
				return ev
			}(),
			`{"content":"","flags":0,` + noPings + `,"components":` + row(ackAll50) + `,"embeds":[{"type":"rich",
				"title":"DOWN router","color":15548997,
				` + desc("```\\n100% packet loss (3/3)\\n```", `**Also unreachable:** 2 targets (db, shop)`, dbLine, shopLine, webUpLine) + `,
				` + stamp + `,"footer":{"text":"tocsin · incident 50 · group of 4"},
				"fields":[` + sinceField + `,{"name":"Check","value":"http ` + "`https://router.example.com/`" + `","inline":true},
				{"name":"Latency","value":"1000.0 ms","inline":true},
				` + statusField(`Acknowledged router by alice at <t:1795608252:f>`) + `]}]}`},
		{"dependency group, all acknowledged",
			func() state.Event {
				ev := grouped(state.EventMute, held(dbM, "router"), acked(routerM, "bob"), held(acked(dbM, "bob"), "router"))
				ev.Actor, ev.Duration = "alice", 30*time.Minute
				return ev
			}(),
			`{"content":"","flags":0,` + noPings + `,"components":[],"embeds":[{"type":"rich",
				"title":"ACKNOWLEDGED router","color":15769632,
				` + desc("```\\n100% packet loss (3/3)\\n```", `**Also unreachable:** 1 target (db)`, dbBobLine) + `,
				` + stamp + `,"footer":{"text":"tocsin · incident 50 · group of 2"},
				"fields":[` + sinceField + `,` + statusField(`Muted db by alice until <t:1795610052:f>`) + `]}]}`},
		{"a storm with a member held by another parent",
			grouped(state.EventDown, held(dbM, "core-sw"), shopM, held(dbM, "core-sw")),
			`{"content":"","flags":0,` + noPings + `,"components":` + row(ack42, ackAll42) + `,"embeds":[{"type":"rich",
				"title":"2 targets down","color":15548997,` + desc(shopLine, dbLine+" (held: core-sw)") + `,
				` + stamp + `,"footer":{"text":"tocsin · incident 42 · group of 2"},
				"fields":[` + sinceField + `]}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := AlertMessage(tt.ev)
			jsonEqual(t, m, tt.want)
			checkGroupLimits(t, m)
		})
	}
}

func TestGroupAlertText(t *testing.T) {
	tests := []struct {
		ev   state.Event
		want string
	}{
		{grouped(state.EventDown, dbM, shopM, dbM, up(webM)), "2 targets down: shop, db"},
		{grouped(state.EventAck, dbM, acked(shopM, "a"), acked(dbM, "b")), "2 targets down, all acknowledged: shop, db"},
		{grouped(state.EventDown, held(webM, "router"), routerM, held(webM, "router")),
			"DOWN router: 100% packet loss (3/3) (also unreachable: 1 target)"},
		{grouped(state.EventUp, up(webM), up(shopM), up(webM)), "All 2 targets up again after 4m12s"},
	}
	for _, tt := range tests {
		if got := AlertText(tt.ev); got != tt.want {
			t.Errorf("AlertText = %q, want %q", got, tt.want)
		}
	}
}

// A group of one is an incident's own alert, rendered as ever.
func TestGroupOfOne(t *testing.T) {
	for _, k := range []state.EventKind{state.EventDown, state.EventAck, state.EventUp, state.EventRemind, state.EventMute} {
		ev := shopEvent(k)
		ev.Actor, ev.Duration = "alice", time.Minute
		lone := ev
		lone.Group, lone.Members = 42, []state.GroupMember{shopM}
		a, _ := json.Marshal(AlertMessage(ev))
		b, _ := json.Marshal(AlertMessage(lone))
		if string(a) != string(b) {
			t.Errorf("%s: a group of one renders\n%s\nnot\n%s", k, b, a)
		}
		if AlertText(ev) != AlertText(lone) || ReplyText(ev, true) != ReplyText(lone, true) || ReplyText(ev, false) != ReplyText(lone, false) {
			t.Errorf("%s: a group of one replies %q", k, ReplyText(lone, true))
		}
	}
}

func TestGroupButtons(t *testing.T) {
	tests := []struct {
		name    string
		members []state.GroupMember
		want    []string // custom_ids
	}{
		{"two down, none acked", []state.GroupMember{shopM, dbM}, []string{"tocsin_ack:42", "tocsin_ackall:42"}},
		{"leader acked, two others down", []state.GroupMember{acked(shopM, "a"), dbM, webM}, []string{"tocsin_ackall:42"}},
		{"leader acked, one other down", []state.GroupMember{acked(shopM, "a"), dbM, up(webM)}, nil},
		{"leader down, the others acked or up", []state.GroupMember{shopM, acked(dbM, "a"), up(webM)}, []string{"tocsin_ack:42"}},
		{"leader up, two others down", []state.GroupMember{up(shopM), dbM, webM}, []string{"tocsin_ackall:42"}},
		{"all acked", []state.GroupMember{acked(shopM, "a"), acked(dbM, "b")}, nil},
		{"all up", []state.GroupMember{up(shopM), up(dbM)}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, c := range AlertMessage(grouped(state.EventDown, tt.members[1], tt.members...)).Components {
				for _, b := range c.(discordgo.ActionsRow).Components {
					got = append(got, b.(discordgo.Button).CustomID)
				}
			}
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("buttons %v, want %v", got, tt.want)
			}
		})
	}
}

func TestAckAllCustomID(t *testing.T) {
	if s := AckAllCustomID(42); s != "tocsin_ackall:42" {
		t.Errorf("AckAllCustomID(42) = %q", s)
	}
	for s, want := range map[string]int64{"tocsin_ackall:42": 42, "tocsin_ackall:042": 0, "tocsin_ackall:-1": 0,
		"tocsin_ack:42": 0, "tocsin_ackall:": 0, "tocsin_ackall:9223372036854775807": 1<<63 - 1} {
		if id, ok := ParseAckAllCustomID(s); id != want || ok != (want != 0) {
			t.Errorf("ParseAckAllCustomID(%q) = %d, %v", s, id, ok)
		}
	}
	if id, ok := ParseAckCustomID("tocsin_ackall:42"); ok {
		t.Errorf("ParseAckCustomID takes an Acknowledge all button: %d", id)
	}
}

func TestGroupReplyText(t *testing.T) {
	storm := []state.GroupMember{shopM, acked(dbM, "bob"), webM}
	tests := []struct {
		name     string
		ev       state.Event
		thread   string
		topLevel string // "" = same as thread
	}{
		{"a member's recovery before the last: its own line (the dispatcher keeps it from the thread)",
			grouped(state.EventUp, up(webM), shopM, dbM, up(webM)), "web\\_1 is up again after 0s", "web\\_1 is up again after 0s"},
		{"the last recovery: all up, after the group's outage",
			func() state.Event {
				ev := grouped(state.EventUp, up(webM), up(shopM), up(dbM), up(webM))
				ev.Duration = time.Minute
				return ev
			}(), "All 3 targets are up again (after 4m12s)", ""},
		{"the last recovery, its own outage the longest",
			func() state.Event {
				ev := grouped(state.EventUp, up(webM), up(shopM), up(webM))
				ev.Duration = time.Hour
				return ev
			}(), "All 2 targets are up again (after 1h0m0s)", ""},
		{"acknowledged all",
			func() state.Event {
				ev := grouped(state.EventAck, acked(shopM, "bob"), acked(shopM, "bob"), acked(dbM, "bob"), acked(webM, "bob"))
				ev.Actor = "bob"
				return ev
			}(), "Acknowledged by bob (all 3 targets)", "shop and 2 more: Acknowledged by bob (all 3 targets)"},
		{"acknowledged all that is down, one up, with a reason",
			func() state.Event {
				id := "123456789012345678"
				ev := grouped(state.EventAck, acked(shopM, id), acked(shopM, id), up(dbM), acked(webM, id))
				ev.Actor, ev.Reason = id, "network team on it"
				return ev
			}(), "Acknowledged by <@123456789012345678> (all 2 targets): network team on it",
			"shop and 1 more: Acknowledged by <@123456789012345678> (all 2 targets): network team on it"},
		{"one member acknowledged",
			func() state.Event {
				ev := grouped(state.EventAck, acked(dbM, "bob"), storm...)
				ev.Actor = "bob"
				return ev
			}(), "Acknowledged db by bob", ""},
		{"acknowledged by bob, another by alice before: one member",
			func() state.Event {
				ev := grouped(state.EventAck, acked(shopM, "bob"), acked(shopM, "bob"), acked(dbM, "alice"))
				ev.Actor = "bob"
				return ev
			}(), "Acknowledged shop by bob", ""},
		{"unack", func() state.Event {
			ev := grouped(state.EventUnack, webM, storm...)
			ev.Actor = "bob"
			return ev
		}(), `Acknowledgement of web\_1 withdrawn by bob`, ""},
		{"mute", func() state.Event {
			ev := grouped(state.EventMute, dbM, storm...)
			ev.Actor, ev.Duration = "alice", 30*time.Minute
			return ev
		}(), "Muted db by alice until <t:1795610052:f>", ""},
		{"unmute", func() state.Event {
			ev := grouped(state.EventUnmute, dbM, storm...)
			ev.Actor = "alice"
			return ev
		}(), "Unmuted db by alice", ""},
		{"reminder: the unacknowledged, the longest outage among them",
			func() state.Event {
				ev := grouped(state.EventRemind, webM, storm...)
				ev.Reason = "<@1111>"
				return ev
			}(), `<@1111> Reminder: 2 targets have been down for 4m12s: shop, web\_1`, ""},
		{"reminder: one unacknowledged",
			grouped(state.EventRemind, shopM, shopM, acked(dbM, "bob"), up(webM)),
			"Reminder: shop has been down for 4m12s: HTTP 503", ""},
		{"escalation",
			func() state.Event {
				ev := grouped(state.EventEscalate, shopM, storm...)
				ev.Reason = "<@&3333>"
				return ev
			}(), `<@&3333> Escalation: 2 targets have been down for 4m12s and nobody acknowledged them: shop, web\_1`, ""},
		{"reminder of a dependency group",
			grouped(state.EventRemind, routerM, routerM, held(dbM, "router"), held(webM, "router"), up(held(shopM, "router"))),
			"Reminder: router has been down for 4m12s: 100% packet loss (3/3) (also unreachable: 2 targets)", ""},
		{"escalation of a dependency group",
			grouped(state.EventEscalate, routerM, routerM, held(dbM, "router")),
			"Escalation: router has been down for 4m12s and nobody acknowledged it: 100% packet loss (3/3) (also unreachable: 1 target)", ""},
		{"removed member", func() state.Event {
			ev := grouped(state.EventRemoved, up(dbM), shopM, up(dbM))
			ev.Duration = time.Minute
			return ev
		}(), "db was removed from the config after 1m0s", ""},
		{"flapping member", func() state.Event {
			ev := grouped(state.EventFlapping, dbM, shopM, dbM)
			ev.Reason = "state changed 12 times in 21 checks"
			return ev
		}(), "⚠️ db is flapping: state changed 12 times in 21 checks", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ReplyText(tt.ev, true); got != tt.thread {
				t.Errorf("threaded:\n got %q\nwant %q", got, tt.thread)
			}
			want := tt.topLevel
			if want == "" {
				want = tt.thread
			}
			if got := ReplyText(tt.ev, false); got != want {
				t.Errorf("top-level:\n got %q\nwant %q", got, want)
			}
		})
	}
	// A grouped reminder pings whom its mention text names, and no one else.
	ev := grouped(state.EventEscalate, shopM, storm...)
	ev.Reason = "<@&3333> @everyone"
	m := ReplyMessage(ev, true)
	if got, _ := json.Marshal(m.AllowedMentions); string(got) != `{"parse":[],"roles":["3333"],"replied_user":false}` {
		t.Errorf("allowed_mentions %s", got)
	}
}

// checkGroupLimits fails t unless m, a grouped alert, keeps within
// Discord's limits.
func checkGroupLimits(t *testing.T, m Message) {
	t.Helper()
	checkText(t, "content", m.Content, maxContent)
	if len(m.Embeds) != 1 {
		t.Fatalf("%d embeds", len(m.Embeds))
	}
	e := m.Embeds[0]
	checkText(t, "title", e.Title, maxTitle)
	checkText(t, "description", e.Description, maxDescription)
	if n := strings.Count(e.Description, "```"); n != 0 && n != 2 {
		t.Errorf("description: %d code fences", n)
	}
	if len(e.Fields) > maxFields {
		t.Errorf("%d fields", len(e.Fields))
	}
	for _, f := range e.Fields {
		checkText(t, "field name", f.Name, maxFieldName)
		checkText(t, "field "+f.Name, f.Value, maxFieldValue)
	}
	if e.Footer != nil && width(e.Footer.Text) > maxFooter {
		t.Errorf("footer: %d characters", width(e.Footer.Text))
	}
	if n := embedLen(e); n > maxEmbedTotal {
		t.Errorf("embed: %d characters in all", n)
	}
	for _, c := range m.Components {
		r := c.(discordgo.ActionsRow)
		if len(r.Components) > 5 {
			t.Errorf("%d buttons in a row", len(r.Components))
		}
		for _, b := range r.Components {
			if b := b.(discordgo.Button); len(b.CustomID) > maxCustomID || width(b.Label) > maxLabel {
				t.Errorf("button %+v", b)
			}
		}
	}
}

// bigGroup is a group of n members with 200-character names and 10 KB
// causes full of markdown: every third one acknowledged, every tenth up;
// held by the leader when deps.
func bigGroup(n int, deps bool) []state.GroupMember {
	long := hugeReason()
	ms := make([]state.GroupMember, n)
	for i := range ms {
		m := state.GroupMember{
			Target: fmt.Sprintf("%03d-", i) + strings.Repeat("n", 196), IncidentID: int64(1000 + i),
			Status: state.StatusDown, Cause: long, Since: since.Add(time.Duration(i) * time.Second),
		}
		if i > 0 && i%3 == 0 {
			m.AckedBy = "**" + long
		}
		if i > 0 && i%10 == 0 {
			m.Status = state.StatusUp
		}
		if deps && i > 0 {
			m.HeldBy = ms[0].Target
		}
		ms[i] = m
	}
	return ms
}

func TestGroupLimits(t *testing.T) {
	long := hugeReason()
	for _, deps := range []bool{false, true} {
		ms := bigGroup(500, deps)
		for _, k := range []state.EventKind{state.EventDown, state.EventAck, state.EventUnack, state.EventUp,
			state.EventRemoved, state.EventMute, state.EventUnmute, state.EventRemind, state.EventEscalate, state.EventFlapping} {
			for _, who := range []int{0, 7} {
				t.Run(fmt.Sprintf("deps=%v/%s/member %d", deps, k, who), func(t *testing.T) {
					ev := grouped(k, ms[who], ms...)
					ev.Reason, ev.Actor, ev.Note, ev.Address, ev.Latency = long, long, long, long, time.Second
					m := AlertMessage(ev)
					checkGroupLimits(t, m)
					d := m.Embeds[0].Description
					if n := strings.Count(d, "\n🔴 **") + strings.Count(d, "\n🟡 **") + strings.Count(d, "\n🟢 **"); n < 8 || n > maxGroupLines {
						t.Errorf("%d member lines in\n%s", n, d)
					}
					if !strings.Contains(d, "\n… and 4") || !strings.HasSuffix(d, " up)") {
						t.Errorf("no count line at the end of\n%s", d)
					}
					for _, r := range []Message{ReplyMessage(ev, true), ReplyMessage(ev, false), PlainMessage(AlertText(ev))} {
						checkText(t, "content", r.Content, maxContent)
						if strings.Contains(r.Content, "\n") {
							t.Errorf("content of more than one line: %q", r.Content)
						}
					}
				})
			}
		}
	}
	// With short names and causes, 20 lines and the count.
	ms := make([]state.GroupMember, 500)
	for i := range ms {
		ms[i] = state.GroupMember{Target: fmt.Sprintf("t%03d", i), IncidentID: int64(1000 + i), Status: state.StatusDown, Cause: "HTTP 503"}
		if i > 0 && i%50 == 0 {
			ms[i].Status = state.StatusUp
		}
	}
	m := AlertMessage(grouped(state.EventDown, ms[1], ms...))
	checkGroupLimits(t, m)
	d := m.Embeds[0].Description
	if n := strings.Count(d, "\n"); n != maxGroupLines || !strings.HasSuffix(d, "\n… and 480 more (471 down, 9 up)") ||
		!strings.HasPrefix(d, "🔴 **t000**: HTTP 503\n🔴 **t001**: HTTP 503\n") {
		t.Errorf("description:\n%s", d)
	}
	if m.Embeds[0].Title != "491 targets down" {
		t.Errorf("title %q", m.Embeds[0].Title)
	}
	// Exactly one more than the lines: listed rather than counted.
	m = AlertMessage(grouped(state.EventDown, ms[1], ms[:maxGroupLines+1]...))
	if d := m.Embeds[0].Description; strings.Count(d, "\n") != maxGroupLines || strings.Contains(d, "more") {
		t.Errorf("description:\n%s", d)
	}
}

// In webhook mode, which cannot edit, a member's DOWN joining a group posts
// the group's alert as it now stands; other grouped edits do nothing.
func TestGroupWebhookEdit(t *testing.T) {
	f := &fakeDiscord{}
	n, _ := newTestNotifier(t, f, webhookMode)
	ctx := t.Context()
	ref := notify.Ref("222222222222222222/900000000000000001")
	if err := n.Edit(ctx, ref, grouped(state.EventDown, dbM, shopM, dbM)); err != nil {
		t.Fatal(err)
	}
	ack := grouped(state.EventAck, acked(dbM, "bob"), shopM, acked(dbM, "bob"))
	ack.Actor = "bob"
	if err := n.Edit(ctx, ref, ack); err != nil {
		t.Fatal(err)
	}
	if err := n.Edit(ctx, ref, grouped(state.EventUp, up(dbM), shopM, up(dbM))); err != nil {
		t.Fatal(err)
	}
	reqs := f.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	if s := reqs[0].text(); reqs[0].Method != "POST" || !strings.Contains(s, `"title":"2 targets down"`) || strings.Contains(s, "components") {
		t.Errorf("request: %s %s", reqs[0].Method, s)
	}
}
