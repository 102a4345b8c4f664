package config

import (
	"errors"
	"fmt"
	"strings"
)

// expand replaces ${VAR} and ${VAR:-default} in s through getenv (nil: every
// variable unset); `$${` stands for a literal `${`. A variable is unset when
// getenv returns "". expanded reports whether any ${…} was replaced, so
// callers can quote the text as written instead of a possibly secret value.
// The error names the variable or the bad syntax, never a variable's value.
func expand(s string, getenv func(string) string) (out string, expanded bool, err error) {
	if !strings.Contains(s, "${") {
		return s, false, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		switch {
		case strings.HasPrefix(s[i:], "$${"):
			b.WriteString("${")
			i += 3
		case strings.HasPrefix(s[i:], "${"):
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				return "", false, errors.New("unterminated ${")
			}
			inner := s[i+2 : i+2+end]
			name, def, hasDef := strings.Cut(inner, ":-")
			if !validVarName(name) {
				// The reference is not echoed: it might be a pasted secret.
				return "", false, errors.New("bad ${...}: a variable name is letters, digits and _, not starting with a digit")
			}
			v := ""
			if getenv != nil {
				v = getenv(name)
			}
			if v == "" {
				if !hasDef {
					return "", false, fmt.Errorf("environment variable %s is not set", name)
				}
				v = def
			}
			b.WriteString(v)
			expanded = true
			i += 2 + end + 1
		default:
			b.WriteByte(s[i])
			i++
		}
	}
	return b.String(), expanded, nil
}

// validVarName reports whether name is a shell-style variable name.
func validVarName(name string) bool {
	if name == "" {
		return false
	}
	for i, c := range name {
		switch {
		case c == '_', c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
