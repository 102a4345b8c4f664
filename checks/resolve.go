package checks

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"time"
)

// NewResolver returns a pure-Go resolver that asks only the DNS server at
// addr ("host:port", config's `resolver:` key), over UDP or TCP as the
// resolver needs; "" returns nil, which means the system's resolver.
func NewResolver(addr string) *net.Resolver {
	if addr == "" {
		return nil
	}
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
	}
}

// resolveHost returns the addresses of host, in the resolver's order of
// preference: an IP literal as itself (the resolver is not asked), a name
// through r. network is "ip", "ip4" or "ip6". Errors are *net.DNSError.
func resolveHost(ctx context.Context, r *net.Resolver, network, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{a.Unmap()}, nil
	}
	addrs, err := r.LookupNetIP(ctx, network, host)
	if err != nil {
		return nil, err
	}
	if len(addrs) == 0 {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	for i, a := range addrs {
		addrs[i] = a.Unmap()
	}
	return addrs, nil
}

// dialAddrs dials the resolved addresses of host in order and returns the
// first connection made, or the last error: the dial of every check that
// connects (HTTP, TCP). port is numeric or a service name.
func dialAddrs(ctx context.Context, r *net.Resolver, network, hostport string) (net.Conn, error) {
	host, portStr, err := net.SplitHostPort(hostport)
	if err != nil {
		return nil, err
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		// A service name ("https"): the Go resolver reads /etc/services,
		// no DNS query is made.
		p, lerr := r.LookupPort(ctx, network, portStr)
		if lerr != nil {
			return nil, lerr
		}
		port = uint64(p)
	}
	addrs, err := resolveHost(ctx, r, "ip", host)
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	var lastErr error
	for i, a := range addrs {
		// Each address gets its share of the time left, as net.Dialer
		// does, so a black-holed first address (a broken IPv6 route) does
		// not use up the check before the next one is tried.
		actx, cancel := addrContext(ctx, len(addrs)-i)
		c, err := d.DialContext(actx, network, netip.AddrPortFrom(a, uint16(port)).String())
		cancel()
		if err == nil {
			return c, nil
		}
		lastErr = err
		if ctx.Err() != nil {
			break
		}
	}
	return nil, lastErr
}

// minAddrTimeout is the least time an address gets when the check's time
// is shared among several.
const minAddrTimeout = 2 * time.Second

// addrContext returns ctx with a deadline of a 1/left share of its time
// remaining (at least minAddrTimeout, never past ctx's own deadline).
func addrContext(ctx context.Context, left int) (context.Context, context.CancelFunc) {
	dl, ok := ctx.Deadline()
	if !ok || left <= 1 {
		return context.WithCancel(ctx)
	}
	share := max(time.Until(dl)/time.Duration(left), minAddrTimeout)
	return context.WithTimeout(ctx, share)
}

// reasonOf turns an error of a check into a stable, short reason: without
// Go's `Get "url": ` prefix, the DNS server's address, or the syscall name
// ("dial tcp 127.0.0.1:9: connection refused").
func reasonOf(err error) string {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		e := *dnsErr
		e.Server = ""
		return e.Error()
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		e := *opErr
		var sysErr *os.SyscallError
		if errors.As(e.Err, &sysErr) {
			e.Err = sysErr.Err
		}
		return e.Error()
	}
	return err.Error()
}

// timeoutReason is the reason of a check that ran out of its own time.
func timeoutReason(d time.Duration) string {
	return fmt.Sprintf("timeout after %s", roundDuration(d))
}

// failReason explains err from a check run under checkCtx, derived from
// ctx with the target's timeout d: the check's own deadline is a timeout,
// the caller's cancellation says so, anything else is the error's reason.
func failReason(ctx, checkCtx context.Context, d time.Duration, err error) string {
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
		return "check canceled: " + ctx.Err().Error()
	case ctx.Err() != nil, errors.Is(checkCtx.Err(), context.DeadlineExceeded):
		// The caller's deadline passing is a timeout as well.
		return timeoutReason(d)
	}
	// A dial may see its deadline pass before the context's timer fires.
	var nerr net.Error
	if dl, ok := checkCtx.Deadline(); ok && errors.As(err, &nerr) && nerr.Timeout() && !time.Now().Before(dl) {
		return timeoutReason(d)
	}
	return reasonOf(err)
}

// roundDuration rounds d for a reason: to the millisecond, or below a
// millisecond to the microsecond, so "2.4s" reads as a person wrote it.
func roundDuration(d time.Duration) time.Duration {
	switch a := d.Abs(); {
	case a >= time.Millisecond:
		return d.Round(time.Millisecond)
	case a >= time.Microsecond:
		return d.Round(time.Microsecond)
	}
	return d
}
