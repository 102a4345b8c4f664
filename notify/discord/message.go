package discord

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"

	"github.com/tocsin/tocsin/notify"
	"github.com/tocsin/tocsin/state"
)

// AckCustomIDPrefix starts the custom_id of the Acknowledge button on an
// alert; the incident id in decimal follows: "tocsin_ack:42". tocsin's
// Discord bot adapter acts on it.
const AckCustomIDPrefix = "tocsin_ack:"

// Discord's limits, in characters. Discord counts UTF-16 code units, so
// tocsin does too (a character outside the BMP counts twice). Everything
// tocsin sends is trimmed to them (ending in "…"), never rejected.
const (
	maxContent     = 2000 // a message's content
	maxTitle       = 256  // an embed's title
	maxDescription = 4096 // an embed's description
	maxFields      = 25   // fields of one embed
	maxFieldName   = 256
	maxFieldValue  = 1024
	maxFooter      = 2048
	maxEmbedTotal  = 6000 // title, description, field names and values, footer together
	maxCustomID    = 100  // a button's custom_id
	maxLabel       = 80   // a button's label
	maxNonce       = 25   // a message's nonce, as a string
	maxMentionIDs  = 100  // ids in allowed_mentions.users, and in .roles
)

// The colours of an alert's embed.
const (
	colorDown     = 0xED4245 // red
	colorAcked    = 0xF0A020 // amber
	colorResolved = 0x57F287 // green
	colorRemoved  = 0x99AAB5 // grey
	colorMuted    = 0x747F8D // dark grey
)

// Message is the body of one Discord call that creates or edits a message.
// Every field is always sent, so an edit replaces all of a message: its
// content, its embeds, its buttons. Text in it is Discord markdown with
// remote and user text escaped; allowed_mentions never lets it ping more
// than the mentions tocsin put there itself.
type Message struct {
	Content         string                            `json:"content"`
	Embeds          []*discordgo.MessageEmbed         `json:"embeds"`
	Components      []discordgo.MessageComponent      `json:"components"`
	AllowedMentions *discordgo.MessageAllowedMentions `json:"allowed_mentions"`
	// Flags is 0 or SUPPRESS_EMBEDS, which keeps Discord from previewing
	// the links in a text-only message. Sent on edits too, so an alert
	// edited back from its text-only form shows its embed again.
	Flags discordgo.MessageFlags `json:"flags"`
}

// noMentions lets a message ping nobody: no @everyone or @here, no user,
// no role, not even the author of the message replied to.
func noMentions() *discordgo.MessageAllowedMentions {
	return &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{}}
}

// PlainMessage is text alone: the form a message takes when Discord refuses
// its embed, so one bad render cannot stall the queue.
func PlainMessage(text string) Message {
	return Message{
		Content:         fixLineStart(clip(text, maxContent)),
		Embeds:          []*discordgo.MessageEmbed{},
		Components:      []discordgo.MessageComponent{},
		AllowedMentions: noMentions(),
		Flags:           discordgo.MessageFlagsSuppressEmbeds,
	}
}

// look is how an alert looks: its title word, colour, and whether the
// Acknowledge button is on it.
type look struct {
	word   string
	color  int
	button bool
}

var (
	lookDown     = look{"DOWN", colorDown, true}
	lookAcked    = look{"ACKNOWLEDGED", colorAcked, false}
	lookResolved = look{"RESOLVED", colorResolved, false}
	lookRemoved  = look{"REMOVED", colorRemoved, false}
)

// lookOf says how the alert of ev's incident looks after ev.
func lookOf(ev state.Event) look {
	switch ev.Kind {
	case state.EventUp:
		return lookResolved
	case state.EventRemoved:
		return lookRemoved
	case state.EventAck:
		return lookAcked
	case state.EventUnack:
		return lookDown
	case state.EventMute:
		return look{"MUTED", colorMuted, ev.AckedBy == ""}
	}
	if ev.AckedBy != "" {
		return lookAcked
	}
	return lookDown
}

// AlertMessage renders the alert of ev's incident as it stands after ev: the
// message a DOWN posts and every later edit replaces it with. It is one
// embed, no content:
//
//   - the colour: red down, amber acknowledged, dark grey muted, green
//     resolved, grey removed;
//   - the title: "DOWN shop", "ACKNOWLEDGED shop", "MUTED shop",
//     "RESOLVED shop", "REMOVED shop";
//   - the description: what failed (the incident's cause) in a code block;
//   - the fields Since (<t:…:F> and <t:…:R>), Check (kind and address),
//     Latency (while the incident is open) and Status (who acknowledged and
//     when, resolved or removed after how long, muted until when);
//   - the footer "tocsin · incident 42" and ev.Note; the timestamp ev.Time.
//
// While the incident is open, not acknowledged and has an id, an action row
// holds the Acknowledge button (custom_id AckCustomID). Every limit of
// Discord's is kept: a long cause is trimmed, never rejected.
//
// An event of a grouped alert (more than one Members) renders the group's
// alert instead, the same whichever member's event it is:
//
//   - the colour: red while a member is down and unacknowledged, amber
//     while every member down is acknowledged, green once all are up;
//   - the title: "12 targets down" (a storm), "DOWN router" (every other
//     member held by the leader), "12 targets down, all acknowledged",
//     "ACKNOWLEDGED router", "All 12 targets up again";
//   - the description: a dependency group's leader's cause in a code block
//     and "Also unreachable: 12 targets (a, b, c, …)"; then one line a
//     member (the dependents, for a dependency group), those still down
//     first: 🔴/🟡/🟢, the target, its cause, "acked by bob" or "up
//     again"; at most 20 lines and as many as fit, then
//     "… and 480 more (470 down, 10 up)";
//   - the fields: the leader's Since, its Check and Latency on its own
//     events, and Status: the event's line, naming its target ("Muted db
//     by alice"), "Resolved after 4m12s" once all are up;
//   - the footer: the leader's incident id, the group's size, ev's
//     target's note.
//
// Its buttons: Acknowledge (the leader's incident, while it is down and
// unacknowledged) and Acknowledge all (AckAllCustomID, while two or more
// members are down and unacknowledged).
func AlertMessage(ev state.Event) Message {
	if g, ok := groupOf(ev); ok {
		return groupAlert(ev, g)
	}
	lk := lookOf(ev)
	e := &discordgo.MessageEmbed{
		Type:  discordgo.EmbedTypeRich,
		Title: clip(join(lk.word, escape(notify.OneLine(ev.Target))), maxTitle),
		Color: lk.color,
	}
	if !ev.Time.IsZero() {
		e.Timestamp = ev.Time.UTC().Format(time.RFC3339)
	}
	field := func(name, value string, inline bool) {
		if value != "" && len(e.Fields) < maxFields {
			e.Fields = append(e.Fields, &discordgo.MessageEmbedField{
				Name: clip(name, maxFieldName), Value: clip(value, maxFieldValue), Inline: inline})
		}
	}
	if !ev.Since.IsZero() {
		field("Since", fmt.Sprintf("<t:%d:F> (<t:%d:R>)", ev.Since.Unix(), ev.Since.Unix()), true)
	}
	field("Check", join(escape(notify.OneLine(string(ev.TargetKind))), codeSpan(ev.Address, maxFieldValue-20)), true)
	if ev.Latency > 0 && ev.Kind != state.EventUp && ev.Kind != state.EventRemoved {
		// An UP's latency is the good check's, not the failure's.
		field("Latency", latency(ev.Latency), true)
	}
	field("Status", strings.Join(statusLines(ev), "\n"), false)
	footer := "tocsin"
	if ev.IncidentID > 0 {
		footer += " · incident " + strconv.FormatInt(ev.IncidentID, 10)
	}
	if n := notify.OneLine(ev.Note); n != "" {
		// A footer is plain text: no markdown, no mentions; nothing to escape.
		footer += " · " + n
	}
	e.Footer = &discordgo.MessageEmbedFooter{Text: clipPlain(footer, maxFooter)}

	// The cause gets what the rest leaves of the embed's total.
	if c := multiLine(causeOf(ev)); c != "" {
		budget := min(maxDescription, maxEmbedTotal-embedLen(e))
		e.Description = codeBlock(c, budget)
	}

	msg := Message{
		Embeds:          []*discordgo.MessageEmbed{e},
		Components:      []discordgo.MessageComponent{},
		AllowedMentions: noMentions(),
	}
	if lk.button && ev.IncidentID > 0 {
		msg.Components = append(msg.Components, discordgo.ActionsRow{
			Components: []discordgo.MessageComponent{AckButton(ev.IncidentID)},
		})
	}
	return msg
}

// AlertText is the alert of ev's incident as one line of text, like
//
//	DOWN shop: HTTP 503
//	ACKNOWLEDGED shop: HTTP 503
//	RESOLVED shop after 4m12s: HTTP 503
//
// the content sent in place of the embed when Discord refuses it. A
// grouped alert's is "12 targets down: shop, db, …", "DOWN router: 100%
// packet loss (3/3) (also unreachable: 12 targets)", "All 12 targets up
// again after 4m12s".
func AlertText(ev state.Event) string {
	if g, ok := groupOf(ev); ok {
		return clip(g.text(ev), maxContent)
	}
	var b strings.Builder
	b.WriteString(join(lookOf(ev).word, escape(notify.OneLine(ev.Target))))
	if ev.Kind == state.EventUp || ev.Kind == state.EventRemoved {
		b.WriteString(" after " + seconds(ev.Duration))
	}
	if c := notify.OneLine(causeOf(ev)); c != "" {
		b.WriteString(": " + escape(c))
	}
	return clip(b.String(), maxContent)
}

// AckCustomID is the custom_id of incident id's Acknowledge button,
// "tocsin_ack:42".
func AckCustomID(id int64) string {
	s := AckCustomIDPrefix + strconv.FormatInt(id, 10)
	return s[:min(len(s), maxCustomID)]
}

// ParseAckCustomID returns the incident id of an Acknowledge button's
// custom_id; ok is false for any other custom_id.
func ParseAckCustomID(customID string) (id int64, ok bool) {
	s, found := strings.CutPrefix(customID, AckCustomIDPrefix)
	if !found {
		return 0, false
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 || strconv.FormatInt(id, 10) != s {
		return 0, false
	}
	return id, true
}

// AckButton is the Acknowledge button of incident id: red, labelled
// "Acknowledge", custom_id AckCustomID(id).
func AckButton(id int64) discordgo.Button {
	return discordgo.Button{Label: clip("Acknowledge", maxLabel), Style: discordgo.DangerButton, CustomID: AckCustomID(id)}
}

// statusLines are the lines of an alert's Status field for ev.
func statusLines(ev state.Event) []string {
	var lines []string
	acked := func() {
		if ev.AckedBy != "" {
			lines = append(lines, ackLine(ev.AckedBy, ev.AckedAt))
		}
	}
	switch ev.Kind {
	case state.EventAck:
		who, at := ev.Actor, ev.AckedAt
		if who == "" {
			who = ev.AckedBy
		}
		if at.IsZero() {
			at = ev.Time
		}
		lines = append(lines, ackLine(who, at))
	case state.EventUnack:
		lines = append(lines, join("Acknowledgement withdrawn", by(ev.Actor)))
	case state.EventUp:
		lines = append(lines, "Resolved after "+seconds(ev.Duration))
		acked()
	case state.EventRemoved:
		lines = append(lines, "Removed from the config after "+seconds(ev.Duration))
		acked()
	case state.EventMute:
		lines = append(lines, join("Muted", by(ev.Actor), until(ev)))
		acked()
	case state.EventUnmute:
		lines = append(lines, join("Unmuted", by(ev.Actor)))
		acked()
	default:
		acked()
	}
	return lines
}

// ackLine is "Acknowledged by alice at <t:…:f>".
func ackLine(who string, at time.Time) string {
	s := join("Acknowledged", by(who))
	if !at.IsZero() {
		s += " at " + date(at)
	}
	return s
}

// ReplyText renders ev as the one line sent in reply to its alert:
//
//	shop is up again after 4m12s
//	shop was removed from the config after 4m12s
//	Acknowledged by alice: on it
//	Acknowledgement withdrawn by alice
//	Muted by alice until <t:…:f>
//	Unmuted by alice
//	<mention> Reminder: shop has been down for 30m0s: HTTP 503
//	<mention> Escalation: shop has been down for 15m0s and nobody acknowledged it: HTTP 503
//	⚠️ shop is flapping: <reason>
//
// ev.Note, when set, ends the line. When threaded is false (the line is not
// a reply to the alert) the lines that do not name the target start with
// "shop: ". For REMIND and ESCALATE ev.Reason is the mention (see
// ReplyMessage); everything else is escaped.
//
// An event of a grouped alert (more than one Members) shares the group's
// reply chain, so its line names its target, and the group speaks as one:
//
//	All 12 targets are up again (after 4m12s)      the group's last recovery
//	""                                             a recovery before it: nothing to say
//	Acknowledged by bob (all 12 targets)           bob acknowledged every member down
//	Acknowledged db by bob                         one member
//	Muted db by alice until <t:…:f>
//	<mention> Reminder: 12 targets have been down for 30m0s: shop, db, …
//	<mention> Reminder: router has been down for 30m0s: 100% packet loss (also unreachable: 12 targets)
//	<mention> Escalation: 12 targets have been down for 15m0s and nobody acknowledged them: shop, db, …
//
// A reminder or escalation counts the members down and not acknowledged
// (all those down when every one is acknowledged) and the longest outage
// among them. Reply sends nothing for "".
func ReplyText(ev state.Event, threaded bool) string {
	text, _ := replyText(ev, threaded)
	return text
}

// ReplyMessage is ReplyText(ev, threaded) as a message of text alone, with
// link previews off. It pings only the mentions in the mention text of a
// REMIND or ESCALATE (ev.Reason): users (<@123>, <@!123>) and roles
// (<@&456>) by id, and @here when the mention text holds the word @here (the
// escalation of a config without on-call); never @everyone.
func ReplyMessage(ev state.Event, threaded bool) Message {
	text, am := replyText(ev, threaded)
	m := PlainMessage(text)
	m.AllowedMentions = am
	return m
}

func replyText(ev state.Event, threaded bool) (string, *discordgo.MessageAllowedMentions) {
	if g, ok := groupOf(ev); ok {
		return groupReply(ev, g, threaded)
	}
	target := escape(notify.OneLine(ev.Target))
	reason := escape(notify.OneLine(ev.Reason))
	cause := escape(notify.OneLine(causeOf(ev)))
	colon := func(s, more string) string {
		if more == "" {
			return s
		}
		return s + ": " + more
	}
	am := noMentions()
	named := true
	var line string
	switch ev.Kind {
	case state.EventUp:
		line = colon(target+" is up again after "+seconds(ev.Duration), reason)
	case state.EventRemoved:
		line = colon(target+" was removed from the config after "+seconds(ev.Duration), reason)
	case state.EventAck:
		line, named = colon(join("Acknowledged", by(ev.Actor)), reason), false
	case state.EventUnack:
		line, named = colon(join("Acknowledgement withdrawn", by(ev.Actor)), reason), false
	case state.EventMute:
		line, named = colon(join("Muted", by(ev.Actor), until(ev)), reason), false
	case state.EventUnmute:
		line, named = colon(join("Unmuted", by(ev.Actor)), reason), false
	case state.EventRemind:
		var m string
		m, am = mention(ev.Reason)
		line = join(m, colon("Reminder: "+target+" has been down for "+seconds(downFor(ev)), cause))
	case state.EventEscalate:
		var m string
		m, am = mention(ev.Reason)
		line = join(m, colon("Escalation: "+target+" has been down for "+seconds(downFor(ev))+
			" and nobody acknowledged it", cause))
	case state.EventFlapping:
		line = colon("⚠️ "+target+" is flapping", reason)
		if ev.Phase == state.FlapEnd {
			line = colon("ℹ️ "+target, reason)
		}
	default: // DOWN, and any kind added later
		line = colon(target+" is "+strings.ToLower(escape(notify.OneLine(string(ev.Kind)))), reason)
	}
	if !threaded && !named {
		line = target + ": " + line
	}
	line = join(line, escape(notify.OneLine(ev.Note)))
	return fixLineStart(clip(line, maxContent)), am
}

// Mention tokens of the mention text of a REMIND or ESCALATE.
var (
	userMention = regexp.MustCompile(`^<@!?([0-9]{1,20})>$`)
	roleMention = regexp.MustCompile(`^<@&([0-9]{1,20})>$`)
)

// mention renders s, the mention text of a REMIND or ESCALATE, word by
// word: user and role mentions are kept and allowed to ping, so is the word
// @here; everything else is escaped.
func mention(s string) (string, *discordgo.MessageAllowedMentions) {
	am := noMentions()
	seen := map[string]bool{}
	var out []string
	for _, w := range strings.Fields(notify.OneLine(s)) {
		if m := userMention.FindStringSubmatch(w); m != nil {
			out = append(out, w)
			if !seen["u"+m[1]] && len(am.Users) < maxMentionIDs {
				seen["u"+m[1]] = true
				am.Users = append(am.Users, m[1])
			}
			continue
		}
		if m := roleMention.FindStringSubmatch(w); m != nil {
			out = append(out, w)
			if !seen["r"+m[1]] && len(am.Roles) < maxMentionIDs {
				seen["r"+m[1]] = true
				am.Roles = append(am.Roles, m[1])
			}
			continue
		}
		if w == "@here" {
			// Discord's "everyone" covers @here; every other @everyone and
			// @here in the message is broken by escape, so this one alone
			// pings.
			out = append(out, w)
			if !seen["here"] {
				seen["here"] = true
				am.Parse = append(am.Parse, discordgo.AllowedMentionTypeEveryone)
			}
			continue
		}
		out = append(out, escape(w))
	}
	return strings.Join(out, " "), am
}

// causeOf is what failed: a DOWN's reason, else the incident's cause.
func causeOf(ev state.Event) string {
	if ev.Kind == state.EventDown && strings.TrimSpace(ev.Reason) != "" {
		return ev.Reason
	}
	return ev.Cause
}

// downFor is how long ev's target has been down: ev.Duration, or else
// ev.Time − ev.Since.
func downFor(ev state.Event) time.Duration {
	if ev.Duration > 0 || ev.Since.IsZero() || ev.Time.IsZero() {
		return ev.Duration
	}
	return ev.Time.Sub(ev.Since)
}

// until is "until <t:…:f>" for a MUTE (ev.Time + ev.Duration), "" without
// a duration.
func until(ev state.Event) string {
	if ev.Duration <= 0 || ev.Time.IsZero() {
		return ""
	}
	return "until " + date(ev.Time.Add(ev.Duration))
}

// snowflake matches a Discord user id.
var snowflake = regexp.MustCompile(`^[0-9]{17,20}$`)

// by is "by alice" ("" for nobody). A Discord user id becomes a mention,
// <@123…>, which Discord shows as the user's name (and, with
// allowed_mentions empty, does not ping).
func by(actor string) string {
	actor = notify.OneLine(actor)
	switch {
	case actor == "":
		return ""
	case snowflake.MatchString(actor):
		return "by <@" + actor + ">"
	}
	return "by " + escape(strings.TrimPrefix(actor, "@"))
}

// date renders t with Discord's timestamp markup, shown in the reader's
// time zone: "25 November 2026 12:04".
func date(t time.Time) string { return fmt.Sprintf("<t:%d:f>", t.Unix()) }

// latency renders d in milliseconds, as /api/status gives it.
func latency(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 1, 64) + " ms"
}

// seconds formats d rounded to the second; never negative.
func seconds(d time.Duration) string {
	return max(d.Round(time.Second), 0).String()
}

// join joins the non-empty parts with spaces.
func join(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, " ")
}

// url matches a link in remote text. Discord makes it a link before it
// looks for markdown in it, so it is left as it is: escaping an _ in it
// would break it.
var urlRE = regexp.MustCompile("https?://[^\\s<>`|\\\\]+")

// mdEscaper escapes the characters Discord markdown gives a meaning to
// anywhere in a line: emphasis, strike, code, spoilers, mentions and
// timestamps (<…>), masked links ([…](…)), and the escape itself.
var mdEscaper = strings.NewReplacer(
	`\`, `\\`, `*`, `\*`, `_`, `\_`, `~`, `\~`, "`", "\\`", `|`, `\|`,
	`<`, `\<`, `>`, `\>`, `[`, `\[`, `]`, `\]`)

// everyone matches @everyone and @here.
var everyone = regexp.MustCompile(`(?i)@(everyone|here)`)

// escape makes remote or user text show as it is in Discord markdown: it
// cannot format, link under another name, or mention anyone. Links are
// kept as they are; @everyone and @here are broken (breakEveryone).
func escape(s string) string {
	var b strings.Builder
	last := 0
	for _, m := range urlRE.FindAllStringIndex(s, -1) {
		b.WriteString(mdEscaper.Replace(s[last:m[0]]))
		b.WriteString(s[m[0]:m[1]])
		last = m[1]
	}
	b.WriteString(mdEscaper.Replace(s[last:]))
	return breakEveryone(b.String())
}

// breakEveryone puts a zero-width space after the @ of every @everyone and
// @here in s. Discord does not ping from code or embeds, and
// allowed_mentions forbids it anyway: this keeps them from even looking
// like a ping.
func breakEveryone(s string) string { return everyone.ReplaceAllString(s, "@\u200b$1") }

// listStart matches a line that markdown would take for a numbered list.
var listStart = regexp.MustCompile(`^([0-9]+)\.(\s)`)

// fixLineStart escapes what would make a line a list item, a heading or a
// quote. Every line tocsin builds starts with a word of its own, a mention
// or a target name, which starts with a letter or digit: only the
// numbered list ("1. ") can happen.
func fixLineStart(s string) string { return listStart.ReplaceAllString(s, `$1\.$2`) }

// codeBlock puts s, which may span lines, in a code block of at most limit
// characters in all: nothing in it is markdown. A run of backticks, which
// could close the block, is broken by zero-width spaces.
func codeBlock(s string, limit int) string {
	const open, close = "```\n", "\n```"
	inner := strings.ReplaceAll(s, "`", "`\u200b")
	return open + clipPlain(breakEveryone(inner), max(limit-len(open)-len(close), 1)) + close
}

// codeSpan puts one line of s in a code span of at most limit characters
// ("" for an empty s). Backticks in it become ˋ, as a code span cannot
// show one.
func codeSpan(s string, limit int) string {
	s = notify.OneLine(s)
	if s == "" {
		return ""
	}
	return "`" + clipPlain(breakEveryone(strings.ReplaceAll(s, "`", "ˋ")), max(limit-2, 1)) + "`"
}

// width is the length of s as Discord counts it, in UTF-16 code units.
func width(s string) int {
	n := 0
	for _, r := range s {
		n++
		if r >= 0x10000 {
			n++
		}
	}
	return n
}

// cutAt returns the longest prefix of s of at most limit-1 characters, so
// that "…" fits after it.
func cutAt(s string, limit int) string {
	n := 0
	for i, r := range s {
		w := 1
		if r >= 0x10000 {
			w = 2
		}
		if n+w > limit-1 {
			return s[:i]
		}
		n += w
	}
	return s
}

// clipPlain trims s to at most limit characters, the last one "…", for text
// where nothing is markup (a footer, the inside of a code block).
func clipPlain(s string, limit int) string {
	if width(s) <= limit {
		return s
	}
	return cutAt(s, limit) + "…"
}

// clip trims markdown s to at most limit characters, the last one "…". A
// cut never splits a token (<t:…>, <@…>) or leaves an escaping backslash
// alone at the end: in escaped text every other < and \ is escaped.
func clip(s string, limit int) string {
	if width(s) <= limit {
		return s
	}
	cut := cutAt(s, limit)
	if i := lastToken(cut); i >= 0 && !strings.Contains(cut[i:], ">") {
		cut = cut[:i]
	}
	if n := len(cut) - len(strings.TrimRight(cut, `\`)); n%2 == 1 {
		cut = cut[:len(cut)-1]
	}
	return cut + "…"
}

// lastToken is the index of the last unescaped < in s, or -1.
func lastToken(s string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] != '<' {
			continue
		}
		n := 0
		for j := i - 1; j >= 0 && s[j] == '\\'; j-- {
			n++
		}
		if n%2 == 0 {
			return i
		}
	}
	return -1
}

// embedLen is what counts of e towards maxEmbedTotal.
func embedLen(e *discordgo.MessageEmbed) int {
	n := width(e.Title) + width(e.Description)
	for _, f := range e.Fields {
		n += width(f.Name) + width(f.Value)
	}
	if e.Footer != nil {
		n += width(e.Footer.Text)
	}
	if e.Author != nil {
		n += width(e.Author.Name)
	}
	return n
}

// multiLine keeps s's lines but trims each, drops control characters and
// blank lines at the ends.
func multiLine(s string) string {
	lines := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	for i, l := range lines {
		lines[i] = notify.OneLine(l)
	}
	s = strings.Trim(strings.Join(lines, "\n"), "\n")
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return s
}
