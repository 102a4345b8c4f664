package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	"github.com/tocsin/tocsin/checks"
)

// validName reports whether s matches [A-Za-z0-9][A-Za-z0-9._-]{0,99}.
func validName(s string) bool {
	if s == "" || len(s) > 100 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case i > 0 && (c == '.' || c == '_' || c == '-'):
		default:
			return false
		}
	}
	return true
}

// validHost reports whether s is a hostname (RFC 1123 labels of letters,
// digits and inner hyphens, at most 63 bytes each and 253 in all; one
// trailing dot allowed) or an IP literal (IPv6 without brackets, no zone).
// A scheme, a port, a path or a space makes it invalid.
func validHost(s string) bool {
	// One rule for config, `tocsin ping` and chat /ping: checks owns it.
	return checks.ValidHost(s) == nil
}

// hostPort checks a host:port with a valid host and a port in [minPort,
// 65535]; emptyHost allows ":8080". The error is a predicate to follow the
// quoted value and quotes no part of it.
func hostPort(s string, minPort int, emptyHost bool) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return errors.New("is not host:port")
	}
	if host == "" && !emptyHost || host != "" && !validHost(host) {
		return errors.New("has no valid host (a hostname or IP address)")
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < minPort || p > 65535 {
		return fmt.Errorf("has no valid port (a number from %d to 65535)", minPort)
	}
	return nil
}

// checkURL checks an http or https URL with a valid host (and port, when
// given). Its error never quotes the URL, which may carry a secret.
func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return errors.New("is not a valid URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return errors.New("must start with http:// or https://")
	}
	if u.Host == "" || !validHost(u.Hostname()) {
		return errors.New("has no valid host")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return errors.New("has no valid port (a number from 1 to 65535)")
		}
	}
	return nil
}

// parseCron validates spec as the scheduler parses it (seconds optional,
// descriptors such as @every and @hourly, CRON_TZ= / TZ= prefixes) and
// returns the interval when it is an @every (as robfig/cron runs it: whole
// seconds, at least 1s), else 0.
func parseCron(spec string) (every time.Duration, err error) {
	// robfig/cron v3.0.1 indexes past the end of "CRON_TZ=UTC" with nothing
	// after it; a config error must never crash the daemon.
	defer func() {
		if r := recover(); r != nil {
			every, err = 0, errors.New("no schedule after the time zone")
		}
	}()
	p := cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)
	s, err := p.Parse(spec)
	if err != nil {
		return 0, err
	}
	if c, ok := s.(cron.ConstantDelaySchedule); ok {
		// robfig rounds @every down to whole seconds, at least 1s: say so
		// rather than run "@every 1500ms" every second.
		text := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(spec), "@every"))
		if d, err := ParseDuration(text); err == nil && d != c.Delay {
			return 0, errors.New("@every must be a whole number of seconds, at least 1s")
		}
		return c.Delay, nil
	}
	if s.Next(time.Now()).IsZero() {
		return 0, errors.New("it never fires")
	}
	return 0, nil
}

// httpMethod returns m in upper case when it is a method an http target
// may use.
func httpMethod(m string) (string, bool) {
	switch u := strings.ToUpper(m); u {
	case "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE":
		return u, true
	}
	return "", false
}

// validHeaderName reports whether s is an RFC 9110 token.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// validHeaderValue reports whether s has no control characters but tab.
func validHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// kindOnly returns the kind a kind-specific target key belongs to, or ""
// for a key every kind may have.
func kindOnly(key string) checks.Kind {
	switch key {
	case "count", "ping_interval", "max_loss":
		return checks.KindPing
	case "method", "headers", "body", "expect_status", "contains", "max_latency",
		"cert_days", "insecure_skip_verify", "ca_file":
		return checks.KindHTTP
	}
	return ""
}
