package discord

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

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

// AckAllCustomIDPrefix starts the custom_id of the Acknowledge all button
// of a grouped alert; the incident id of the group's leader in decimal
// follows: "tocsin_ackall:42". tocsin's Discord bot adapter acknowledges
// every member of the group with it.
const AckAllCustomIDPrefix = "tocsin_ackall:"

// maxGroupLines is the most members a grouped alert lists, one a line; the
// others are counted in a last line ("… and 480 more (470 down, 10 up)").
const maxGroupLines = 20

// Limits of the parts of a member's line, in characters, so that a line
// stays short however long a name, a cause or a name's ack is.
const (
	maxLineTarget = 80
	maxLineCause  = 120
	maxLineActor  = 50
	maxListName   = 40   // a name in a list of names ("a, b, c, …")
	maxGroupCause = 1000 // a dependency group's leader's cause, code block included
	maxGroupNote  = 200  // ev's note in a grouped alert's footer
)

// The marks of a member's line.
const (
	markDown  = "🔴"
	markAcked = "🟡"
	markUp    = "🟢"
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

// single is ev without its group: rendered as an incident's own.
func single(ev state.Event) state.Event {
	ev.Group, ev.Members = 0, nil
	return ev
}

// title is the grouped alert's embed title:
//
//	12 targets down
//	12 targets down, all acknowledged
//	DOWN router                  (a dependency group)
//	ACKNOWLEDGED router
//	All 12 targets up again
//
// and its colour: red while a member is down and unacknowledged, amber
// while every member down is acknowledged, green once all are up.
func (g *group) title() (title string, color int) {
	leader := escape(notify.OneLine(g.Leader.Target))
	switch {
	case g.Down == 0:
		return "All " + targets(len(g.Members)) + " up again", colorResolved
	case g.Deps && g.Unacked == 0:
		return lookAcked.word + " " + leader, colorAcked
	case g.Deps:
		return lookDown.word + " " + leader, colorDown
	case g.Unacked == 0:
		return targets(g.Down) + " down, all acknowledged", colorAcked
	}
	return targets(g.Down) + " down", colorDown
}

// also is the line of a dependency group that names the dependents still
// down: "**Also unreachable:** 12 targets (a, b, c, …)"; "" when none is.
func (g *group) also() string {
	ds := g.downOthers()
	if len(ds) == 0 {
		return ""
	}
	return "**Also unreachable:** " + targets(len(ds)) + " (" + names(ds, 3) + ")"
}

// line is one member's line in the list:
//
//	🔴 **db**: dial tcp 127.0.0.1:5432: connection refused
//	🟡 **web-1**: HTTP 503 · acked by bob
//	🟢 **web-2**: HTTP 502 · up again
//
// with "(held: router)" after the cause of a member held by a parent other
// than a dependency group's leader.
func (g *group) line(m state.GroupMember) string {
	mark := markDown
	switch {
	case !notify.IsDown(m):
		mark = markUp
	case m.AckedBy != "":
		mark = markAcked
	}
	s := mark + " **" + clip(escape(notify.OneLine(m.Target)), maxLineTarget) + "**"
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

// description is a grouped alert's embed description in at most budget
// characters: a dependency group's leader's cause in a code block and its
// "Also unreachable" line, then the member list, at most maxGroupLines lines
// (one more when that spares the count line) and as many as fit, then
// "… and 480 more (470 down, 10 up)".
func (g *group) description(ev state.Event, budget int) string {
	var parts []string
	used := 0
	add := func(s string) {
		if len(parts) > 0 {
			used++
		}
		parts = append(parts, s)
		used += width(s)
	}
	if g.Deps {
		if c := multiLine(g.leaderCause(ev)); c != "" {
			add(codeBlock(c, min(maxGroupCause, budget/4)))
		}
		if a := g.also(); a != "" {
			add(clip(a, budget/4))
		}
	}
	// Room kept for the count line: "… and 9999 more (9999 down, 9999 up)".
	const reserve = 48
	ms := g.listed()
	limit := min(len(ms), maxGroupLines)
	if len(ms) == maxGroupLines+1 {
		limit = len(ms)
	}
	shown := 0
	for i, m := range ms[:limit] {
		l := g.line(m)
		need := 1 + width(l)
		if i < len(ms)-1 {
			need += 1 + reserve
		}
		if used+need > budget {
			break
		}
		add(l)
		shown++
	}
	if shown < len(ms) {
		add(moreLine(ms[shown:]))
	}
	return clip(strings.Join(parts, "\n"), budget)
}

// statusLines are the lines of a grouped alert's Status field for ev,
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

// text is the grouped alert as one line, the content sent in place of its
// embed when Discord refuses it:
//
//	12 targets down: shop, db, web-1, …
//	12 targets down, all acknowledged: shop, db, web-1, …
//	DOWN router: 100% packet loss (3/3) (also unreachable: 12 targets)
//	All 12 targets up again after 4m12s
func (g *group) text(ev state.Event) string {
	title, _ := g.title()
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
	title, color := g.title()
	e := &discordgo.MessageEmbed{Type: discordgo.EmbedTypeRich, Title: clip(title, maxTitle), Color: color}
	if !ev.Time.IsZero() {
		e.Timestamp = ev.Time.UTC().Format(time.RFC3339)
	}
	field := func(name, value string, inline bool) {
		if value != "" && len(e.Fields) < maxFields {
			e.Fields = append(e.Fields, &discordgo.MessageEmbedField{
				Name: clip(name, maxFieldName), Value: clip(value, maxFieldValue), Inline: inline})
		}
	}
	if s := g.since(ev); !s.IsZero() {
		field("Since", fmt.Sprintf("<t:%d:F> (<t:%d:R>)", s.Unix(), s.Unix()), true)
	}
	if g.IsLeader(ev) {
		// Only the leader's own events carry its check.
		field("Check", join(escape(notify.OneLine(string(ev.TargetKind))), codeSpan(ev.Address, maxFieldValue-20)), true)
		if ev.Latency > 0 && notify.IsDown(g.Leader) && ev.Kind != state.EventUp && ev.Kind != state.EventRemoved {
			field("Latency", latency(ev.Latency), true)
		}
	}
	field("Status", strings.Join(g.statusLines(ev), "\n"), false)
	footer := "tocsin"
	if g.ID > 0 {
		footer += " · incident " + strconv.FormatInt(g.ID, 10)
	}
	footer += " · group of " + strconv.Itoa(len(g.Members))
	if n := notify.OneLine(ev.Note); n != "" {
		// A footer is plain text: nothing to escape.
		footer += " · " + clipPlain(notify.OneLine(ev.Target)+" "+n, maxGroupNote)
	}
	e.Footer = &discordgo.MessageEmbedFooter{Text: clipPlain(footer, maxFooter)}
	e.Description = g.description(ev, min(maxDescription, maxEmbedTotal-embedLen(e)))

	msg := Message{
		Embeds:          []*discordgo.MessageEmbed{e},
		Components:      []discordgo.MessageComponent{},
		AllowedMentions: noMentions(),
	}
	var buttons []discordgo.MessageComponent
	if g.ID > 0 && notify.IsDown(g.Leader) && g.Leader.AckedBy == "" {
		buttons = append(buttons, AckButton(g.ID))
	}
	if g.ID > 0 && g.Unacked >= 2 {
		buttons = append(buttons, AckAllButton(g.ID))
	}
	if len(buttons) > 0 {
		msg.Components = append(msg.Components, discordgo.ActionsRow{Components: buttons})
	}
	return msg
}

// AckAllCustomID is the custom_id of the Acknowledge all button of the
// group whose leader is incident id, "tocsin_ackall:42".
func AckAllCustomID(id int64) string {
	s := AckAllCustomIDPrefix + strconv.FormatInt(id, 10)
	return s[:min(len(s), maxCustomID)]
}

// ParseAckAllCustomID returns the leader's incident id of an Acknowledge
// all button's custom_id; ok is false for any other custom_id.
func ParseAckAllCustomID(customID string) (id int64, ok bool) {
	s, found := strings.CutPrefix(customID, AckAllCustomIDPrefix)
	if !found {
		return 0, false
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 || strconv.FormatInt(id, 10) != s {
		return 0, false
	}
	return id, true
}

// AckAllButton is the Acknowledge all button of the group whose leader is
// incident id: grey, labelled "Acknowledge all", custom_id
// AckAllCustomID(id).
func AckAllButton(id int64) discordgo.Button {
	return discordgo.Button{Label: clip("Acknowledge all", maxLabel), Style: discordgo.SecondaryButton, CustomID: AckAllCustomID(id)}
}

// groupReply renders a grouped event's reply line and the mentions it may
// ping (see ReplyText). Which of them are sent is the dispatcher's
// decision: of a group's recoveries, only the last.
func groupReply(ev state.Event, g *group, threaded bool) (string, *discordgo.MessageAllowedMentions) {
	target := escape(notify.OneLine(ev.Target))
	reason := escape(notify.OneLine(ev.Reason))
	colon := func(s, more string) string {
		if more == "" {
			return s
		}
		return s + ": " + more
	}
	am := noMentions()
	var line string
	switch ev.Kind {
	case state.EventUp:
		if g.Down > 0 {
			// A member's own recovery; the dispatcher says only the
			// group's last in the reply chain, but the line stands alone.
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
			return replyText(single(ev), threaded)
		}
		var m string
		m, am = mention(ev.Reason)
		subject, have, what, long := g.subject(ev)
		if ev.Kind == state.EventRemind {
			line = join(m, colon("Reminder: "+subject+" "+have+" been down for "+seconds(long), what))
		} else {
			it := "it"
			if have == "have" {
				it = "them"
			}
			line = join(m, colon("Escalation: "+subject+" "+have+" been down for "+
				seconds(long)+" and nobody acknowledged "+it, what))
		}
	default:
		return replyText(single(ev), threaded)
	}
	line = join(line, escape(notify.OneLine(ev.Note)))
	return fixLineStart(clip(line, maxContent)), am
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
