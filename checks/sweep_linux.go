package checks

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"syscall"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// sharedICMPSupported says whether openEchoConn works on this system.
const sharedICMPSupported = true

// openEchoConn opens the shared ICMP socket of a family (4 or 6) in mode,
// with a receive buffer as large as it may have.
func openEchoConn(mode ICMPMode, family int) (echoConn, error) {
	var (
		c   echoConn
		raw syscall.RawConn
		err error
	)
	switch mode {
	case ICMPUnprivileged:
		var dc *dgramEcho
		dc, err = openDgramEcho(family)
		if err == nil {
			c = dc
			raw, err = dc.c.SyscallConn()
		}
	case ICMPRaw:
		var rc *rawEcho
		rc, err = openRawEcho(family)
		if err == nil {
			c = rc
			raw, err = rc.c.SyscallConn()
		}
	default:
		return nil, fmt.Errorf("unknown ICMP mode %q", mode)
	}
	if err != nil {
		if c != nil {
			_ = c.close()
		}
		return nil, err
	}
	growRcvBuf(raw)
	return c, nil
}

// growRcvBuf asks for sweepRcvBuf bytes of receive buffer: forced when the
// process may (CAP_NET_ADMIN), else up to net.core.rmem_max. Failing is
// not fatal: the window shrinks to what the buffer holds.
func growRcvBuf(raw syscall.RawConn) {
	_ = raw.Control(func(fd uintptr) {
		if syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, sweepRcvBuf) != nil {
			_ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, sweepRcvBuf)
		}
	})
}

// rcvBufOf reads the receive buffer the kernel granted (0 if unknown).
func rcvBufOf(raw syscall.RawConn, err error) int {
	if err != nil {
		return 0
	}
	n := 0
	_ = raw.Control(func(fd uintptr) {
		n, _ = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF)
	})
	return n
}

// dgramEcho is an unprivileged ping socket (net.ipv4.ping_group_range):
// the kernel sets the echo identifier to the socket's own and hands it only
// the replies to it.
type dgramEcho struct{ c *net.UDPConn }

func openDgramEcho(family int) (*dgramEcho, error) {
	af, proto := syscall.AF_INET, syscall.IPPROTO_ICMP
	var sa syscall.Sockaddr = &syscall.SockaddrInet4{}
	if family == 6 {
		af, proto = syscall.AF_INET6, syscall.IPPROTO_ICMPV6
		sa = &syscall.SockaddrInet6{}
	}
	fd, err := syscall.Socket(af, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, proto)
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	if err := syscall.Bind(fd, sa); err != nil {
		syscall.Close(fd)
		return nil, os.NewSyscallError("bind", err)
	}
	f := os.NewFile(uintptr(fd), "icmp")
	pc, err := net.FilePacketConn(f)
	f.Close() // FilePacketConn holds its own descriptor
	if err != nil {
		return nil, err
	}
	uc, ok := pc.(*net.UDPConn)
	if !ok {
		pc.Close()
		return nil, fmt.Errorf("ICMP datagram socket: unexpected %T", pc)
	}
	return &dgramEcho{c: uc}, nil
}

func (d *dgramEcho) writeTo(b []byte, to netip.Addr) error {
	_, err := d.c.WriteToUDPAddrPort(b, netip.AddrPortFrom(to, 0))
	return err
}

func (d *dgramEcho) readFrom(b []byte) (int, netip.Addr, error) {
	n, ap, err := d.c.ReadFromUDPAddrPort(b)
	return n, ap.Addr().Unmap(), err
}

func (d *dgramEcho) rcvBuf() int  { return rcvBufOf(d.c.SyscallConn()) }
func (d *dgramEcho) close() error { return d.c.Close() }

// rawEcho is a raw ICMP socket (root or CAP_NET_RAW). It sees every ICMP
// message the host receives; a socket filter lets only echo replies in.
type rawEcho struct{ c *net.IPConn }

func openRawEcho(family int) (*rawEcho, error) {
	network, laddr := "ip4:icmp", &net.IPAddr{IP: net.IPv4zero}
	if family == 6 {
		network, laddr = "ip6:ipv6-icmp", &net.IPAddr{IP: net.IPv6unspecified}
	}
	c, err := net.ListenIP(network, laddr)
	if err != nil {
		return nil, err
	}
	if family == 6 {
		var f ipv6.ICMPFilter
		f.SetAll(true)
		f.Accept(ipv6.ICMPTypeEchoReply)
		err = ipv6.NewPacketConn(c).SetICMPFilter(&f)
	} else {
		var f ipv4.ICMPFilter
		f.SetAll(true)
		f.Accept(ipv4.ICMPTypeEchoReply)
		err = ipv4.NewPacketConn(c).SetICMPFilter(&f)
	}
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("ICMP filter: %w", err)
	}
	return &rawEcho{c: c}, nil
}

func (r *rawEcho) writeTo(b []byte, to netip.Addr) error {
	_, err := r.c.WriteToIP(b, &net.IPAddr{IP: to.AsSlice(), Zone: to.Zone()})
	return err
}

func (r *rawEcho) readFrom(b []byte) (int, netip.Addr, error) {
	n, from, err := r.c.ReadFromIP(b)
	if err != nil {
		return n, netip.Addr{}, err
	}
	a, _ := netip.AddrFromSlice(from.IP)
	return n, a.Unmap().WithZone(from.Zone), nil
}

func (r *rawEcho) rcvBuf() int  { return rcvBufOf(r.c.SyscallConn()) }
func (r *rawEcho) close() error { return r.c.Close() }
