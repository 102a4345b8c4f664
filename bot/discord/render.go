package discord

import (
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/tocsin/tocsin/bot"
)

const (
	// maxContent is the most characters a Discord message's content may
	// have.
	maxContent = 2000
	// ellipsis ends trimmed text.
	ellipsis = "…"
	// fence opens and closes a code block.
	fence = "```"
)

// render makes r a Discord message's content of at most maxContent
// characters: Reply.Text with Discord's markdown escaped, then Reply.Block
// as a code block. Trimmed parts end in "…"; the text is kept whole before
// the block, which is dropped when no room is left for it. An empty Reply
// renders as "".
func render(r bot.Reply) string {
	return renderLimit(r, maxContent)
}

// renderLimit is render with a limit of its own.
func renderLimit(r bot.Reply, limit int) string {
	const open, close = fence + "\n", "\n" + fence
	text := escapeTrim(strings.TrimSpace(r.Text), limit)
	// A fence inside the block would end it early: a zero-width space
	// between the backticks keeps them apart and looks the same.
	block := strings.ReplaceAll(strings.Trim(r.Block, "\n"), fence, "`\u200b`\u200b`")
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
			b.WriteString(trim(block, budget))
			b.WriteString(close)
		}
	}
	return b.String()
}

// trim cuts s to at most max characters, the last of them "…", when it is
// longer.
func trim(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	if max < 1 {
		return ""
	}
	r := []rune(s)
	return string(r[:max-1]) + ellipsis
}

// inlineMarkdown are the characters Discord's markdown reads anywhere in a
// line (emphasis, strike, code, spoilers, masked links, escapes).
const inlineMarkdown = "\\*_~`|["

// lineMarkdown are the characters it reads at the start of a line (quotes,
// headings, lists).
const lineMarkdown = ">#-"

// escapeTrim escapes s for Discord's markdown (a backslash before each
// character it would read) and, if the result is longer than max
// characters, cuts it to at most max characters ending in "…", never
// between a backslash and the character it escapes.
func escapeTrim(s string, max int) string {
	type cut struct{ bytes, chars int }
	var b strings.Builder
	cuts := make([]cut, 0, len(s)) // the output's length after each piece
	n := 0
	lineStart := true
	for _, c := range s {
		if strings.ContainsRune(inlineMarkdown, c) || (lineStart && strings.ContainsRune(lineMarkdown, c)) {
			b.WriteByte('\\')
			n++
		}
		b.WriteRune(c)
		n++
		switch c {
		case '\n':
			lineStart = true
		case ' ', '\t':
		default:
			lineStart = false
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
