package bot

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/tocsin/tocsin/checks"
)

// maxHostInput is the longest input the ping policy reads before refusing
// it: a hostname is at most 253 characters, plus an optional trailing dot.
const maxHostInput = 254

// quoteMax is how many characters of a user's input a reply echoes.
const quoteMax = 40

// pingPlan is what the ping policy allowed: the host to ping and, when the
// user named a target, that target's name.
type pingPlan struct {
	Host   string
	Target string
}

// planPing decides whether chat /ping may reach arg, without resolving any
// name (a policy that resolved could be steered by whoever controls DNS).
// Allowed are, in this order:
//   - the name of a configured target: its Host() is pinged;
//   - the Host() of a configured target of any kind, compared without case
//     and trailing dot (IP literals as addresses, so "::1" is "0::1");
//   - an IP literal inside a CIDR of bot.ping_allow or equal to an IP of it;
//   - a hostname under a domain suffix of bot.ping_allow: "example.com"
//     allows example.com and every name below it, ".example.com" and
//     "*.example.com" only the names below it. A suffix matches whole
//     labels: "evilexample.com" is not under "example.com".
//
// Anything else, and anything that is not a hostname or IP literal
// (checks.ValidHost), is refused: the refusal is user-safe text that
// quotes the input escaped and truncated.
func planPing(arg string, s Settings) (pingPlan, string) {
	// A target's name may hold what a host may not ("web_1"): it is
	// matched before the input is judged as a host, and it is config, not
	// the user's text, that decides what is pinged then.
	for i := range s.Targets {
		t := &s.Targets[i]
		if t.Name != arg {
			continue
		}
		h := t.Host()
		if checks.ValidHost(h) != nil {
			return pingPlan{}, fmt.Sprintf("target %s has no host tocsin can ping", t.Name)
		}
		return pingPlan{Host: h, Target: t.Name}, ""
	}
	if why := hostProblem(arg); why != "" {
		return pingPlan{}, fmt.Sprintf("%s is not a hostname or IP address: %s", quoteInput(arg), why)
	}
	key := hostKey(arg)
	for i := range s.Targets {
		h := s.Targets[i].Host()
		if h != "" && hostKey(h) == key && checks.ValidHost(h) == nil {
			return pingPlan{Host: h}, ""
		}
	}
	if addr, err := netip.ParseAddr(arg); err == nil {
		if ipAllowed(addr.Unmap(), s.PingAllow) {
			return pingPlan{Host: arg}, ""
		}
	} else if nameAllowed(key, s.PingAllow) {
		return pingPlan{Host: arg}, ""
	}
	return pingPlan{}, fmt.Sprintf("tocsin will not ping %s: it is not a configured target's host and not in bot.ping_allow",
		quoteInput(arg))
}

// hostProblem is why s is not a hostname or IP literal, as user-safe text,
// or "" when it is one.
func hostProblem(s string) string {
	if len(s) > maxHostInput {
		return "longer than 253 characters"
	}
	err := checks.ValidHost(s)
	if err == nil {
		return ""
	}
	// ValidHost's error quotes the whole input, then says why; the reply
	// quotes the input its own way, so only the why is kept. It may echo a
	// piece of the input (a zone, a character), hence the escaping.
	why, ok := strings.CutPrefix(err.Error(), strconv.Quote(s)+" is not a hostname or IP address: ")
	if !ok {
		return "not a hostname or IP address"
	}
	return escapeMarkup(why)
}

// hostKey is the form in which hosts are compared: an IP literal as its
// canonical address, a name in lower case without a trailing dot.
func hostKey(h string) string {
	if a, err := netip.ParseAddr(h); err == nil {
		return a.Unmap().WithZone("").String()
	}
	return strings.ToLower(strings.TrimSuffix(h, "."))
}

// ipAllowed reports whether addr is inside a CIDR or equal to an IP of
// allow; domain suffixes are skipped.
func ipAllowed(addr netip.Addr, allow []string) bool {
	for _, e := range allow {
		e = strings.TrimSpace(e)
		if p, err := netip.ParsePrefix(e); err == nil {
			if p.Masked().Contains(addr) {
				return true
			}
			continue
		}
		if a, err := netip.ParseAddr(e); err == nil && a.Unmap() == addr {
			return true
		}
	}
	return false
}

// nameAllowed reports whether the hostname name (lower case, no trailing
// dot) is under a domain suffix of allow; CIDRs and IPs are skipped.
func nameAllowed(name string, allow []string) bool {
	for _, e := range allow {
		e = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(e), "."))
		if _, err := netip.ParsePrefix(e); err == nil {
			continue
		}
		if _, err := netip.ParseAddr(e); err == nil {
			continue
		}
		apex := true
		if rest, ok := strings.CutPrefix(e, "*."); ok {
			e, apex = rest, false
		} else if rest, ok := strings.CutPrefix(e, "."); ok {
			e, apex = rest, false
		}
		if e == "" {
			continue
		}
		if apex && name == e || strings.HasSuffix(name, "."+e) {
			return true
		}
	}
	return false
}

// quoteInput quotes what a user typed for a reply: at most quoteMax
// characters (then "…"), in double quotes, with control, non-ASCII and
// markup characters escaped, so an echo can neither mention anyone nor
// smuggle a link or look like something else.
func quoteInput(s string) string {
	cut := false
	if utf8.RuneCountInString(s) > quoteMax {
		r := []rune(s)
		s, cut = string(r[:quoteMax]), true
	}
	q := escapeMarkup(strconv.QuoteToASCII(s))
	if cut {
		q = q[:len(q)-1] + `…"`
	}
	return q
}

// escapeMarkup replaces the characters that chat platforms read as
// mentions, links or code spans (<, >, &, @ and `) by Go-style \x escapes.
// Adapters escape for their platform as well; this keeps echoed input
// harmless even where one forgets.
func escapeMarkup(s string) string {
	if !strings.ContainsAny(s, "<>&@`") {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '<', '>', '&', '@', '`':
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
