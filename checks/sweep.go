package checks

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"
)

// The shared ICMP sweeper.
//
// pro-bing opens a socket, starts goroutines and arms timers for every
// Pinger: fine for `tocsin ping` and chat's /ping, costly for thousands of
// scheduled checks (about ten times fping's CPU per host, and raw sockets
// with thousands of Pingers in flight lose replies). Scheduled ping checks
// and `tocsin check` therefore share one ICMP socket per address family,
// as fping does: every echo is written to that socket, tagged with its own
// sequence number (and, on raw sockets, tocsin's identifier and a cookie in
// the payload), and one reader goroutine per socket hands each reply to the
// check waiting for it, matched by the replying address and the sequence.
// Echoes in flight are bounded by a window sized to the socket's receive
// buffer, so a burst of replies cannot overflow it.

const (
	// echoHeaderLen is the ICMP echo header: type, code, checksum, id, seq.
	echoHeaderLen = 8
	// echoPayloadLen is the payload tocsin sends: an 8-byte cookie, then
	// zeros, 56 bytes in all like ping(8)'s default.
	echoPayloadLen = 56
	// sweepRcvBuf is the receive buffer asked for; root gets it whatever
	// net.core.rmem_max says (SO_RCVBUFFORCE), others get up to that limit.
	sweepRcvBuf = 8 << 20
	// replyCost is what one queued reply costs of the receive buffer (the
	// kernel counts the whole buffer a packet sits in, not its bytes); it
	// sizes the window.
	replyCost = 2048
	// minWindow and maxWindow bound echoes in flight per socket.
	minWindow, maxWindow = 64, 4096
)

// ICMP types tocsin sends and reads.
const (
	icmpv4EchoReply   = 0
	icmpv4EchoRequest = 8
	icmpv6EchoRequest = 128
	icmpv6EchoReply   = 129
)

// echoConn is one open ICMP socket of a family: datagram (unprivileged) or
// raw. Writes and reads carry the ICMP message only, no IP header.
type echoConn interface {
	writeTo(b []byte, to netip.Addr) error
	// readFrom returns the length read and the sender, unmapped.
	readFrom(b []byte) (int, netip.Addr, error)
	// rcvBuf is the receive buffer the kernel granted, in bytes.
	rcvBuf() int
	close() error
}

// sweeper owns the shared sockets of a Runner, opened on first use.
type sweeper struct {
	mode   ICMPMode
	logger *slog.Logger
	// open opens a socket of a family (4 or 6); a field so tests can see
	// the sweeper's logic on a fake.
	open func(mode ICMPMode, family int) (echoConn, error)

	mu   sync.Mutex
	sock map[int]*echoSocket // by family, while open
}

func newSweeper(mode ICMPMode, logger *slog.Logger) *sweeper {
	return &sweeper{mode: mode, logger: logger, open: openEchoConn, sock: make(map[int]*echoSocket)}
}

// acquire returns the open socket of addr's family, opening it if needed,
// and counts the caller as its user until it calls release: a socket that
// close takes out of use meanwhile stays open for it. An open that fails
// is not remembered: the next check tries again.
func (s *sweeper) acquire(addr netip.Addr) (*echoSocket, error) {
	family := familyOf(addr)
	s.mu.Lock()
	defer s.mu.Unlock()
	es := s.sock[family]
	if es == nil {
		c, err := s.open(s.mode, family)
		if err != nil {
			return nil, err
		}
		es = newEchoSocket(c, family, s.mode == ICMPRaw, s.logger)
		s.sock[family] = es
		go es.readLoop()
	}
	es.use()
	return es, nil
}

func familyOf(addr netip.Addr) int {
	if addr.Is6() {
		return 6
	}
	return 4
}

// close takes every socket out of use: each is closed once the checks
// already using it end (they keep their replies), and the next check opens
// a new one.
func (s *sweeper) close() {
	s.mu.Lock()
	socks := s.sock
	s.sock = make(map[int]*echoSocket)
	s.mu.Unlock()
	for _, es := range socks {
		es.shut()
	}
}

// echoKey matches a reply to its echo: who answered and the sequence.
type echoKey struct {
	addr netip.Addr
	seq  uint16
}

// echoWait is one echo awaiting its reply.
type echoWait struct {
	sent time.Time
	// rtts receives the round trip; buffered for every echo of the check,
	// so the reader never blocks on it.
	rtts chan time.Duration
}

// echoSocket is one shared socket with its reader.
type echoSocket struct {
	conn   echoConn
	family int
	raw    bool   // raw socket: check id and cookie, compute checksums
	id     uint16 // raw only: the datagram kernel rewrites it to its port
	cookie [8]byte
	logger *slog.Logger
	window chan struct{}

	mu      sync.Mutex
	seq     uint16
	waiting map[echoKey]echoWait
	users   int  // checks using the socket now
	closing bool // close when users drops to 0
	closed  bool
}

func newEchoSocket(c echoConn, family int, raw bool, logger *slog.Logger) *echoSocket {
	es := &echoSocket{
		conn:    c,
		family:  family,
		raw:     raw,
		logger:  logger,
		waiting: make(map[echoKey]echoWait),
	}
	var r [12]byte
	_, _ = rand.Read(r[:]) // crypto/rand.Read never fails
	copy(es.cookie[:], r[:8])
	es.id = binary.BigEndian.Uint16(r[8:])
	es.seq = binary.BigEndian.Uint16(r[10:])
	es.window = make(chan struct{}, windowFor(c.rcvBuf()))
	return es
}

// windowFor is how many echoes may be in flight on a socket whose receive
// buffer is rcvbuf bytes: as many replies as the buffer holds, bounded.
func windowFor(rcvbuf int) int {
	return min(max(rcvbuf/replyCost, minWindow), maxWindow)
}

// use counts one more check using the socket.
func (es *echoSocket) use() {
	es.mu.Lock()
	es.users++
	es.mu.Unlock()
}

// release ends one check's use; the last user of a socket being shut
// closes it.
func (es *echoSocket) release() {
	es.mu.Lock()
	es.users--
	last := es.users == 0 && es.closing && !es.closed
	if last {
		es.closed = true
	}
	es.mu.Unlock()
	if last {
		es.closeConn()
	}
}

// shut closes the socket, ending the reader, at once when no check uses
// it, else when the last one releases it.
func (es *echoSocket) shut() {
	es.mu.Lock()
	es.closing = true
	now := es.users == 0 && !es.closed
	if now {
		es.closed = true
	}
	es.mu.Unlock()
	if now {
		es.closeConn()
	}
}

func (es *echoSocket) closeConn() {
	if err := es.conn.close(); err != nil {
		es.logger.Debug("closing ICMP socket", "err", err)
	}
}

// send writes one echo to addr and registers w for its reply; the returned
// key unregisters it. The caller holds a window slot.
func (es *echoSocket) send(addr netip.Addr, w echoWait) (echoKey, error) {
	var pkt [echoHeaderLen + echoPayloadLen]byte
	es.mu.Lock()
	if es.closed {
		es.mu.Unlock()
		return echoKey{}, net.ErrClosed
	}
	// The next free sequence for addr: a collision needs 65,536 echoes to
	// one address in flight, which the window forbids.
	key := echoKey{addr: addr}
	for range 1 << 16 {
		es.seq++
		key.seq = es.seq
		if _, busy := es.waiting[key]; !busy {
			break
		}
	}
	w.sent = time.Now()
	es.waiting[key] = w
	es.mu.Unlock()

	es.marshal(pkt[:], key.seq)
	if err := es.conn.writeTo(pkt[:], addr); err != nil {
		es.forget(key)
		return echoKey{}, err
	}
	return key, nil
}

// marshal fills pkt with an echo request of sequence seq.
func (es *echoSocket) marshal(pkt []byte, seq uint16) {
	pkt[0] = icmpv4EchoRequest
	if es.family == 6 {
		pkt[0] = icmpv6EchoRequest
	}
	pkt[1] = 0
	binary.BigEndian.PutUint16(pkt[2:], 0)
	binary.BigEndian.PutUint16(pkt[4:], es.id)
	binary.BigEndian.PutUint16(pkt[6:], seq)
	copy(pkt[echoHeaderLen:], es.cookie[:])
	// The kernel sums ICMPv6 (both kinds of socket) and datagram ICMPv4;
	// a raw ICMPv4 socket sends what it is given.
	if es.family == 4 && es.raw {
		binary.BigEndian.PutUint16(pkt[2:], checksum(pkt))
	}
}

// checksum is the Internet checksum (RFC 1071) of b.
func checksum(b []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// forget unregisters key; a reply that comes later is ignored.
func (es *echoSocket) forget(key echoKey) {
	es.mu.Lock()
	delete(es.waiting, key)
	es.mu.Unlock()
}

// readLoop reads replies until the socket is closed, handing each to the
// echo it answers. Read errors other than the close are logged and the
// loop goes on: a datagram socket can report a stray ICMP error once.
func (es *echoSocket) readLoop() {
	buf := make([]byte, 1500)
	var failures int
	for {
		n, from, err := es.conn.readFrom(buf)
		now := time.Now()
		if err != nil {
			es.mu.Lock()
			closed := es.closed
			es.mu.Unlock()
			if closed || errors.Is(err, net.ErrClosed) {
				return
			}
			failures++
			es.logger.Debug("reading ICMP socket", "err", err)
			// A socket that fails on every read is not spun on.
			if failures > 100 {
				time.Sleep(10 * time.Millisecond)
			}
			continue
		}
		failures = 0
		es.deliver(buf[:n], from, now)
	}
}

// deliver matches one received message to its echo.
func (es *echoSocket) deliver(msg []byte, from netip.Addr, at time.Time) {
	seq, ok := es.parseReply(msg)
	if !ok {
		return
	}
	key := echoKey{addr: from, seq: seq}
	es.mu.Lock()
	w, found := es.waiting[key]
	if found {
		delete(es.waiting, key)
	}
	es.mu.Unlock()
	if found {
		w.rtts <- at.Sub(w.sent) // buffered for every echo: never blocks
	}
}

// parseReply returns the sequence of msg when it is an echo reply to this
// socket: the right type, and on a raw socket (which sees every reply to
// the host) tocsin's identifier and cookie.
func (es *echoSocket) parseReply(msg []byte) (uint16, bool) {
	if len(msg) < echoHeaderLen {
		return 0, false
	}
	want := byte(icmpv4EchoReply)
	if es.family == 6 {
		want = icmpv6EchoReply
	}
	if msg[0] != want || msg[1] != 0 {
		return 0, false
	}
	if es.raw {
		if binary.BigEndian.Uint16(msg[4:]) != es.id {
			return 0, false
		}
		if len(msg) < echoHeaderLen+len(es.cookie) || [8]byte(msg[echoHeaderLen:echoHeaderLen+8]) != es.cookie {
			return 0, false
		}
	}
	return binary.BigEndian.Uint16(msg[6:]), true
}

// ping sends count echoes to addr, interval apart, and waits until every
// reply came or ctx ends (its deadline is the check's timeout). It returns
// the echoes sent and the round trips of the replies. An error means the
// first echo could not be sent; a later send error ends the sending.
func (s *sweeper) ping(ctx context.Context, addr netip.Addr, count int, interval time.Duration) (int, []time.Duration, error) {
	es, err := s.acquire(addr)
	if err != nil {
		return 0, nil, err
	}
	defer es.release()
	w := echoWait{rtts: make(chan time.Duration, count)}
	keys := make([]echoKey, 0, count)
	held := 0
	defer func() {
		for _, k := range keys {
			es.forget(k)
		}
		for range held {
			<-es.window
		}
	}()

	var rtts []time.Duration
	collect := func() {
		for {
			select {
			case d := <-w.rtts:
				rtts = append(rtts, d)
			default:
				return
			}
		}
	}
	var tick *time.Timer
	for i := range count {
		if i > 0 {
			if tick == nil {
				tick = time.NewTimer(interval)
				defer tick.Stop()
			} else {
				tick.Reset(interval)
			}
			select {
			case <-tick.C:
			case <-ctx.Done():
				collect()
				return len(keys), rtts, nil
			}
		}
		select {
		case es.window <- struct{}{}:
			held++
		case <-ctx.Done():
			if i == 0 {
				return 0, nil, ctx.Err()
			}
			collect()
			return len(keys), rtts, nil
		}
		key, err := es.send(addr, w)
		if err != nil {
			if i == 0 {
				return 0, nil, fmt.Errorf("sending echo: %w", err)
			}
			break
		}
		keys = append(keys, key)
	}
	for len(rtts) < len(keys) {
		select {
		case d := <-w.rtts:
			rtts = append(rtts, d)
		case <-ctx.Done():
			collect()
			return len(keys), rtts, nil
		}
	}
	return len(keys), rtts, nil
}
