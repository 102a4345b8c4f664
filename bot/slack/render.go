package slack

import (
	"encoding/json"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/tocsin/tocsin/bot"
)

const (
	// maxText is the most characters a message's text may have: Slack
	// truncates longer ones.
	maxText = 40000
	// maxPara bounds Reply.Text, as Slack bounds a section of text.
	maxPara = 3000
	// maxAck bounds a Socket Mode acknowledgement in bytes: Slack drops
	// one of 20 KB or more (socketmode refuses to send it), and the
	// envelope id takes some.
	maxAck = 19 << 10
	// ellipsis ends trimmed text.
	ellipsis = "…"
)

// message is a Slack message as a slash command's answer or a post to a
// response_url.
type message struct {
	// ResponseType is "ephemeral" (shown to the user who asked) or
	// "in_channel".
	ResponseType string `json:"response_type"`
	// Text is mrkdwn.
	Text string `json:"text"`
}

// render makes r a Slack message of at most limit characters: Reply.Text
// escaped for mrkdwn (at most maxPara characters of it), then Reply.Block,
// escaped, as a code block. Trimmed parts end in "…". An empty Reply
// renders as a message with no text, which is not sent.
func render(r bot.Reply, limit int) message {
	m := message{ResponseType: "in_channel"}
	if r.Ephemeral {
		m.ResponseType = "ephemeral"
	}
	const open, close = "```\n", "\n```"
	text := escapeTrim(strings.TrimSpace(r.Text), min(maxPara, limit))
	block := strings.Trim(r.Block, "\n")
	var b strings.Builder
	b.WriteString(text)
	if strings.TrimSpace(block) != "" {
		budget := limit - utf8.RuneCountInString(text) - len(open) - len(close)
		if text != "" {
			budget-- // the newline between them
		}
		if budget > len(ellipsis) {
			if text != "" {
				b.WriteByte('\n')
			}
			b.WriteString(open)
			b.WriteString(escapeTrim(block, budget))
			b.WriteString(close)
		}
	}
	m.Text = b.String()
	return m
}

// renderWithin renders r as small as it must be for its JSON to take fewer
// than maxBytes bytes.
func renderWithin(r bot.Reply, maxBytes int) message {
	limit := maxText
	for {
		m := render(r, limit)
		js, err := json.Marshal(m)
		if err != nil || len(js) < maxBytes || limit <= 200 {
			return m
		}
		// Shrink in proportion, and a little more, as escapes and
		// multi-byte characters make bytes and characters differ.
		limit = max(200, min(limit-1, utf8.RuneCountInString(m.Text)*maxBytes/len(js)*9/10))
	}
}

// mrkdwnEscapes are the characters Slack's mrkdwn requires escaped.
var mrkdwnEscapes = map[rune]string{'&': "&amp;", '<': "&lt;", '>': "&gt;"}

// escapeTrim escapes s for mrkdwn and, if the result is longer than max
// characters, cuts it to at most max characters ending in "…", never in the
// middle of an escape.
func escapeTrim(s string, max int) string {
	type cut struct{ bytes, chars int }
	var b strings.Builder
	cuts := make([]cut, 0, len(s)) // the output's length after each piece
	n := 0
	for _, c := range s {
		if piece, ok := mrkdwnEscapes[c]; ok {
			b.WriteString(piece)
			n += len(piece)
		} else {
			b.WriteRune(c)
			n++
		}
		cuts = append(cuts, cut{b.Len(), n})
	}
	if n <= max {
		return b.String()
	}
	if max < 1 {
		return ""
	}
	// The longest run of whole pieces that leaves room for the ellipsis.
	i := sort.Search(len(cuts), func(i int) bool { return cuts[i].chars > max-1 })
	end := 0
	if i > 0 {
		end = cuts[i-1].bytes
	}
	return b.String()[:end] + ellipsis
}
