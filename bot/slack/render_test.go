package slack

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tocsin/tocsin/bot"
)

func TestRender(t *testing.T) {
	const fence = "```"
	tests := []struct {
		name  string
		reply bot.Reply
		limit int
		want  message
	}{
		{name: "empty", reply: bot.Reply{}, limit: maxText,
			want: message{ResponseType: "in_channel"}},
		{name: "text", reply: bot.Reply{Text: "shop is up"}, limit: maxText,
			want: message{ResponseType: "in_channel", Text: "shop is up"}},
		{name: "ephemeral", reply: bot.Reply{Text: "not allowed", Ephemeral: true}, limit: maxText,
			want: message{ResponseType: "ephemeral", Text: "not allowed"}},
		{name: "escaped", reply: bot.Reply{Text: "<!channel> a&b <@U1>"}, limit: maxText,
			want: message{ResponseType: "in_channel", Text: "&lt;!channel&gt; a&amp;b &lt;@U1&gt;"}},
		{name: "block", reply: bot.Reply{Text: "2 targets", Block: "shop  up\nweb   <down>\n"}, limit: maxText,
			want: message{ResponseType: "in_channel", Text: "2 targets\n" + fence + "\nshop  up\nweb   &lt;down&gt;\n" + fence}},
		{name: "block alone", reply: bot.Reply{Block: "a\nb"}, limit: maxText,
			want: message{ResponseType: "in_channel", Text: fence + "\na\nb\n" + fence}},
		{name: "blank block dropped", reply: bot.Reply{Text: "x", Block: "\n \n"}, limit: maxText,
			want: message{ResponseType: "in_channel", Text: "x"}},
		{name: "block trimmed", reply: bot.Reply{Text: "ab", Block: "0123456789"}, limit: 16,
			// 2 + 1 + 4 + 4 = 11: 5 characters for the block.
			want: message{ResponseType: "in_channel", Text: "ab\n" + fence + "\n0123…\n" + fence}},
		{name: "no room for a block", reply: bot.Reply{Text: "abcdef", Block: "0123456789"}, limit: 12,
			want: message{ResponseType: "in_channel", Text: "abcdef"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := render(tt.reply, tt.limit)
			if got != tt.want {
				t.Fatalf("render\n got %q\nwant %q", got.Text, tt.want.Text)
			}
			if n := utf8.RuneCountInString(got.Text); n > tt.limit {
				t.Fatalf("%d characters, limit %d", n, tt.limit)
			}
		})
	}
}

func TestEscapeTrim(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"", 10, ""},
		{"plain", 5, "plain"},
		{"plain!", 5, "plai…"},
		{"a&b", 7, "a&amp;b"},
		{"a&b", 6, "a…"}, // never half an escape
		{"a<bc", 6, "a&lt;…"},
		{"ääääää", 4, "äää…"},
		{"x", 0, ""},
	}
	for _, tt := range tests {
		if got := escapeTrim(tt.in, tt.max); got != tt.want {
			t.Errorf("escapeTrim(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
		}
	}
}

func TestRenderLimits(t *testing.T) {
	long := bot.Reply{Text: strings.Repeat("word ", 2000), Block: strings.Repeat("target-name  down  <HTTP 503> & more\n", 3000)}

	m := render(long, maxText)
	if n := utf8.RuneCountInString(m.Text); n > maxText {
		t.Fatalf("%d characters, more than %d", n, maxText)
	}
	text, _, _ := strings.Cut(m.Text, "\n```\n")
	if n := utf8.RuneCountInString(text); n > maxPara || !strings.HasSuffix(text, "…") {
		t.Fatalf("the text part has %d characters, ends %q", n, text[len(text)-10:])
	}
	if !strings.HasSuffix(m.Text, "…\n```") {
		t.Fatalf("the block is not trimmed: ends %q", m.Text[len(m.Text)-10:])
	}

	small := renderWithin(long, maxAck)
	js, err := json.Marshal(small)
	if err != nil {
		t.Fatal(err)
	}
	if len(js) >= maxAck {
		t.Fatalf("socket mode payload of %d bytes, want < %d", len(js), maxAck)
	}
	if len(js) < maxAck/2 {
		t.Errorf("socket mode payload of %d bytes: trimmed more than needed", len(js))
	}
	if !strings.HasSuffix(small.Text, "…\n```") {
		t.Fatalf("the block is not trimmed: ends %q", small.Text[len(small.Text)-10:])
	}
	if short := (bot.Reply{Text: "ok"}); renderWithin(short, maxAck) != render(short, maxText) {
		t.Fatal("a short reply was changed")
	}
}
