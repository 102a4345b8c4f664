package slack

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/tocsin/tocsin/state"
)

// Members of the grouped alerts of the tests: a storm led by shop
// (incident 42) and a dependency group led by router (incident 50).
var (
	shopM = state.GroupMember{Target: "shop", IncidentID: 42, Status: state.StatusDown, Cause: "HTTP 503", Since: since}
	dbM   = state.GroupMember{Target: "db", IncidentID: 43, Status: state.StatusDown,
		Cause: "dial tcp 127.0.0.1:5432: connection refused", Since: since.Add(10 * time.Second)}
	webM = state.GroupMember{Target: "web-1", IncidentID: 44, Status: state.StatusDown, Cause: "HTTP 502 <bad gateway>",
		Since: since.Add(20 * time.Second)}
	routerM = state.GroupMember{Target: "router", IncidentID: 50, Status: state.StatusDown, Cause: "100% packet loss (3/3)",
		Since: since}
)

// acked is m acknowledged by who; up is m recovered.
func acked(m state.GroupMember, who string) state.GroupMember { m.AckedBy = who; return m }
func up(m state.GroupMember) state.GroupMember                { m.Status = state.StatusUp; return m }

// held is m held by parent.
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

// Blocks that several expected grouped alerts share.
const (
	sinceOnly  = `{"type":"section","fields":[{"type":"mrkdwn","text":"*Since*\n<!date^1795608000^{date_short_pretty} {time_secs}|2026-11-25 12:00:00 UTC>"}]}`
	ack42      = `{"type":"button","text":{"type":"plain_text","text":"Acknowledge","emoji":true},"action_id":"tocsin_ack","value":"42","style":"primary"}`
	ackAll42   = `{"type":"button","text":{"type":"plain_text","text":"Acknowledge all","emoji":true},"action_id":"tocsin_ack_all","value":"42"}`
	ack50      = `{"type":"button","text":{"type":"plain_text","text":"Acknowledge","emoji":true},"action_id":"tocsin_ack","value":"50","style":"primary"}`
	ackAll50   = `{"type":"button","text":{"type":"plain_text","text":"Acknowledge all","emoji":true},"action_id":"tocsin_ack_all","value":"50"}`
	shopLine   = `:red_circle: *shop*: HTTP 503`
	dbLine     = `:red_circle: *db*: dial tcp 127.0.0.1:5432: connection refused`
	dbBobLine  = `:large_yellow_circle: *db*: dial tcp 127.0.0.1:5432: connection refused · acked by @bob`
	webLine    = `:red_circle: *web-1*: HTTP 502 &lt;bad gateway&gt;`
	webUpLine  = `:large_green_circle: *web-1*: HTTP 502 &lt;bad gateway&gt; · up again`
	context42g = `{"type":"context","elements":[{"type":"mrkdwn","text":"tocsin · incident 42 · group of 3"}]}`
)

// actions is the actions block of the buttons.
func actions(buttons ...string) string {
	return `{"type":"actions","block_id":"tocsin_actions","elements":[` + strings.Join(buttons, ",") + `]}`
}

// sectionOf is a section block of mrkdwn lines.
func sectionOf(lines ...string) string {
	b, _ := json.Marshal(strings.Join(lines, "\n"))
	return `{"type":"section","text":{"type":"mrkdwn","text":` + string(b) + `}}`
}

func TestGroupAlertMessage(t *testing.T) {
	tests := []struct {
		name string
		ev   state.Event
		want string
	}{
		{"storm: a member's DOWN joins the alert; two unacknowledged, both buttons",
			grouped(state.EventDown, dbM, shopM, dbM, webM),
			`{"text":"3 targets down: shop, db, web-1","blocks":[
				{"type":"header","text":{"type":"plain_text","text":":red_circle: 3 targets down","emoji":true}},
				` + sinceOnly + `,` + sectionOf(shopLine, dbLine, webLine) + `,
				` + actions(ack42, ackAll42) + `,` + context42g + `]}`},
		{"storm: down, acked and up; recovered last in the list, one unacknowledged: no Acknowledge all",
			func() state.Event {
				ev := grouped(state.EventUp, up(webM), shopM, acked(dbM, "bob"), up(webM))
				ev.Duration = 3*time.Minute + 52*time.Second
				return ev
			}(),
			`{"text":"2 targets down: shop, db","blocks":[
				{"type":"header","text":{"type":"plain_text","text":":red_circle: 2 targets down","emoji":true}},
				` + sinceOnly + `,` + sectionOf(shopLine, dbBobLine, webUpLine) + `,
				` + sectionOf("web-1 is up again after 3m52s") + `,
				` + actions(ack42) + `,` + context42g + `]}`},
		{"storm: the leader's own event shows its check; leader acked, two others not",
			func() state.Event {
				ev := grouped(state.EventAck, acked(shopM, "alice"), acked(shopM, "alice"), dbM, webM)
				ev.Actor, ev.AckedBy, ev.AckedAt = "alice", "alice", since.Add(time.Minute)
				return ev
			}(),
			`{"text":"3 targets down: shop, db, web-1","blocks":[
				{"type":"header","text":{"type":"plain_text","text":":red_circle: 3 targets down","emoji":true}},
				{"type":"section","fields":[
					{"type":"mrkdwn","text":"*Since*\n<!date^1795608000^{date_short_pretty} {time_secs}|2026-11-25 12:00:00 UTC>"},
					{"type":"mrkdwn","text":"*Check*\nhttp https://shop.example.com/"}]},
				` + sectionOf(`:large_yellow_circle: *shop*: HTTP 503 · acked by @alice`, dbLine, webLine) + `,
				` + sectionOf(`Acknowledged shop by @alice at <!date^1795608060^{date_short_pretty} {time_secs}|2026-11-25 12:01:00 UTC>`) + `,
				` + actions(ackAll42) + `,` + context42g + `]}`},
		{"storm: acknowledged all: yellow, no buttons",
			func() state.Event {
				ev := grouped(state.EventAck, acked(shopM, "bob"), acked(shopM, "bob"), acked(dbM, "bob"), up(webM))
				ev.Actor, ev.AckedBy, ev.AckedAt = "bob", "bob", since.Add(time.Minute)
				ev.TargetKind, ev.Address = "", ""
				return ev
			}(),
			`{"text":"2 targets down, all acknowledged: shop, db","blocks":[
				{"type":"header","text":{"type":"plain_text","text":":large_yellow_circle: 2 targets down, all acknowledged","emoji":true}},
				` + sinceOnly + `,
				` + sectionOf(`:large_yellow_circle: *shop*: HTTP 503 · acked by @bob`, dbBobLine, webUpLine) + `,
				` + sectionOf(`Acknowledged by @bob (all 2 targets) at <!date^1795608060^{date_short_pretty} {time_secs}|2026-11-25 12:01:00 UTC>`) + `,
				` + context42g + `]}`},
		{"storm: all up again: green, resolved after the group's outage",
			func() state.Event {
				ev := grouped(state.EventUp, up(dbM), up(shopM), up(acked(dbM, "bob")), up(webM))
				ev.Duration, ev.Note = 2*time.Minute, "(muted)"
				return ev
			}(),
			`{"text":"All 3 targets up again after 4m12s","blocks":[
				{"type":"header","text":{"type":"plain_text","text":":large_green_circle: All 3 targets up again","emoji":true}},
				` + sinceOnly + `,
				` + sectionOf(`:large_green_circle: *shop*: HTTP 503 · up again`,
				`:large_green_circle: *db*: dial tcp 127.0.0.1:5432: connection refused · up again`, webUpLine) + `,
				` + sectionOf("Resolved after 4m12s") + `,
				{"type":"context","elements":[{"type":"mrkdwn","text":"tocsin · incident 42 · group of 3 · db (muted)"}]}]}`},
		{"dependency group: DOWN router, also unreachable, the dependents listed",
			grouped(state.EventDown, held(webM, "router"), routerM, held(dbM, "router"), held(webM, "router"), held(shopM, "router")),
			`{"text":"DOWN router: 100% packet loss (3/3) (also unreachable: 3 targets)","blocks":[
				{"type":"header","text":{"type":"plain_text","text":":red_circle: DOWN router","emoji":true}},
				{"type":"section","text":{"type":"mrkdwn","text":"*What failed:* 100% packet loss (3/3)"}},
				{"type":"section","text":{"type":"mrkdwn","text":"*Also unreachable:* 3 targets (db, web-1, shop)"}},
				` + sinceOnly + `,` + sectionOf(dbLine, webLine, shopLine) + `,
				` + actions(ack50, ackAll50) + `,
				{"type":"context","elements":[{"type":"mrkdwn","text":"tocsin · incident 50 · group of 4"}]}]}`},
		{"dependency group, leader acknowledged, one dependent up: names only those down",
			func() state.Event {
				r := acked(routerM, "alice")
				ev := grouped(state.EventAck, r, r, held(dbM, "router"), up(held(webM, "router")), held(shopM, "router"))
				ev.Actor, ev.Reason, ev.Latency = "alice", "on it", time.Second
				return ev
			}(),
			`{"text":"DOWN router: 100% packet loss (3/3) (also unreachable: 2 targets)","blocks":[
				{"type":"header","text":{"type":"plain_text","text":":red_circle: DOWN router","emoji":true}},
				{"type":"section","text":{"type":"mrkdwn","text":"*What failed:* 100% packet loss (3/3)"}},
				{"type":"section","text":{"type":"mrkdwn","text":"*Also unreachable:* 2 targets (db, shop)"}},
				{"type":"section","fields":[
					{"type":"mrkdwn","text":"*Since*\n<!date^1795608000^{date_short_pretty} {time_secs}|2026-11-25 12:00:00 UTC>"},
					{"type":"mrkdwn","text":"*Check*\nhttp https://router.example.com/"},
					{"type":"mrkdwn","text":"*Latency*\n1000.0 ms"}]},
				` + sectionOf(dbLine, shopLine, webUpLine) + `,
				` + sectionOf(`Acknowledged router by @alice at <!date^1795608252^{date_short_pretty} {time_secs}|2026-11-25 12:04:12 UTC>`) + `,
				` + actions(ackAll50) + `,
				{"type":"context","elements":[{"type":"mrkdwn","text":"tocsin · incident 50 · group of 4"}]}]}`},
		{"dependency group, all acknowledged",
			func() state.Event {
				ev := grouped(state.EventMute, held(dbM, "router"), acked(routerM, "bob"), held(acked(dbM, "bob"), "router"))
				ev.Actor, ev.Duration = "alice", 30*time.Minute
				return ev
			}(),
			`{"text":"ACKNOWLEDGED router: 100% packet loss (3/3) (also unreachable: 1 target)","blocks":[
				{"type":"header","text":{"type":"plain_text","text":":large_yellow_circle: ACKNOWLEDGED router","emoji":true}},
				{"type":"section","text":{"type":"mrkdwn","text":"*What failed:* 100% packet loss (3/3)"}},
				{"type":"section","text":{"type":"mrkdwn","text":"*Also unreachable:* 1 target (db)"}},
				` + sinceOnly + `,` + sectionOf(dbBobLine) + `,
				` + sectionOf(`Muted db by @alice until <!date^1795610052^{date_short_pretty} {time_secs}|2026-11-25 12:34:12 UTC>`) + `,
				{"type":"context","elements":[{"type":"mrkdwn","text":"tocsin · incident 50 · group of 2"}]}]}`},
		{"a storm with a member held by another parent",
			grouped(state.EventDown, held(dbM, "core-sw"), shopM, held(dbM, "core-sw")),
			`{"text":"2 targets down: shop, db","blocks":[
				{"type":"header","text":{"type":"plain_text","text":":red_circle: 2 targets down","emoji":true}},
				` + sinceOnly + `,` + sectionOf(shopLine, dbLine+" (held: core-sw)") + `,
				` + actions(ack42, ackAll42) + `,
				{"type":"context","elements":[{"type":"mrkdwn","text":"tocsin · incident 42 · group of 2"}]}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := AlertMessage(tt.ev)
			jsonEqual(t, m, tt.want)
			checkLimits(t, m)
		})
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
		if ReplyText(ev, true) != ReplyText(lone, true) || ReplyText(ev, false) != ReplyText(lone, false) {
			t.Errorf("%s: a group of one replies %q", k, ReplyText(lone, true))
		}
	}
}

func TestGroupButtons(t *testing.T) {
	tests := []struct {
		name    string
		members []state.GroupMember
		want    []string // action_id=value
	}{
		{"two down, none acked", []state.GroupMember{shopM, dbM}, []string{"tocsin_ack=42", "tocsin_ack_all=42"}},
		{"leader acked, two others down", []state.GroupMember{acked(shopM, "a"), dbM, webM}, []string{"tocsin_ack_all=42"}},
		{"leader acked, one other down", []state.GroupMember{acked(shopM, "a"), dbM, up(webM)}, nil},
		{"leader down, the others acked or up", []state.GroupMember{shopM, acked(dbM, "a"), up(webM)}, []string{"tocsin_ack=42"}},
		{"leader up, two others down", []state.GroupMember{up(shopM), dbM, webM}, []string{"tocsin_ack_all=42"}},
		{"all acked", []state.GroupMember{acked(shopM, "a"), acked(dbM, "b")}, nil},
		{"all up", []state.GroupMember{up(shopM), up(dbM)}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := grouped(state.EventDown, tt.members[1], tt.members...)
			var got []string
			for _, b := range AlertMessage(ev).Blocks {
				if a, ok := b.(*slack.ActionBlock); ok {
					for _, e := range a.Elements.ElementSet {
						btn := e.(*slack.ButtonBlockElement)
						got = append(got, btn.ActionID+"="+btn.Value)
					}
				}
			}
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("buttons %v, want %v", got, tt.want)
			}
		})
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
			grouped(state.EventUp, up(webM), shopM, dbM, up(webM)), "web-1 is up again after 0s", "web-1 is up again after 0s"},
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
			}(), "Acknowledged by @bob (all 3 targets)", "shop and 2 more: Acknowledged by @bob (all 3 targets)"},
		{"acknowledged all that is down, one up, with a reason",
			func() state.Event {
				ev := grouped(state.EventAck, acked(shopM, "U0BOB"), acked(shopM, "U0BOB"), up(dbM), acked(webM, "U0BOB"))
				ev.Actor, ev.Reason = "U0BOB", "network team on it"
				return ev
			}(), "Acknowledged by <@U0BOB> (all 2 targets): network team on it",
			"shop and 1 more: Acknowledged by <@U0BOB> (all 2 targets): network team on it"},
		{"one member acknowledged",
			func() state.Event {
				ev := grouped(state.EventAck, acked(dbM, "bob"), storm...)
				ev.Actor = "bob"
				return ev
			}(), "Acknowledged db by @bob", ""},
		{"acknowledged by bob, another by alice before: one member",
			func() state.Event {
				ev := grouped(state.EventAck, acked(shopM, "bob"), acked(shopM, "bob"), acked(dbM, "alice"))
				ev.Actor = "bob"
				return ev
			}(), "Acknowledged shop by @bob", ""},
		{"unack", func() state.Event {
			ev := grouped(state.EventUnack, dbM, storm...)
			ev.Actor = "bob"
			return ev
		}(), "Acknowledgement of db withdrawn by @bob", ""},
		{"mute", func() state.Event {
			ev := grouped(state.EventMute, dbM, storm...)
			ev.Actor, ev.Duration = "alice", 30*time.Minute
			return ev
		}(), "Muted db by @alice until <!date^1795610052^{date_short_pretty} {time_secs}|2026-11-25 12:34:12 UTC>", ""},
		{"unmute", func() state.Event {
			ev := grouped(state.EventUnmute, dbM, storm...)
			ev.Actor = "alice"
			return ev
		}(), "Unmuted db by @alice", ""},
		{"reminder: the unacknowledged, the longest outage among them",
			func() state.Event {
				ev := grouped(state.EventRemind, webM, storm...)
				ev.Reason = "<@U0ALICE>"
				return ev
			}(), "<@U0ALICE> Reminder: 2 targets have been down for 4m12s: shop, web-1", ""},
		{"reminder: one unacknowledged",
			grouped(state.EventRemind, shopM, shopM, acked(dbM, "bob"), up(webM)),
			"Reminder: shop has been down for 4m12s: HTTP 503", ""},
		{"escalation",
			func() state.Event {
				ev := grouped(state.EventEscalate, shopM, storm...)
				ev.Reason = "@here"
				return ev
			}(), "<!here> Escalation: 2 targets have been down for 4m12s and nobody acknowledged them: shop, web-1", ""},
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
		}(), ":warning: db is flapping: state changed 12 times in 21 checks", ""},
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
}

// bigGroup is a group of n members with 200-character names and 10 KB
// causes full of characters to escape: every third one acknowledged, every
// tenth up; held by the leader when deps.
func bigGroup(n int, deps bool) []state.GroupMember {
	long := hugeReason()
	ms := make([]state.GroupMember, n)
	for i := range ms {
		m := state.GroupMember{
			Target: fmt.Sprintf("%03d-", i) + strings.Repeat("n", 196), IncidentID: int64(1000 + i),
			Status: state.StatusDown, Cause: long, Since: since.Add(time.Duration(i) * time.Second),
		}
		if i > 0 && i%3 == 0 {
			m.AckedBy = "<b>" + long
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
					checkLimits(t, m)
					if len(m.Blocks) > 12 {
						t.Errorf("%d blocks", len(m.Blocks))
					}
					if strings.Contains(m.Text, "\n") {
						t.Error("text is more than one line")
					}
					all := texts(blocksOf(t, fakeReq{Form: map[string][]string{"blocks": {mustJSON(t, m.Blocks)}}}))
					if n := strings.Count(all, "\n:red_circle: *") + strings.Count(all, "\n:large_yellow_circle: *") +
						strings.Count(all, "\n:large_green_circle: *"); n < maxGroupLines-2 || n > maxGroupLines {
						t.Errorf("%d member lines", n)
					}
					wantMore := "… and 480 more (431 down, 49 up)"
					if deps {
						wantMore = "… and 479 more (430 down, 49 up)"
					}
					if !strings.Contains(all, wantMore) {
						t.Errorf("no %q in\n%s", wantMore, all)
					}
					for _, r := range []string{ReplyText(ev, true), ReplyText(ev, false)} {
						checkMrkdwn(t, "reply", r, maxText)
						if strings.Contains(r, "\n") {
							t.Errorf("reply of more than one line: %q", r)
						}
					}
				})
			}
		}
	}
	// All up: the whole group counted, green.
	ms := bigGroup(500, false)
	for i := range ms {
		ms[i].Status = state.StatusUp
	}
	m := AlertMessage(grouped(state.EventUp, ms[3], ms...))
	checkLimits(t, m)
	if m.Text != "All 500 targets up again after 4m12s" {
		t.Errorf("text %q", m.Text)
	}
}

// mustJSON is v as JSON.
func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Every grouped line stays within its limits by characters, whatever the
// names: the header counts runes.
func TestGroupHeaderWidth(t *testing.T) {
	ms := bigGroup(3, true)
	ms[0].Target = strings.Repeat("ü", 300)
	for i := range ms[1:] {
		ms[i+1].HeldBy = ms[0].Target
	}
	h := AlertMessage(grouped(state.EventDown, ms[1], ms...)).Blocks[0].(*slack.HeaderBlock)
	if n := utf8.RuneCountInString(h.Text.Text); n != maxHeaderText || !strings.HasPrefix(h.Text.Text, ":red_circle: DOWN üü") {
		t.Errorf("header of %d: %q", n, h.Text.Text)
	}
}
