package bot

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"strings"
	"time"

	"github.com/tocsin/tocsin/checks"
	"github.com/tocsin/tocsin/oncall"
)

// Settings is the part of the config the Handler obeys. Options.Settings
// returns it for every command, so a config reload takes effect at once.
type Settings struct {
	// Targets are the configured targets: /ping reaches their hosts (by
	// target name or by host).
	Targets []checks.Target
	// PingAllow are CIDRs, IPs and domain suffixes ("example.com",
	// ".example.com", "*.example.com") /ping may reach besides the
	// targets' hosts (config bot.ping_allow).
	PingAllow []string
	// RateLimit is how many pings one user (per platform) may ask for per
	// RatePer; either ≤ 0 means the config's default, 5 per minute.
	RateLimit int
	RatePer   time.Duration
	// Oncall is the on-call rotation (config oncall:), which /oncall and
	// /status show; nil when there is none.
	Oncall *oncall.Rotation
}

// Options configures a Handler.
type Options struct {
	// State acknowledges, mutes and reports (*state.Tracker).
	State State
	// Ping sends the echoes of /ping: NewPinger binds checks.PingHost with
	// PingInterval and PingTimeout. nil: /ping is refused.
	Ping Pinger
	// Settings returns the current settings; nil means none (no targets,
	// an empty ping_allow).
	Settings func() Settings
	// Now is the clock of the rate limit, mute ends and "how long ago";
	// nil means time.Now.
	Now func() time.Time
	// Logger receives what users are not shown (internal errors); nil
	// discards.
	Logger *slog.Logger
}

// The echoes of one /ping: PingCount of them, PingInterval apart, the
// last one waited for PingTimeout, as `tocsin ping` does by default.
const (
	PingCount    = 3
	PingInterval = time.Second
	PingTimeout  = time.Second
)

// The defaults of Settings.RateLimit and RatePer (config's bot.rate_limit).
const (
	defaultRateLimit = 5
	defaultRatePer   = time.Minute
)

// maxMute is the longest mute a chat command may set.
const maxMute = 30 * 24 * time.Hour

// maxReason is how many characters of an ack's reason are kept.
const maxReason = 300

// pingDeadline bounds a /ping's follow-up as a whole (resolving, the
// echoes, the wait for the last), whatever context the adapter gives.
const pingDeadline = 15 * time.Second

// NewPinger returns the Pinger of a running tocsin: checks.PingHost with
// resolver (nil: the system's) and mode ("" detects), PingInterval apart,
// waiting PingTimeout for the last reply.
func NewPinger(resolver *net.Resolver, mode checks.ICMPMode) Pinger {
	return func(ctx context.Context, host string, count int, onReply func(checks.Reply)) (checks.PingStats, error) {
		return checks.PingHost(ctx, resolver, mode, host, count, PingInterval, PingTimeout, onReply)
	}
}

// Handler answers Commands: ping, status, ack, unack, mute, unmute,
// oncall and help. It
// is safe for concurrent use; the rate limit is the only state it keeps.
type Handler struct {
	state    State
	ping     Pinger
	settings func() Settings
	now      func() time.Time
	log      *slog.Logger
	limiter  *rateLimiter
}

// NewHandler returns a Handler with opts.
func NewHandler(opts Options) *Handler {
	h := &Handler{
		state:    opts.State,
		ping:     opts.Ping,
		settings: opts.Settings,
		now:      opts.Now,
		log:      opts.Logger,
		limiter:  newRateLimiter(),
	}
	if h.settings == nil {
		h.settings = func() Settings { return Settings{} }
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	return h
}

// Handle answers cmd. Refusals (not allowed, bad arguments, the ping
// policy, the rate limit) and errors are ephemeral Replies in Now with no
// Later; only an accepted ping has a Later. Reply texts are plain text
// that quote users' input escaped; internal errors are logged, and the
// user is told only that something failed. Handle does not panic: a panic
// below it is logged and answered as an internal error.
func (h *Handler) Handle(ctx context.Context, cmd Command) (resp Response) {
	defer func() {
		if p := recover(); p != nil {
			h.log.Error("bot: command panicked", "command", cmd.Name, "platform", cmd.Platform,
				"user", cmd.User.ID, "panic", p, "stack", string(debug.Stack()))
			resp = Response{Now: internalError()}
		}
	}()
	name := strings.ToLower(cmd.Name)
	h.log.Debug("bot: command", "command", name, "args", cmd.Args, "platform", cmd.Platform,
		"user", cmd.User.ID, "user_name", cmd.User.Name, "channel", cmd.Channel)
	switch name {
	case CmdPing:
		return h.handlePing(cmd)
	case CmdStatus:
		return Response{Now: h.withOncall(cmd, h.handleStatus(cmd))}
	case CmdAck:
		return Response{Now: h.handleAck(ctx, cmd)}
	case CmdUnack:
		return Response{Now: h.handleUnack(ctx, cmd)}
	case CmdMute:
		return Response{Now: h.handleMute(ctx, cmd)}
	case CmdUnmute:
		return Response{Now: h.handleUnmute(ctx, cmd)}
	case CmdOncall:
		return Response{Now: h.handleOncall(cmd)}
	case CmdHelp, "":
		return Response{Now: help("")}
	}
	return Response{Now: help(fmt.Sprintf("tocsin has no command %s.", quoteInput(cmd.Name)))}
}

// usages are the commands, one a line, as help lists them.
var usages = [][2]string{
	{"ping HOST", "ICMP echo (3) to a target (by name or host) or a host in bot.ping_allow"},
	{"status [TARGET]", "how many targets are up and down, and each one down; or one target's detail"},
	{"ack TARGET [REASON…]", "acknowledge TARGET's open incident"},
	{"unack TARGET", "withdraw the acknowledgement of TARGET's incident; reminders resume"},
	{"mute TARGET DURATION", "hold TARGET's alerts for DURATION (30m, 2h, 1d; at most 30d)"},
	{"unmute TARGET", "end TARGET's mute"},
	{"oncall", "who is on call now, until when, and who is next"},
	{"help", "this list"},
}

// help is the ephemeral list of every command, after lead when not "".
func help(lead string) Reply {
	var b strings.Builder
	for i, u := range usages {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "%-22s %s", u[0], u[1])
	}
	text := "tocsin commands:"
	if lead != "" {
		text = lead + " " + text
	}
	return Reply{Text: text, Block: b.String(), Ephemeral: true}
}

// usage is the ephemeral refusal of a command given the wrong words.
func usage(command string) Reply {
	for _, u := range usages {
		if strings.HasPrefix(u[0], command+" ") || u[0] == command {
			return refuse("usage: " + u[0])
		}
	}
	return refuse("usage: " + command)
}

// refuse is an ephemeral Reply of text.
func refuse(text string) Reply {
	return Reply{Text: text, Ephemeral: true}
}

// notAllowed is the refusal of a command the adapter found the user not
// permitted to give.
func notAllowed(command string) Reply {
	return refuse("you are not allowed to " + command)
}

// internalError is the reply to a failure whose detail is only logged.
func internalError() Reply {
	return refuse("tocsin could not record that; see its log")
}

// who is the name a command's actions are recorded under.
func who(cmd Command) string {
	if cmd.User.Name != "" {
		return cmd.User.Name
	}
	return cmd.User.ID
}

// formatTime is how replies show a moment: UTC, to the second.
func formatTime(t time.Time) string {
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// formatDuration is how replies show a span: its largest unit and the
// next one when not 0: "2d 3h", "2h 5m", "2h", "5m 3s", "42s"; under a
// second "0s".
func formatDuration(d time.Duration) string {
	d = d.Abs().Round(time.Second)
	units := []struct {
		d    time.Duration
		name string
	}{{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}}
	for i, u := range units {
		n := d / u.d
		if n == 0 {
			continue
		}
		s := fmt.Sprintf("%d%s", n, u.name)
		if i+1 < len(units) {
			if m := (d - n*u.d) / units[i+1].d; m > 0 {
				s += fmt.Sprintf(" %d%s", m, units[i+1].name)
			}
		}
		return s
	}
	return "0s"
}

// formatMillis is an RTT or latency as `tocsin ping` prints it: "0.045 ms".
func formatMillis(d time.Duration) string {
	return fmt.Sprintf("%.3f ms", float64(d.Microseconds())/1000)
}
