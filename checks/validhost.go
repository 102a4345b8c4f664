package checks

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"unicode"
)

// ValidHost reports whether s is a hostname (RFC 1123 labels) or an IP
// literal, and if not, why: the rule for ping hosts in config, for
// `tocsin ping HOST` and for chat /ping. A hostname is labels of letters,
// digits and hyphens, no label starting or ending with a hyphen, at most
// 63 characters a label and 253 in all, with an optional trailing dot. An
// IP literal is IPv4 or IPv6 without a zone and without brackets. The
// error reads `"-c 1000" is not a hostname or IP address: starts with "-"`.
func ValidHost(s string) error {
	if why := invalidHost(s); why != "" {
		return fmt.Errorf("%q is not a hostname or IP address: %s", s, why)
	}
	return nil
}

// invalidHost is why s is not a host, or "".
func invalidHost(s string) string {
	if s == "" {
		return "empty"
	}
	// Before anything else: a host handed to a command line must never
	// read as a flag.
	if strings.HasPrefix(s, "-") {
		return `starts with "-"`
	}
	for _, c := range s {
		switch {
		case unicode.IsSpace(c):
			return "contains a space"
		case unicode.IsControl(c):
			return "contains a control character"
		}
	}
	if strings.Contains(s, "://") {
		return "is a URL; give the host alone"
	}
	if a, err := netip.ParseAddr(s); err == nil {
		if a.Zone() != "" {
			return "has a zone (%" + a.Zone() + "); zones are not accepted"
		}
		return ""
	}
	if h, p, err := net.SplitHostPort(s); err == nil && h != "" && p != "" {
		return "is host:port; give the host alone"
	}
	for _, c := range s {
		if !isHostChar(c) {
			return fmt.Sprintf("contains %q", c)
		}
	}
	name := strings.TrimSuffix(s, ".")
	if len(name) > 253 {
		return fmt.Sprintf("longer than 253 characters (%d)", len(name))
	}
	labels := strings.Split(name, ".")
	numeric := true
	for _, l := range labels {
		switch {
		case l == "":
			return "has an empty label"
		case len(l) > 63:
			return fmt.Sprintf("label %q longer than 63 characters", l[:10]+"…")
		case strings.HasPrefix(l, "-") || strings.HasSuffix(l, "-"):
			return fmt.Sprintf("label %q starts or ends with \"-\"", l)
		}
		if strings.Trim(l, "0123456789") != "" {
			numeric = false
		}
	}
	// "1.2.3.999" or "10.1" would be looked up as names: say what they are.
	if numeric {
		return "not a valid IP address"
	}
	return ""
}

func isHostChar(c rune) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.'
}
