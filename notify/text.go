package notify

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// OneLine collapses whitespace and control characters into single spaces
// and trims the ends, so text from a check or a user can never break a
// console line or a chat message's layout.
func OneLine(s string) string {
	if isOneLine(s) {
		return s // the common case, without a copy
	}
	return strings.Join(strings.Fields(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)), " ")
}

// isOneLine reports whether OneLine(s) is s itself: valid UTF-8 without
// control characters or whitespace, but for single ASCII spaces between
// words.
func isOneLine(s string) bool {
	space := true // a space first is trimmed
	for _, r := range s {
		switch {
		case r == ' ':
			if space {
				return false
			}
			space = true
			continue
		case r == utf8.RuneError, unicode.IsControl(r), unicode.IsSpace(r):
			return false
		}
		space = false
	}
	return s == "" || !space
}
