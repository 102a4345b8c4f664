// Package checks describes what tocsin watches (Target) and what one look at
// it found (Result), and runs the looks: one file per kind of check
// (icmp.go, http.go, tcp.go). It knows nothing of state, thresholds or alerts.
package checks

import (
	"context"
	"time"
)

// Kind names the sort of check a target gets.
type Kind string

// The kinds of check. The strings are part of the contract: they appear in
// config.yaml, /api/status, `tocsin check --json` and the results log.
const (
	KindPing Kind = "ping"
	KindHTTP Kind = "http"
	KindTCP  Kind = "tcp"
)

// Target is one thing tocsin watches, with every setting resolved: defaults
// from config.yaml's `defaults:` are already applied by the config package.
type Target struct {
	// Name is unique and what chat shows; never a host.
	Name string
	Kind Kind

	// Exactly one of these is used, according to Kind.
	Ping PingSpec
	HTTP HTTPSpec
	TCP  TCPSpec

	// Timeout bounds one check of the target as a whole.
	Timeout time.Duration
	// Schedule is a robfig/cron/v3 spec; `every: 30s` arrives here as
	// "@every 30s". Every is the interval when the spec is an @every, else 0.
	Schedule string
	Every    time.Duration

	FailAfter     int           // consecutive failures before DOWN (≥ 1)
	RecoverAfter  int           // consecutive successes before UP (≥ 1)
	RemindEvery   time.Duration // 0 = never
	EscalateAfter time.Duration // 0 = never
	// AckExpires, when > 0, withdraws an acknowledgement this long after it
	// was given, so reminders resume on an outage nobody finished.
	AckExpires time.Duration
	GroupWait  time.Duration
	FlapHigh   float64 // percent, 0–100
	FlapLow    float64 // percent, 0–100

	DependsOn []string
	Tags      []string
}

// PingSpec is the setting of an ICMP echo check.
type PingSpec struct {
	Host     string        // hostname or IP literal
	Count    int           // echoes per check (≥ 1)
	Interval time.Duration // between echoes
	// MaxLoss is the loss in percent (0–100) above which the check fails.
	// When HasMaxLoss is false the check fails only when every echo is lost.
	MaxLoss    float64
	HasMaxLoss bool
}

// HTTPSpec is the setting of an HTTP(S) check.
type HTTPSpec struct {
	URL     string
	Method  string // default GET
	Headers map[string]string
	Body    string
	// ExpectStatus lists the codes that pass; empty means any 2xx or 3xx.
	ExpectStatus []int
	// Contains, when set, must appear in the response body.
	Contains string
	// MaxLatency, when set, fails a check slower than it.
	MaxLatency time.Duration
	// CertDays, when > 0, fails a check whose TLS leaf certificate expires in
	// fewer days than this.
	CertDays           int
	InsecureSkipVerify bool
	CAFile             string
}

// TCPSpec is the setting of a TCP connect check.
type TCPSpec struct {
	Address string // host:port
}

// Host returns the host a target reaches (the ping host, the URL's host, or
// the TCP address's host): what /ping may be pointed at.
func (t *Target) Host() string {
	switch t.Kind {
	case KindPing:
		return t.Ping.Host
	case KindHTTP:
		return hostOfURL(t.HTTP.URL)
	case KindTCP:
		return hostOfAddr(t.TCP.Address)
	}
	return ""
}

// Address returns what the target's check is aimed at, as the user wrote it:
// the ping host, the URL or the TCP address. Alerts show it as the detail.
func (t *Target) Address() string {
	switch t.Kind {
	case KindPing:
		return t.Ping.Host
	case KindHTTP:
		return t.HTTP.URL
	case KindTCP:
		return t.TCP.Address
	}
	return ""
}

// Result is what one check of a target found.
type Result struct {
	Target string
	Kind   Kind
	Time   time.Time // when the check started
	OK     bool
	// Latency is the round-trip time (ping: the average), the time to the
	// full response (HTTP), or the connect time (TCP).
	Latency time.Duration
	// Reason is a short human reason when !OK: "HTTP 503",
	// "100% packet loss (3/3)", "dial tcp 127.0.0.1:9: connection refused",
	// "lookup db.internal: no such host", "slow: 2.4s > 2s". Empty when OK.
	Reason string

	// ICMP detail.
	Sent, Received         int
	Loss                   float64 // percent
	MinRTT, AvgRTT, MaxRTT time.Duration

	// HTTP detail.
	StatusCode int
	CertExpiry time.Time // zero unless the response came over TLS
}

// Checker runs one check of a target. Check never panics on bad input and
// never returns without a Result: a failure to even start the check (an
// unresolvable name, a refused socket) is a Result with OK false and the
// reason. It honours ctx and the target's Timeout.
type Checker interface {
	Check(ctx context.Context, t *Target) Result
}
