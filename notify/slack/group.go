package slack

import (
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/tocsin/tocsin/notify"
	"github.com/tocsin/tocsin/state"
)

// group is a grouped alert (notify.Group) with this platform's rendering.
type group struct{ *notify.Group }

// groupOf returns the group of ev's alert; ok is false when ev's alert is
// its incident's alone (rendered as ever).
func groupOf(ev state.Event) (*group, bool) {
	g, ok := notify.GroupOf(ev)
	if !ok {
		return nil, false
	}
	return &group{g}, true
}

// AckAllActionID is the action_id of the Acknowledge all button of a
// grouped alert; its value is the incident id of the group's leader in
// decimal. tocsin's Slack bot adapter acknowledges every member of the
// group with it.
const AckAllActionID = "tocsin_ack_all"

// maxGroupLines is the most members a grouped alert lists, one a line; the
// others are counted in a last line ("… and 480 more (470 down, 10 up)").
const maxGroupLines = 20

// Limits of the parts of a member's line, in characters, so that a line
// stays short however long a name, a cause or a name's ack is.
const (
	maxLineTarget = 80
	maxLineCause  = 120
	maxLineActor  = 50
	maxListName   = 40  // a name in a list of names ("a, b, c, …")
	maxGroupNote  = 200 // ev's target and note in a grouped alert's context
)

// leaderCause is what failed for the leader.
func (g *group) leaderCause(ev state.Event) string {
	if g.IsLeader(ev) {
		if c := causeOf(ev); strings.TrimSpace(c) != "" {
			return c
		}
	}
	return g.Leader.Cause
}

// since is when the leader went down.
func (g *group) since(ev state.Event) time.Time {
	if g.Leader.Since.IsZero() && g.IsLeader(ev) {
		return ev.Since
	}
	return g.Leader.Since
}

// listed are the members the alert lists: all of them, or for a dependency
// group the leader's dependents; those still down first, each part in the
// group's order.
func (g *group) listed() []state.GroupMember {
	from := g.Members
	if g.Deps {
		from = from[1:]
	}
	out := make([]state.GroupMember, 0, len(from))
	for _, m := range from {
		if notify.IsDown(m) {
			out = append(out, m)
		}
	}
	for _, m := range from {
		if !notify.IsDown(m) {
			out = append(out, m)
		}
	}
	return out
}

// downOthers are the members other than the leader that are still down.
func (g *group) downOthers() []state.GroupMember {
	var out []state.GroupMember
	for _, m := range g.Members[1:] {
		if notify.IsDown(m) {
			out = append(out, m)
		}
	}
	return out
}

// downMembers are the members still down, in the group's order.
func (g *group) downMembers() []state.GroupMember {
	var out []state.GroupMember
	for _, m := range g.Members {
		if notify.IsDown(m) {
			out = append(out, m)
		}
	}
	return out
}

// longest is the group's outage as of ev: from the earliest start among
// its members to ev.Time, and at least ev's own (ev.Duration). For the
// group's last recovery it runs from its first DOWN to that recovery.
func (g *group) longest(ev state.Event) time.Duration {
	d := downFor(ev)
	if ev.Time.IsZero() {
		return d
	}
	for _, m := range g.Members {
		if m.Since.IsZero() {
			continue
		}
		d = max(d, ev.Time.Sub(m.Since))
	}
	return d
}

// ackedAllBy says whether who acknowledged the whole group: at least two
// members are down and who acknowledged every one of them.
func (g *group) ackedAllBy(who string) bool {
	if g.Down < 2 || who == "" {
		return false
	}
	for _, m := range g.Members {
		if notify.IsDown(m) && m.AckedBy != who {
			return false
		}
	}
	return true
}

// targets is "1 target", "12 targets".
func targets(n int) string {
	if n == 1 {
		return "1 target"
	}
	return strconv.Itoa(n) + " targets"
}

// moreLine is the last line of a member list that could not show them all:
// "… and 480 more (470 down, 10 up)".
func moreLine(rest []state.GroupMember) string {
	down := 0
	for _, m := range rest {
		if notify.IsDown(m) {
			down++
		}
	}
	var parts []string
	if down > 0 {
		parts = append(parts, strconv.Itoa(down)+" down")
	}
	if up := len(rest) - down; up > 0 {
		parts = append(parts, strconv.Itoa(up)+" up")
	}
	return "… and " + strconv.Itoa(len(rest)) + " more (" + strings.Join(parts, ", ") + ")"
}

// names lists the first n of ms's targets, "a, b, c, …", each clipped.
func names(ms []state.GroupMember, n int) string {
	var out []string
	for i, m := range ms {
		if i == n {
			out = append(out, "…")
			break
		}
		out = append(out, clip(escape(notify.OneLine(m.Target)), maxListName))
	}
	return strings.Join(out, ", ")
}

// title is the grouped alert's header after its emoji, plain text:
//
//	12 targets down
//	12 targets down, all acknowledged
//	DOWN router                  (a dependency group)
//	ACKNOWLEDGED router
//	All 12 targets up again
//
// and its emoji: red while a member is down and unacknowledged, yellow
// while every member down is acknowledged, green once all are up.
func (g *group) title() (emoji, title string) {
	leader := notify.OneLine(g.Leader.Target)
	switch {
	case g.Down == 0:
		return statusResolved.emoji, "All " + targets(len(g.Members)) + " up again"
	case g.Deps && g.Unacked == 0:
		return statusAcked.emoji, statusAcked.word + " " + leader
	case g.Deps:
		return statusDown.emoji, statusDown.word + " " + leader
	case g.Unacked == 0:
		return statusAcked.emoji, targets(g.Down) + " down, all acknowledged"
	}
	return statusDown.emoji, targets(g.Down) + " down"
}

// also is the line of a dependency group that names the dependents still
// down: "*Also unreachable:* 12 targets (a, b, c, …)"; "" when none is.
func (g *group) also() string {
	ds := g.downOthers()
	if len(ds) == 0 {
		return ""
	}
	return "*Also unreachable:* " + targets(len(ds)) + " (" + names(ds, 3) + ")"
}

// line is one member's line in the list:
//
//	:red_circle: *db*: dial tcp 127.0.0.1:5432: connection refused
//	:large_yellow_circle: *web-1*: HTTP 503 · acked by @bob
//	:large_green_circle: *web-2*: HTTP 502 · up again
//
// with "(held: router)" after the cause of a member held by a parent other
// than a dependency group's leader.
func (g *group) line(m state.GroupMember) string {
	mark := statusDown.emoji
	switch {
	case !notify.IsDown(m):
		mark = statusResolved.emoji
	case m.AckedBy != "":
		mark = statusAcked.emoji
	}
	s := mark + " *" + clip(escape(notify.OneLine(m.Target)), maxLineTarget) + "*"
	if c := notify.OneLine(m.Cause); c != "" {
		s += ": " + clip(escape(c), maxLineCause)
	}
	if h := notify.OneLine(m.HeldBy); h != "" && !g.Deps {
		s += " (held: " + clip(escape(h), maxLineTarget) + ")"
	}
	switch {
	case !notify.IsDown(m):
		s += " · up again"
	case m.AckedBy != "":
		s += " · acked " + clip(by(m.AckedBy), maxLineActor)
	}
	return s
}

// list is the member list, at most maxGroupLines lines (one more when that
// spares the count line), packed into sections of at most maxSectionText.
func (g *group) list() []slack.Block {
	ms := g.listed()
	n := len(ms)
	if n > maxGroupLines+1 {
		n = maxGroupLines
	}
	lines := make([]string, 0, n+1)
	for _, m := range ms[:n] {
		lines = append(lines, g.line(m))
	}
	if n < len(ms) {
		lines = append(lines, moreLine(ms[n:]))
	}
	var blocks []slack.Block
	var cur []string
	size := 0
	for _, l := range lines {
		l = clip(l, maxSectionText)
		w := len([]rune(l))
		if len(cur) > 0 && size+1+w > maxSectionText {
			blocks = append(blocks, section(strings.Join(cur, "\n")))
			cur, size = nil, 0
		}
		if len(cur) > 0 {
			size++
		}
		cur, size = append(cur, l), size+w
	}
	if len(cur) > 0 {
		blocks = append(blocks, section(strings.Join(cur, "\n")))
	}
	return blocks
}

// statusLines are the lines of a grouped alert's status section for ev,
// naming ev's target where the line is about it alone.
func (g *group) statusLines(ev state.Event) []string {
	target := escape(notify.OneLine(ev.Target))
	switch ev.Kind {
	case state.EventAck:
		who, at := ev.Actor, ev.AckedAt
		if who == "" {
			who = ev.AckedBy
		}
		if at.IsZero() {
			at = ev.Time
		}
		s := join("Acknowledged", target, by(who))
		if g.ackedAllBy(who) {
			s = join("Acknowledged", by(who), "(all "+targets(g.Down)+")")
		}
		if !at.IsZero() {
			s += " at " + date(at)
		}
		return []string{s}
	case state.EventUnack:
		return []string{join("Acknowledgement of", target, "withdrawn", by(ev.Actor))}
	case state.EventUp:
		if g.Down == 0 {
			return []string{"Resolved after " + seconds(g.longest(ev))}
		}
		return []string{target + " is up again after " + seconds(ev.Duration)}
	case state.EventRemoved:
		return []string{target + " was removed from the config after " + seconds(ev.Duration)}
	case state.EventMute:
		return []string{join("Muted", target, by(ev.Actor), until(ev))}
	case state.EventUnmute:
		return []string{join("Unmuted", target, by(ev.Actor))}
	}
	return nil
}

// text is the grouped alert as one line, for notifications:
//
//	12 targets down: shop, db, web-1, …
//	12 targets down, all acknowledged: shop, db, web-1, …
//	DOWN router: 100% packet loss (3/3) (also unreachable: 12 targets)
//	All 12 targets up again after 4m12s
func (g *group) text(ev state.Event) string {
	_, title := g.title()
	title = escape(title)
	switch {
	case g.Down == 0:
		return title + " after " + seconds(g.longest(ev))
	case g.Deps:
		s := title
		if c := notify.OneLine(g.leaderCause(ev)); c != "" {
			s += ": " + escape(c)
		}
		if ds := g.downOthers(); len(ds) > 0 {
			s += " (also unreachable: " + targets(len(ds)) + ")"
		}
		return s
	}
	return title + ": " + names(g.downMembers(), 10)
}

// groupAlert renders the alert of ev's group as it stands after ev (see
// AlertMessage).
func groupAlert(ev state.Event, g *group) Message {
	emoji, title := g.title()
	blocks := []slack.Block{slack.NewHeaderBlock(
		slack.NewTextBlockObject(slack.PlainTextType, clip(join(emoji, title), maxHeaderText), true, false))}
	if g.Deps {
		if c := multiLine(g.leaderCause(ev)); c != "" {
			blocks = append(blocks, section(clip("*What failed:* "+escape(c), maxSectionText)))
		}
		if a := g.also(); a != "" {
			blocks = append(blocks, section(clip(a, maxSectionText)))
		}
	}
	var fields []*slack.TextBlockObject
	if s := g.since(ev); !s.IsZero() {
		fields = append(fields, field("Since", date(s)))
	}
	if g.IsLeader(ev) {
		// Only the leader's own events carry its check.
		if check := strings.TrimSpace(notify.OneLine(string(ev.TargetKind)) + " " + notify.OneLine(ev.Address)); check != "" {
			fields = append(fields, field("Check", escape(check)))
		}
		if ev.Latency > 0 && notify.IsDown(g.Leader) && ev.Kind != state.EventUp && ev.Kind != state.EventRemoved {
			fields = append(fields, field("Latency", latency(ev.Latency)))
		}
	}
	if len(fields) > 0 {
		blocks = append(blocks, slack.NewSectionBlock(nil, fields, nil))
	}
	blocks = append(blocks, g.list()...)
	if lines := g.statusLines(ev); len(lines) > 0 {
		blocks = append(blocks, section(clip(strings.Join(lines, "\n"), maxSectionText)))
	}
	var buttons []slack.BlockElement
	if g.ID > 0 && notify.IsDown(g.Leader) && g.Leader.AckedBy == "" {
		buttons = append(buttons, AckButton(g.ID))
	}
	if g.ID > 0 && g.Unacked >= 2 {
		buttons = append(buttons, AckAllButton(g.ID))
	}
	if len(buttons) > 0 {
		blocks = append(blocks, slack.NewActionBlock(ackBlockID, buttons...))
	}
	ctx := "tocsin"
	if g.ID > 0 {
		ctx += " · incident " + strconv.FormatInt(g.ID, 10)
	}
	ctx += " · group of " + strconv.Itoa(len(g.Members))
	if n := notify.OneLine(ev.Note); n != "" {
		ctx += " · " + clip(escape(notify.OneLine(ev.Target)+" "+n), maxGroupNote)
	}
	blocks = append(blocks, slack.NewContextBlock("",
		slack.NewTextBlockObject(slack.MarkdownType, clip(ctx, maxSectionText), false, false)))
	if len(blocks) > maxBlocks {
		// Never with maxGroupLines lines; kept as a guard: the context
		// line stays last.
		blocks = append(blocks[:maxBlocks-1], blocks[len(blocks)-1])
	}
	return Message{Text: clip(g.text(ev), maxText), Blocks: blocks}
}

// AckAllButton is the Acknowledge all button of the group whose leader is
// incident id: action_id "tocsin_ack_all", value the id in decimal ("42").
func AckAllButton(id int64) *slack.ButtonBlockElement {
	value := strconv.FormatInt(id, 10)
	return slack.NewButtonBlockElement(AckAllActionID, value[:min(len(value), maxButtonValue)],
		slack.NewTextBlockObject(slack.PlainTextType, "Acknowledge all", true, false))
}

// groupReply renders a grouped event's thread line (see ReplyText). Which
// of them reach the thread is the dispatcher's decision: of a group's
// recoveries, only the last.
func groupReply(ev state.Event, g *group, threaded bool) string {
	target := escape(notify.OneLine(ev.Target))
	reason := escape(notify.OneLine(ev.Reason))
	colon := func(s, more string) string {
		if more == "" {
			return s
		}
		return s + ": " + more
	}
	var line string
	switch ev.Kind {
	case state.EventUp:
		if g.Down > 0 {
			// A member's own recovery; the dispatcher says only the
			// group's last in the thread, but the line stands alone.
			line = colon(target+" is up again after "+seconds(ev.Duration), reason)
			break
		}
		line = colon("All "+targets(len(g.Members))+" are up again (after "+seconds(g.longest(ev))+")", reason)
	case state.EventAck:
		who := ev.Actor
		if who == "" {
			who = ev.AckedBy
		}
		if g.ackedAllBy(who) {
			line = colon(join("Acknowledged", by(who), "(all "+targets(g.Down)+")"), reason)
			if !threaded {
				ds := g.downMembers()
				line = escape(notify.OneLine(ds[0].Target)) + " and " + strconv.Itoa(len(ds)-1) + " more: " + line
			}
		} else {
			line = colon(join("Acknowledged", target, by(ev.Actor)), reason)
		}
	case state.EventUnack:
		line = colon(join("Acknowledgement of", target, "withdrawn", by(ev.Actor)), reason)
	case state.EventMute:
		line = colon(join("Muted", target, by(ev.Actor), until(ev)), reason)
	case state.EventUnmute:
		line = colon(join("Unmuted", target, by(ev.Actor)), reason)
	case state.EventRemind, state.EventEscalate:
		if g.Down == 0 {
			return ReplyText(single(ev), threaded)
		}
		subject, have, what, long := g.subject(ev)
		if ev.Kind == state.EventRemind {
			line = join(mention(ev.Reason), colon("Reminder: "+subject+" "+have+" been down for "+seconds(long), what))
		} else {
			it := "it"
			if have == "have" {
				it = "them"
			}
			line = join(mention(ev.Reason), colon("Escalation: "+subject+" "+have+" been down for "+
				seconds(long)+" and nobody acknowledged "+it, what))
		}
	default:
		return ReplyText(single(ev), threaded)
	}
	line = join(line, escape(notify.OneLine(ev.Note)))
	return clip(line, maxText)
}

// pending are the members a reminder or an escalation is about: those down
// and unacknowledged, or, when every member down is acknowledged, all
// those down.
func (g *group) pending() []state.GroupMember {
	var out []state.GroupMember
	for _, m := range g.Members {
		if notify.IsDown(m) && m.AckedBy == "" {
			out = append(out, m)
		}
	}
	if len(out) == 0 {
		return g.downMembers()
	}
	return out
}

// subject is what a grouped reminder or escalation says is down, whether it
// takes "has" or "have", what follows the colon, and how long: a
// dependency group's leader and its cause (and how many it holds down);
// the one member pending and its cause; or "12 targets" and their names.
// The time is the longest outage among them, at least ev's own.
func (g *group) subject(ev state.Event) (subject, have, what string, long time.Duration) {
	ps := g.pending()
	long = downFor(ev)
	for _, m := range ps {
		if !m.Since.IsZero() && !ev.Time.IsZero() {
			long = max(long, ev.Time.Sub(m.Since))
		}
	}
	switch {
	case g.Deps:
		what = escape(notify.OneLine(g.leaderCause(ev)))
		if n := len(g.downOthers()); n > 0 {
			what = join(what, "(also unreachable: "+targets(n)+")")
		}
		return escape(notify.OneLine(g.Leader.Target)), "has", what, long
	case len(ps) == 1:
		cause := ps[0].Cause
		if ps[0].IncidentID == ev.IncidentID && strings.TrimSpace(cause) == "" {
			cause = causeOf(ev)
		}
		return escape(notify.OneLine(ps[0].Target)), "has", escape(notify.OneLine(cause)), long
	default:
		return targets(len(ps)), "have", names(ps, 5), long
	}
}

// single is ev without its group: rendered as an incident's own.
func single(ev state.Event) state.Event {
	ev.Group, ev.Members = 0, nil
	return ev
}
