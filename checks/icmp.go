package checks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/netip"
	"os"
	"strconv"
	"time"

	probing "github.com/prometheus-community/pro-bing"
	"golang.org/x/net/icmp"
)

// ErrICMPNotPermitted is wrapped by the errors of DetectICMP, New (with
// RequireICMP) and PingHost when this process may open neither kind of
// ICMP socket.
var ErrICMPNotPermitted = errors.New("ICMP not permitted")

// DetectICMP returns the ICMP mode this process may use: unprivileged
// when net.ipv4.ping_group_range admits our group, raw as the fallback, or
// an error wrapping ErrICMPNotPermitted that explains root, CAP_NET_RAW and
// the sysctl.
func DetectICMP() (ICMPMode, error) {
	c, uerr := icmp.ListenPacket("udp4", "0.0.0.0")
	if uerr == nil {
		c.Close()
		return ICMPUnprivileged, nil
	}
	c, rerr := icmp.ListenPacket("ip4:icmp", "0.0.0.0")
	if rerr == nil {
		c.Close()
		return ICMPRaw, nil
	}
	return "", icmpError(uerr, rerr)
}

// icmpError is DetectICMP's explanation when both socket kinds failed.
func icmpError(unprivErr, rawErr error) error {
	return fmt.Errorf("%w: unprivileged ping socket: %v; raw socket: %v; "+
		"run tocsin as root, or grant it CAP_NET_RAW (setcap cap_net_raw+ep tocsin), "+
		`or allow ping sockets for its group (sysctl -w net.ipv4.ping_group_range="0 2147483647")`,
		ErrICMPNotPermitted, reasonOf(unprivErr), reasonOf(rawErr))
}

// checkPing is the KindPing check: resolve, then Count echoes Interval
// apart, the whole check bounded by the target's Timeout.
func (r *Runner) checkPing(ctx context.Context, t *Target) Result {
	spec := t.Ping
	// The host reaches the resolver and pro-bing only when it is one.
	if err := ValidHost(spec.Host); err != nil {
		return Result{Reason: err.Error()}
	}
	if r.mode == "" {
		return Result{Reason: "ICMP not permitted: run as root, grant CAP_NET_RAW, or widen net.ipv4.ping_group_range"}
	}
	timeout := timeoutOf(t)
	if r.sweep != nil {
		return r.checkPingShared(ctx, t, timeout)
	}

	// Wait for a socket slot under the caller's context only: a queue of
	// checks is the daemon's load, not the target's failure.
	select {
	case r.icmpSlots <- struct{}{}:
	case <-ctx.Done():
		return Result{Reason: "check canceled: " + ctx.Err().Error()}
	}
	defer func() { <-r.icmpSlots }()

	checkCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	addrs, err := resolveHost(checkCtx, r.resolver, "ip", spec.Host)
	if err != nil {
		return Result{Reason: failReason(ctx, checkCtx, timeout, err)}
	}

	count := max(spec.Count, 1)
	p := newPinger(addrs[0], r.mode, r.logger)
	p.Count = count
	p.Interval = spec.Interval
	if p.Interval <= 0 {
		p.Interval = time.Second
	}
	// What is left of the timeout after resolving.
	dl, _ := checkCtx.Deadline()
	p.Timeout = time.Until(dl)
	if p.Timeout <= 0 {
		return Result{Reason: timeoutReason(timeout)}
	}
	// OnRecv runs on pro-bing's loop goroutine, one packet at a time, and
	// Run returns only after that goroutine ended: no lock needed.
	rtts := make([]time.Duration, 0, count)
	p.OnRecv = func(pkt *probing.Packet) { rtts = append(rtts, pkt.Rtt) }

	err = p.RunWithContext(checkCtx)
	sent := p.Statistics().PacketsSent
	// Echoes sent and the time up: judge the replies (100% loss is the
	// reason, not a timeout). Only a cancelled caller or nothing sent is a
	// failure of the check itself.
	if err != nil && (sent == 0 || errors.Is(ctx.Err(), context.Canceled)) {
		if perr := permissionError(r.mode, err); perr != nil {
			return Result{Reason: perr.Error()}
		}
		return Result{Sent: sent, Reason: failReason(ctx, checkCtx, timeout, err)}
	}
	return pingResult(sent, len(rtts), rtts, spec)
}

// checkPingShared is checkPing over the sweeper's shared sockets.
func (r *Runner) checkPingShared(ctx context.Context, t *Target, timeout time.Duration) Result {
	spec := t.Ping
	checkCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	addrs, err := resolveHost(checkCtx, r.resolver, "ip", spec.Host)
	if err != nil {
		return Result{Reason: failReason(ctx, checkCtx, timeout, err)}
	}
	interval := spec.Interval
	if interval <= 0 {
		interval = time.Second
	}
	sent, rtts, err := r.sweep.ping(checkCtx, addrs[0].Unmap(), max(spec.Count, 1), interval)
	if err != nil && sent == 0 {
		if perr := permissionError(r.mode, err); perr != nil {
			return Result{Reason: perr.Error()}
		}
		return Result{Reason: failReason(ctx, checkCtx, timeout, err)}
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		return Result{Sent: sent, Reason: "check canceled: " + ctx.Err().Error()}
	}
	return pingResult(sent, len(rtts), rtts, spec)
}

// newPinger is a pro-bing Pinger aimed at addr, which is already
// resolved, in mode, recording no RTT or TTL history of its own.
func newPinger(addr netip.Addr, mode ICMPMode, logger *slog.Logger) *probing.Pinger {
	p := probing.New(addr.String())
	p.SetIPAddr(&net.IPAddr{IP: addr.AsSlice(), Zone: addr.Zone()})
	p.SetPrivileged(mode == ICMPRaw)
	p.SetLogger(probingLogger{logger})
	p.RecordRtts = false
	p.RecordTTLs = false
	return p
}

// pingResult judges an ICMP check: sent echoes, recv replies with their
// rtts. It fails on 100% loss, or, when spec.HasMaxLoss, on loss above
// spec.MaxLoss; Latency is the average RTT.
func pingResult(sent, recv int, rtts []time.Duration, spec PingSpec) Result {
	res := Result{Sent: sent, Received: recv, OK: true}
	if sent <= 0 {
		res.OK = false
		res.Reason = "no echo request sent"
		return res
	}
	recv = min(recv, sent)
	res.Received = recv
	lost := sent - recv
	res.Loss = float64(lost) / float64(sent) * 100
	if len(rtts) > 0 {
		var sum time.Duration
		res.MinRTT, res.MaxRTT = rtts[0], rtts[0]
		for _, d := range rtts {
			sum += d
			res.MinRTT = min(res.MinRTT, d)
			res.MaxRTT = max(res.MaxRTT, d)
		}
		res.AvgRTT = sum / time.Duration(len(rtts))
		res.Latency = res.AvgRTT
	}
	switch {
	case recv == 0:
		res.OK = false
		res.Reason = fmt.Sprintf("100%% packet loss (%d/%d)", lost, sent)
	case spec.HasMaxLoss && res.Loss > spec.MaxLoss:
		res.OK = false
		res.Reason = fmt.Sprintf("packet loss %s > %s (%d/%d)",
			lossPercent(res.Loss, spec.MaxLoss), formatPercent(spec.MaxLoss), lost, sent)
	}
	return res
}

// lossPercent prints loss as a whole percent ("67%") unless rounding would
// make it look no greater than limit, then with one decimal.
func lossPercent(loss, limit float64) string {
	if math.Round(loss) > limit {
		return strconv.FormatFloat(math.Round(loss), 'f', -1, 64) + "%"
	}
	return strconv.FormatFloat(math.Round(loss*10)/10, 'f', -1, 64) + "%"
}

// formatPercent prints a configured percent as written: "50%", "12.5%".
func formatPercent(p float64) string {
	return strconv.FormatFloat(p, 'f', -1, 64) + "%"
}

// PingHost pings host count times, interval apart (1s when ≤ 0), waiting
// timeout (1s when ≤ 0) for the last reply, so the whole run is bounded by
// (count-1)·interval + timeout; it calls onReply (which may be nil) for
// each reply as it comes, from one goroutine: the terminal `tocsin ping`
// and chat /ping. mode "" detects. Errors: host fails ValidHost (that
// error), host does not resolve (`lookup NAME: no such host`), count < 1,
// ICMP not permitted (wraps ErrICMPNotPermitted), or the socket failed. No
// reply at all is not an error: Received is 0. A canceled ctx ends the run
// early with the stats so far, and is an error only if nothing was sent.
func PingHost(ctx context.Context, resolver *net.Resolver, mode ICMPMode, host string, count int, interval, timeout time.Duration, onReply func(Reply)) (PingStats, error) {
	stats := PingStats{Host: host}
	if err := ValidHost(host); err != nil {
		return stats, err
	}
	if count < 1 {
		return stats, fmt.Errorf("count %d: must be at least 1", count)
	}
	if interval <= 0 {
		interval = time.Second
	}
	if timeout <= 0 {
		timeout = time.Second
	}
	if resolver == nil {
		resolver = net.DefaultResolver
	}
	switch mode {
	case ICMPUnprivileged, ICMPRaw:
	case "":
		m, err := DetectICMP()
		if err != nil {
			return stats, err
		}
		mode = m
	default:
		return stats, fmt.Errorf("unknown ICMP mode %q", mode)
	}

	lctx, cancel := context.WithTimeout(ctx, timeout+interval)
	addrs, err := resolveHost(lctx, resolver, "ip", host)
	cancel()
	if err != nil {
		return stats, errors.New(reasonOf(err))
	}
	stats.Addr = addrs[0].String()

	p := newPinger(addrs[0], mode, nil)
	p.Count = count
	p.Interval = interval
	p.Timeout = time.Duration(count-1)*interval + timeout
	if onReply != nil {
		p.OnRecv = func(pkt *probing.Packet) {
			onReply(Reply{Seq: pkt.Seq, From: pkt.Addr, TTL: pkt.TTL, RTT: pkt.Rtt, Size: pkt.Nbytes})
		}
	}
	runErr := p.RunWithContext(ctx)
	s := p.Statistics()
	stats.Sent, stats.Received, stats.Loss = s.PacketsSent, s.PacketsRecv, s.PacketLoss
	stats.MinRTT, stats.AvgRTT, stats.MaxRTT, stats.StdDevRTT = s.MinRtt, s.AvgRtt, s.MaxRtt, s.StdDevRtt
	if runErr != nil && stats.Sent == 0 {
		if ctx.Err() != nil {
			return stats, ctx.Err()
		}
		if perr := permissionError(mode, runErr); perr != nil {
			return stats, perr
		}
		return stats, errors.New(reasonOf(runErr))
	}
	return stats, nil
}

// permissionError is the explanation of a socket refused in mode, wrapping
// ErrICMPNotPermitted, or nil when err is no permission error.
func permissionError(mode ICMPMode, err error) error {
	if !errors.Is(err, os.ErrPermission) {
		return nil
	}
	how := "grant CAP_NET_RAW or run as root"
	if mode == ICMPUnprivileged {
		how = `widen net.ipv4.ping_group_range, or use raw mode`
	}
	return fmt.Errorf("%w in %s mode (%s): %s", ErrICMPNotPermitted, mode, how, reasonOf(err))
}

// probingLogger routes pro-bing's messages to slog at debug level (its
// "Fatalf" ones, which it survives, at warn); a nil logger discards.
type probingLogger struct{ l *slog.Logger }

func (p probingLogger) log(level slog.Level, format string, v ...any) {
	if p.l == nil {
		return
	}
	p.l.Log(context.Background(), level, "pro-bing: "+fmt.Sprintf(format, v...))
}

func (p probingLogger) Fatalf(format string, v ...any) { p.log(slog.LevelWarn, format, v...) }
func (p probingLogger) Errorf(format string, v ...any) { p.log(slog.LevelWarn, format, v...) }
func (p probingLogger) Warnf(format string, v ...any)  { p.log(slog.LevelDebug, format, v...) }
func (p probingLogger) Infof(format string, v ...any)  { p.log(slog.LevelDebug, format, v...) }
func (p probingLogger) Debugf(format string, v ...any) { p.log(slog.LevelDebug, format, v...) }
