package checks

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// ICMPMode is how ICMP echo sockets are opened.
type ICMPMode string

// The ICMP modes.
const (
	// ICMPUnprivileged uses datagram ping sockets (net.ipv4.ping_group_range).
	ICMPUnprivileged ICMPMode = "unprivileged"
	// ICMPRaw uses raw sockets (root or CAP_NET_RAW).
	ICMPRaw ICMPMode = "raw"
)

// defaultTimeout bounds a check whose Target has no Timeout (config's
// default is the same).
const defaultTimeout = 5 * time.Second

// Options configures a Runner.
type Options struct {
	// Resolver resolves every host name; nil means net.DefaultResolver.
	// Tests pass one that asks a stub DNS server on 127.0.0.1.
	Resolver *net.Resolver
	// Version goes into the User-Agent: tocsin/VERSION ("" → "dev").
	Version string
	// ICMPMode forces a mode; "" detects (DetectICMP).
	ICMPMode ICMPMode
	// RequireICMP makes New fail when ICMPMode is "" and no ICMP mode is
	// permitted: set it when the config has ping targets. Without it, New
	// succeeds and every ping check fails with the reason.
	RequireICMP bool
	// MaxICMP caps pro-bing's ICMP sockets held at once (default 512):
	// ping checks with PerCheckICMP, and PingHost's callers' own caps.
	MaxICMP int
	// PerCheckICMP gives every ping check its own pro-bing Pinger and
	// socket instead of the shared sockets of the sweeper (sweep.go), which
	// are the default on Linux (config: icmp_socket: per_check).
	PerCheckICMP bool
	// Logger receives debug detail (pro-bing's messages); nil discards.
	Logger *slog.Logger
	// Now is the clock for Result.Time and certificate expiry; nil means
	// time.Now. Latencies are always measured on the monotonic clock.
	Now func() time.Time
}

// checkFunc runs one check of one kind. The Runner fills in Target, Kind
// and Time of what it returns. Latencies are measured on the real
// (monotonic) clock, whatever Options.Now says.
type checkFunc func(ctx context.Context, t *Target) Result

// Runner is the Checker of every kind: it picks the check by Target.Kind
// from an explicit map built in New.
type Runner struct {
	resolver *net.Resolver
	logger   *slog.Logger
	now      func() time.Time
	ua       string

	mode      ICMPMode
	icmpErr   error         // why no ICMP mode is permitted, when mode == ""
	icmpSlots chan struct{} // semaphore: one token per ICMP socket held
	sweep     *sweeper      // the shared sockets; nil with PerCheckICMP

	kinds map[Kind]checkFunc

	// transports holds the shared Transport (key {}) and one per distinct
	// TLS setting of HTTP targets.
	mu         sync.Mutex
	transports map[tlsKey]*http.Transport
}

var _ Checker = (*Runner)(nil)

// New returns a Runner. With Options.ICMPMode "" it detects the ICMP mode;
// when neither mode is permitted it fails only if Options.RequireICMP is
// set (the error wraps ErrICMPNotPermitted and says how to permit ICMP),
// and otherwise ping checks fail with that reason. An unknown ICMPMode is
// an error.
func New(opts Options) (*Runner, error) {
	r := &Runner{
		resolver:   opts.Resolver,
		logger:     opts.Logger,
		now:        opts.Now,
		ua:         "tocsin/" + opts.Version,
		mode:       opts.ICMPMode,
		transports: make(map[tlsKey]*http.Transport),
	}
	if r.resolver == nil {
		r.resolver = net.DefaultResolver
	}
	if r.logger == nil {
		r.logger = slog.New(slog.DiscardHandler)
	}
	if r.now == nil {
		r.now = time.Now
	}
	if opts.Version == "" {
		r.ua = "tocsin/dev"
	}
	switch r.mode {
	case ICMPUnprivileged, ICMPRaw:
	case "":
		mode, err := DetectICMP()
		if err != nil && opts.RequireICMP {
			return nil, err
		}
		r.mode, r.icmpErr = mode, err
	default:
		return nil, fmt.Errorf("unknown ICMP mode %q (want %q or %q)", opts.ICMPMode, ICMPUnprivileged, ICMPRaw)
	}
	maxICMP := opts.MaxICMP
	if maxICMP <= 0 {
		maxICMP = 512
	}
	r.icmpSlots = make(chan struct{}, maxICMP)
	if !opts.PerCheckICMP && sharedICMPSupported && r.mode != "" {
		r.sweep = newSweeper(r.mode, r.logger)
	}
	r.kinds = map[Kind]checkFunc{
		KindPing: r.checkPing,
		KindHTTP: r.checkHTTP,
		KindTCP:  r.checkTCP,
	}
	return r, nil
}

// Check runs one check of t and always returns its Result: an unknown
// kind, a nil target or even a panic inside a check becomes a failed
// Result with the reason. It honours ctx and t.Timeout (5s when unset).
func (r *Runner) Check(ctx context.Context, t *Target) (res Result) {
	start := r.now()
	if t == nil {
		return Result{Time: start, Reason: "no target"}
	}
	defer func() {
		if p := recover(); p != nil {
			r.logger.Error("check panicked", "target", t.Name, "panic", p)
			res = Result{Reason: fmt.Sprintf("internal error: %v", p)}
		}
		res.Target, res.Kind, res.Time = t.Name, t.Kind, start
		if res.OK {
			res.Reason = ""
		}
	}()
	check, ok := r.kinds[t.Kind]
	if !ok {
		return Result{Reason: fmt.Sprintf("unknown kind %q", t.Kind)}
	}
	return check(ctx, t)
}

// Mode is the ICMP mode the Runner uses; "" when none is permitted.
func (r *Runner) Mode() ICMPMode {
	return r.mode
}

// Close releases what the Runner holds: idle HTTP connections, and the
// shared ICMP sockets once the checks using them end (those keep their
// replies). The Runner stays usable: a later check opens new connections
// and sockets.
func (r *Runner) Close() {
	r.mu.Lock()
	for _, tr := range r.transports {
		tr.CloseIdleConnections()
	}
	r.mu.Unlock()
	if r.sweep != nil {
		r.sweep.close()
	}
}

// SharedICMP reports whether ping checks use the shared sockets.
func (r *Runner) SharedICMP() bool {
	return r.sweep != nil
}

// timeoutOf is the target's timeout, defaulted.
func timeoutOf(t *Target) time.Duration {
	if t.Timeout > 0 {
		return t.Timeout
	}
	return defaultTimeout
}

// Reply is one echo reply for PingHost.
type Reply struct {
	Seq  int
	From string // the address that answered
	TTL  int
	RTT  time.Duration
	Size int // bytes
}

// PingStats summarises PingHost.
type PingStats struct {
	Host                   string // as given
	Addr                   string // as resolved
	Sent, Received         int
	Loss                   float64 // percent
	MinRTT, AvgRTT, MaxRTT time.Duration
	StdDevRTT              time.Duration
}
