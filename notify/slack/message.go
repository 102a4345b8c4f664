package slack

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/tocsin/tocsin/notify"
	"github.com/tocsin/tocsin/state"
)

// AckActionID is the action_id of the Acknowledge button on an alert; its
// value is the incident id in decimal. tocsin's Slack bot adapter acts on it.
const AckActionID = "tocsin_ack"

// ackBlockID is the block_id of the actions block that holds the button.
const ackBlockID = "tocsin_actions"

// Limits of Slack's messages and Block Kit, in characters. Everything tocsin
// sends is trimmed to them (ending in "…"), never rejected.
const (
	maxText        = 3000 // top-level text (Slack truncates at 40,000; alerts stay readable)
	maxBlocks      = 50   // blocks in one message
	maxSectionText = 3000 // a section's text
	maxFieldText   = 2000 // one of a section's fields
	maxHeaderText  = 150  // a header's plain_text
	maxButtonValue = 2000 // a button's value
)

// Message is what one Slack call sends: the text, which is the whole message
// when Blocks is empty and otherwise the fallback shown in notifications,
// and the Block Kit blocks. Both are mrkdwn with remote and user text
// escaped.
type Message struct {
	Text   string        `json:"text"`
	Blocks []slack.Block `json:"blocks,omitempty"`
}

// TextOnly returns m without its blocks: the message sent once more when
// Slack refuses the blocks, so one bad render cannot stall the queue.
func (m Message) TextOnly() Message { return Message{Text: m.Text} }

// status is how an alert looks: its header emoji and word, and whether the
// Acknowledge button is on it.
type status struct {
	emoji, word string
	button      bool
}

// The colour of an alert is the emoji in front of its header (top-level
// blocks have no colour bar, and attachments are Slack's legacy surface).
var (
	statusDown     = status{":red_circle:", "DOWN", true}
	statusAcked    = status{":large_yellow_circle:", "ACKNOWLEDGED", false}
	statusResolved = status{":large_green_circle:", "RESOLVED", false}
	statusRemoved  = status{":white_circle:", "REMOVED", false}
)

// statusOf says how the alert of ev's incident looks after ev.
func statusOf(ev state.Event) status {
	switch ev.Kind {
	case state.EventUp:
		return statusResolved
	case state.EventRemoved:
		return statusRemoved
	case state.EventAck:
		return statusAcked
	case state.EventUnack:
		return statusDown
	case state.EventMute:
		return status{":no_bell:", "MUTED", ev.AckedBy == ""}
	}
	if ev.AckedBy != "" {
		return statusAcked
	}
	return statusDown
}

// AlertMessage renders the alert of ev's incident as it stands after ev: the
// message a DOWN posts and every later edit replaces it with. Its text is
// one line for notifications, like
//
//	DOWN shop: HTTP 503
//	ACKNOWLEDGED shop: HTTP 503
//	MUTED shop: HTTP 503
//	RESOLVED shop after 4m12s: HTTP 503
//	REMOVED shop after 4m12s: HTTP 503
//
// and its blocks are: a header with the colour emoji (🔴 down, 🟡
// acknowledged, 🔕 muted, 🟢 resolved, ⚪ removed) and the target; what
// failed (the incident's cause); since when, the check (kind and address)
// and, while the incident is open, the event's check latency; a status section (who acknowledged and when, resolved
// after how long, muted until when); the Acknowledge button while the
// incident is open and nobody acknowledged it (and it has an id); and a
// context line with the incident id and ev.Note.
//
// An event of a grouped alert (more than one Members) renders the group's
// alert instead, the same whichever member's event it is:
//
//	header   :red_circle: 12 targets down            (a storm)
//	         :red_circle: DOWN router                (every other member held by the leader)
//	         :large_yellow_circle: 12 targets down, all acknowledged
//	         :large_green_circle: All 12 targets up again
//	         a dependency group's leader's cause ("What failed") and
//	         "Also unreachable: 12 targets (a, b, c, …)";
//	fields   the leader's Since, and its Check and Latency on its own events;
//	list     one line a member (the dependents, for a dependency group),
//	         those still down first: a colour emoji, the target, its cause,
//	         "acked by @bob" or "up again"; at most 20 lines, then
//	         "… and 480 more (470 down, 10 up)";
//	status   the event's line, naming its target ("Muted db by @alice"),
//	         "Resolved after 4m12s" once all are up;
//	buttons  Acknowledge (the leader's incident, while it is down and
//	         unacknowledged) and Acknowledge all (AckAllActionID, while two
//	         or more members are down and unacknowledged);
//	context  the leader's incident id, the group's size, ev's target's note.
//
// Its text is "12 targets down: shop, db, …", "DOWN router: 100% packet
// loss (3/3) (also unreachable: 12 targets)", "All 12 targets up again
// after 4m12s". However many members, it keeps within Slack's limits.
func AlertMessage(ev state.Event) Message {
	if g, ok := groupOf(ev); ok {
		return groupAlert(ev, g)
	}
	st := statusOf(ev)
	target := notify.OneLine(ev.Target)
	cause := causeOf(ev)

	var text strings.Builder
	text.WriteString(st.word + " " + escape(target))
	if ev.Kind == state.EventUp || ev.Kind == state.EventRemoved {
		text.WriteString(" after " + seconds(ev.Duration))
	}
	if c := notify.OneLine(cause); c != "" {
		text.WriteString(": " + escape(c))
	}

	var blocks []slack.Block
	blocks = append(blocks, slack.NewHeaderBlock(
		slack.NewTextBlockObject(slack.PlainTextType, clip(join(st.emoji, st.word, target), maxHeaderText), true, false)))
	if c := multiLine(cause); c != "" {
		blocks = append(blocks, section(clip("*What failed:* "+escape(c), maxSectionText)))
	}
	var fields []*slack.TextBlockObject
	if !ev.Since.IsZero() {
		fields = append(fields, field("Since", date(ev.Since)))
	}
	if check := strings.TrimSpace(notify.OneLine(string(ev.TargetKind)) + " " + notify.OneLine(ev.Address)); check != "" {
		fields = append(fields, field("Check", escape(check)))
	}
	if ev.Latency > 0 && ev.Kind != state.EventUp && ev.Kind != state.EventRemoved {
		// An UP's latency is the good check's, not the failure's.
		fields = append(fields, field("Latency", latency(ev.Latency)))
	}
	if len(fields) > 0 {
		blocks = append(blocks, slack.NewSectionBlock(nil, fields, nil))
	}
	if lines := statusLines(ev); len(lines) > 0 {
		blocks = append(blocks, section(clip(strings.Join(lines, "\n"), maxSectionText)))
	}
	if st.button && ev.IncidentID > 0 {
		blocks = append(blocks, slack.NewActionBlock(ackBlockID, AckButton(ev.IncidentID)))
	}
	ctx := "tocsin"
	if ev.IncidentID > 0 {
		ctx += " · incident " + strconv.FormatInt(ev.IncidentID, 10)
	}
	if n := notify.OneLine(ev.Note); n != "" {
		ctx += " · " + escape(n)
	}
	blocks = append(blocks, slack.NewContextBlock("",
		slack.NewTextBlockObject(slack.MarkdownType, clip(ctx, maxSectionText), false, false)))

	return Message{Text: clip(text.String(), maxText), Blocks: blocks[:min(len(blocks), maxBlocks)]}
}

// AckButton is the Acknowledge button of incident id: action_id
// "tocsin_ack", value the id in decimal ("42").
func AckButton(id int64) *slack.ButtonBlockElement {
	value := strconv.FormatInt(id, 10)
	return slack.NewButtonBlockElement(AckActionID, value[:min(len(value), maxButtonValue)],
		slack.NewTextBlockObject(slack.PlainTextType, "Acknowledge", true, false)).WithStyle(slack.StylePrimary)
}

// statusLines are the lines of an alert's status section for ev.
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

// ackLine is "Acknowledged by @alice at <date>".
func ackLine(who string, at time.Time) string {
	s := join("Acknowledged", by(who))
	if !at.IsZero() {
		s += " at " + date(at)
	}
	return s
}

// ReplyText renders ev as the one line sent in its alert's thread:
//
//	shop is up again after 4m12s
//	shop was removed from the config after 4m12s
//	Acknowledged by @alice: on it
//	Acknowledgement withdrawn by @alice
//	Muted by @alice until <date>
//	Unmuted by @alice
//	<mention> Reminder: shop has been down for 30m0s: HTTP 503
//	<mention> Escalation: shop has been down for 15m0s and nobody acknowledged it: HTTP 503
//	:warning: shop is flapping: <reason>
//
// ev.Note, when set, ends the line. When threaded is false (there is no
// alert to reply to) the lines that do not name the target start with
// "shop: ". For REMIND and ESCALATE ev.Reason is the mention: Slack's
// mention tokens in it (<@U…>, <!subteam^…>, <!here>, <!channel>,
// <!everyone>) are kept, a bare @here, @channel or @everyone becomes the
// token, and the rest is escaped.
//
// An event of a grouped alert (more than one Members) shares the group's
// thread, so its line names its target, and the group speaks as one:
//
//	All 12 targets are up again (after 4m12s)      the group's last recovery
//	""                                             a recovery before it: nothing to say
//	Acknowledged by @bob (all 12 targets)          @bob acknowledged every member down
//	Acknowledged db by @bob                        one member
//	Muted db by @alice until <date>
//	<mention> Reminder: 12 targets have been down for 30m0s: shop, db, …
//	<mention> Reminder: router has been down for 30m0s: 100% packet loss (also unreachable: 12 targets)
//	<mention> Escalation: 12 targets have been down for 15m0s and nobody acknowledged them: shop, db, …
//
// A reminder or escalation counts the members down and not acknowledged
// (all those down when every one is acknowledged) and the longest outage
// among them. Reply sends nothing for "".
func ReplyText(ev state.Event, threaded bool) string {
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
		line = join(mention(ev.Reason), colon("Reminder: "+target+" has been down for "+seconds(downFor(ev)), cause))
	case state.EventEscalate:
		line = join(mention(ev.Reason),
			colon("Escalation: "+target+" has been down for "+seconds(downFor(ev))+" and nobody acknowledged it", cause))
	case state.EventFlapping:
		line = colon(":warning: "+target+" is flapping", reason)
		if ev.Phase == state.FlapEnd {
			line = colon(":information_source: "+target, reason)
		}
	default: // DOWN, and any kind added later
		line = colon(target+" is "+strings.ToLower(notify.OneLine(string(ev.Kind))), reason)
	}
	if !threaded && !named {
		line = target + ": " + line
	}
	line = join(line, escape(notify.OneLine(ev.Note)))
	return clip(line, maxText)
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

// until is "until <date>" for a MUTE (ev.Time + ev.Duration), "" without a
// duration.
func until(ev state.Event) string {
	if ev.Duration <= 0 || ev.Time.IsZero() {
		return ""
	}
	return "until " + date(ev.Time.Add(ev.Duration))
}

// by is "by @name" ("" for nobody). A Slack user id (U… or W…) becomes a
// mention, <@U0ALICE>, which Slack shows as the user's name.
func by(actor string) string {
	actor = notify.OneLine(actor)
	switch {
	case actor == "":
		return ""
	case userID.MatchString(actor):
		return "by <@" + actor + ">"
	}
	return "by @" + escape(strings.TrimPrefix(actor, "@"))
}

var userID = regexp.MustCompile(`^[UW][A-Z0-9]{2,}$`)

// mentionToken matches Slack's own mention syntax, kept as it is.
var mentionToken = regexp.MustCompile(`<(?:@[UW][A-Z0-9]+|!subteam\^[A-Z0-9]+(?:\|@[^<>|]+)?|!here|!channel|!everyone|#C[A-Z0-9]+)>`)

// bareMention matches @here, @channel and @everyone written as words.
var bareMention = regexp.MustCompile(`(^|\s)@(here|channel|everyone)\b`)

// mention renders s, the mention text of a REMIND or ESCALATE: Slack's
// mention tokens are kept, bare @here/@channel/@everyone become tokens,
// everything else is escaped.
func mention(s string) string {
	s = notify.OneLine(s)
	var b strings.Builder
	last := 0
	for _, m := range mentionToken.FindAllStringIndex(s, -1) {
		b.WriteString(bareMention.ReplaceAllString(escape(s[last:m[0]]), "$1<!$2>"))
		b.WriteString(s[m[0]:m[1]])
		last = m[1]
	}
	b.WriteString(bareMention.ReplaceAllString(escape(s[last:]), "$1<!$2>"))
	return b.String()
}

// section is a section block of mrkdwn text.
func section(text string) *slack.SectionBlock {
	return slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, text, false, false), nil, nil)
}

// field is a section field "*Title*\nvalue", value already mrkdwn.
func field(title, value string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, clip("*"+title+"*\n"+value, maxFieldText), false, false)
}

// date renders t with Slack's date token, shown in the reader's time zone,
// with the time in UTC as its fallback.
func date(t time.Time) string {
	utc := t.UTC().Format("2006-01-02 15:04:05 UTC")
	return fmt.Sprintf("<!date^%d^{date_short_pretty} {time_secs}|%s>", t.Unix(), utc)
}

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

var escaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// escape escapes the three characters mrkdwn gives a meaning to, so remote
// and user text shows as it is and cannot mention or link.
func escape(s string) string { return escaper.Replace(s) }

// clip trims s to at most limit characters, the last one "…". A cut never
// splits an entity (&amp;) or a token (<!date^…>) of mrkdwn: escaped text
// has & and < only at their starts.
func clip(s string, limit int) string {
	if utf8.RuneCountInString(s) <= limit {
		return s
	}
	cut := s
	for i := range s {
		if limit--; limit == 0 {
			cut = s[:i]
			break
		}
	}
	if i := strings.LastIndexAny(cut, "&<"); i >= 0 {
		end := ";"
		if cut[i] == '<' {
			end = ">"
		}
		if !strings.Contains(cut[i:], end) {
			cut = cut[:i]
		}
	}
	return cut + "…"
}

// multiLine keeps s's lines but trims each, drops control characters and
// blank lines at the ends.
func multiLine(s string) string {
	lines := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	for i, l := range lines {
		lines[i] = notify.OneLine(l)
	}
	return strings.Trim(strings.Join(lines, "\n"), "\n")
}
