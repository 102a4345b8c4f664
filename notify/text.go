package notify

import (
	"strings"
	"unicode"
)

// OneLine collapses whitespace and control characters into single spaces
// and trims the ends, so text from a check or a user can never break a
// console line or a chat message's layout.
func OneLine(s string) string {
	return strings.Join(strings.Fields(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)), " ")
}
