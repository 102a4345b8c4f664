package bot

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime/debug"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/tocsin/tocsin/checks"
)

// handlePing answers `ping HOST`. Everything that may refuse it (Allowed,
// the words, the policy, the rate limit) is decided before an echo is
// sent; the echoes go out in Later.
func (h *Handler) handlePing(cmd Command) Response {
	if !cmd.Allowed {
		return Response{Now: notAllowed(CmdPing)}
	}
	if len(cmd.Args) == 0 || cmd.Args[0] == "" {
		return Response{Now: usage(CmdPing)}
	}
	// Several words are judged as one input, so "127.0.0.1; rm -rf /"
	// is refused as what it is, whether an adapter split it or not.
	arg := strings.Join(cmd.Args, " ")
	set := h.settings()
	plan, refusal := planPing(arg, set)
	if refusal != "" {
		h.log.Info("bot: ping refused", "platform", cmd.Platform, "user", cmd.User.ID,
			"input", truncate(arg, maxHostInput), "reason", refusal)
		return Response{Now: refuse(refusal)}
	}
	if h.ping == nil {
		return Response{Now: refuse("ping is not available in this tocsin")}
	}
	limit, per := set.RateLimit, set.RatePer
	if limit <= 0 || per <= 0 {
		limit, per = defaultRateLimit, defaultRatePer
	}
	key := rateKey{Platform: cmd.Platform, User: cmd.User.ID}
	if ok, retry := h.limiter.allow(key, h.now(), limit, per); !ok {
		return Response{Now: refuse(fmt.Sprintf("too many pings: at most %d per %s; try again in %s",
			limit, formatDuration(per), formatDuration(max(retry, time.Second))))}
	}
	label := plan.Host
	if plan.Target != "" && plan.Target != plan.Host {
		label = plan.Target + " at " + plan.Host
	}
	h.log.Info("bot: ping", "platform", cmd.Platform, "user", cmd.User.ID, "host", plan.Host, "target", plan.Target)
	return Response{
		Now: Reply{Text: fmt.Sprintf("Pinging %s (%d echoes)…", label, PingCount)},
		Later: func(ctx context.Context) (r Reply) {
			// Later runs on the adapter's goroutine, outside Handle's
			// recover: a panic here would end the daemon.
			defer func() {
				if p := recover(); p != nil {
					h.log.Error("bot: ping panicked", "host", plan.Host, "panic", p, "stack", string(debug.Stack()))
					r = Reply{Text: "the ping of " + label + " failed; see tocsin's log"}
				}
			}()
			return h.runPing(ctx, plan.Host, label)
		},
	}
}

// runPing sends the echoes to host and describes them as `tocsin ping`
// prints them; label names the host in the texts.
func (h *Handler) runPing(ctx context.Context, host, label string) Reply {
	ctx, cancel := context.WithTimeout(ctx, pingDeadline)
	defer cancel()
	var (
		mu    sync.Mutex
		lines []string
	)
	stats, err := h.ping(ctx, host, PingCount, func(r checks.Reply) {
		line := fmt.Sprintf("%d bytes from %s: icmp_seq=%d ttl=%d time=%s",
			r.Size, r.From, r.Seq, r.TTL, formatMillis(r.RTT))
		mu.Lock()
		lines = append(lines, line)
		mu.Unlock()
	})
	if err != nil {
		return Reply{Text: h.pingError(host, label, err)}
	}
	mu.Lock()
	defer mu.Unlock()
	return Reply{Text: pingVerdict(stats, label), Block: pingBlock(host, stats, lines)}
}

// pingVerdict is the one-line answer to a ping that ran.
func pingVerdict(stats checks.PingStats, label string) string {
	switch {
	case stats.Received == 0:
		return "no reply from " + label
	case stats.Received < stats.Sent:
		return fmt.Sprintf("%s is answering (%d of %d replies)", label, stats.Received, stats.Sent)
	}
	return label + " is answering"
}

// pingBlock is the output of `tocsin ping` for the same run: a header,
// a line per reply, the statistics.
func pingBlock(host string, stats checks.PingStats, lines []string) string {
	addr := stats.Addr
	if addr == "" {
		addr = host
	}
	var b strings.Builder
	fmt.Fprintf(&b, "PING %s (%s): %d echo requests\n", host, addr, PingCount)
	for _, l := range lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "\n--- %s ping statistics ---\n", host)
	// %.6g as iputils prints it: "66.6667%", not Go's shortest "66.66666666666667%".
	fmt.Fprintf(&b, "%d packets transmitted, %d received, %.6g%% packet loss", stats.Sent, stats.Received, stats.Loss)
	if stats.Received > 0 {
		fmt.Fprintf(&b, "\nrtt min/avg/max/mdev = %.3f/%.3f/%.3f/%.3f ms",
			ms(stats.MinRTT), ms(stats.AvgRTT), ms(stats.MaxRTT), ms(stats.StdDevRTT))
	}
	return b.String()
}

func ms(d time.Duration) float64 {
	return float64(d.Microseconds()) / 1000
}

// pingError is the user-safe text of a ping that could not run; the error
// itself goes to the log.
func (h *Handler) pingError(host, label string, err error) string {
	var dnsErr *net.DNSError
	switch {
	case errors.Is(err, checks.ErrICMPNotPermitted):
		h.log.Error("bot: ping: ICMP not permitted", "host", host, "err", err)
		return "tocsin may not send ICMP echoes on its host; see its log"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		h.log.Warn("bot: ping cut short", "host", host, "err", err)
		return "the ping of " + label + " was cut short"
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound, notFound(err):
		h.log.Info("bot: ping: no such host", "host", host, "err", err)
		return label + " does not resolve"
	case errors.As(err, &dnsErr), strings.HasPrefix(err.Error(), "lookup "):
		h.log.Warn("bot: ping: lookup failed", "host", host, "err", err)
		return label + " could not be resolved; see tocsin's log"
	}
	h.log.Error("bot: ping failed", "host", host, "err", err)
	return "the ping of " + label + " failed; see tocsin's log"
}

// notFound reports whether err is checks.PingHost's error for a name that
// does not resolve: PingHost flattens the *net.DNSError to its text,
// "lookup NAME: no such host".
func notFound(err error) bool {
	s := err.Error()
	return strings.HasPrefix(s, "lookup ") && strings.HasSuffix(s, "no such host")
}

// truncate is s cut to at most n bytes, on a rune boundary, for logs.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
