package notify

import (
	"strings"
	"testing"
	"unicode"
)

// oneLineSlow is OneLine without its shortcut: what it must always return.
func oneLineSlow(s string) string {
	return strings.Join(strings.Fields(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)), " ")
}

func TestOneLine(t *testing.T) {
	for _, s := range []string{
		"", " ", "  ", "a", "a b", "a  b", " a", "a ", "HTTP 503", "dial tcp 127.0.0.1:5432: connection refused",
		"a\nb", "a\tb", "a\r\nb", "\x1b[31mred", "a\x00b", "a\u0085b", "a\u00a0b", "a\u2028b", "a\u3000b",
		"caf\u00e9 \u2014 ok", "\ufffd", "a\xffb", "\xff", "a \u200bb", "emoji \U0001F534 down",
	} {
		if got, want := OneLine(s), oneLineSlow(s); got != want {
			t.Errorf("OneLine(%q) = %q, want %q", s, got, want)
		}
	}
}

func FuzzOneLine(f *testing.F) {
	for _, s := range []string{"", "a b", "a  b", " a\n", "a\u00a0b", "a\xffb"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := OneLine(s), oneLineSlow(s); got != want {
			t.Errorf("OneLine(%q) = %q, want %q", s, got, want)
		}
	})
}
