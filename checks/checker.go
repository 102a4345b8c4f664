package checks

import (
	"context"
	"log/slog"
	"net"
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

// Options configures a Runner.
type Options struct {
	// Resolver resolves every host name; nil means net.DefaultResolver.
	// Tests pass one that asks a stub DNS server on 127.0.0.1.
	Resolver *net.Resolver
	// Version goes into the User-Agent: tocsin/VERSION.
	Version string
	// ICMPMode forces a mode; "" detects (DetectICMP).
	ICMPMode ICMPMode
	// MaxICMP caps ICMP sockets held at once (default 512).
	MaxICMP int
	Logger  *slog.Logger
}

// Runner is the Checker of every kind: it picks the check by Target.Kind
// from an explicit map built in New.
type Runner struct {
	opts Options
}

var _ Checker = (*Runner)(nil)

// New returns a Runner. It fails when a ping target may be needed and
// neither ICMP mode works; the error says how to permit ICMP.
func New(opts Options) (*Runner, error) {
	panic("unimplemented")
}

// Check runs one check of t.
func (r *Runner) Check(ctx context.Context, t *Target) Result {
	panic("unimplemented")
}

// Mode is the ICMP mode the Runner uses.
func (r *Runner) Mode() ICMPMode {
	panic("unimplemented")
}

// Close releases what the Runner holds (idle HTTP connections).
func (r *Runner) Close() {
	panic("unimplemented")
}

// DetectICMP returns the ICMP mode this process may use: unprivileged
// when net.ipv4.ping_group_range admits our group, raw as the fallback, or
// an error explaining root, CAP_NET_RAW and the sysctl.
func DetectICMP() (ICMPMode, error) {
	panic("unimplemented")
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

// PingHost pings host count times, one second apart or interval, waiting
// timeout for each reply, calling onReply for each reply as it comes: the
// terminal `tocsin ping` and chat /ping. host must pass ValidHost; a name
// that does not resolve is an error.
func PingHost(ctx context.Context, resolver *net.Resolver, mode ICMPMode, host string, count int, interval, timeout time.Duration, onReply func(Reply)) (PingStats, error) {
	panic("unimplemented")
}

// ValidHost reports whether s is a hostname (RFC 1123 labels) or an IP
// literal, and if not, why: the rule for ping hosts in config, for
// `tocsin ping HOST` and for chat /ping.
func ValidHost(s string) error {
	panic("unimplemented")
}
