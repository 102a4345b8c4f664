package checks

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
)

// fakeEcho is an echoConn that answers each echo it is given as the
// script says, from the goroutine of the write (as loopback does).
type fakeEcho struct {
	mu      sync.Mutex
	replies chan []byte
	from    chan netip.Addr
	buf     int
	// answer returns the messages to deliver for one written echo.
	answer  func(pkt []byte, to netip.Addr) [][]byte
	written int
	last    []byte // the last echo written
	closed  bool
}

func newFakeEcho(buf int, answer func([]byte, netip.Addr) [][]byte) *fakeEcho {
	return &fakeEcho{replies: make(chan []byte, 1<<14), from: make(chan netip.Addr, 1<<14), buf: buf, answer: answer}
}

func (f *fakeEcho) writeTo(b []byte, to netip.Addr) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return errors.New("closed")
	}
	f.written++
	f.last = append([]byte(nil), b...)
	for _, m := range f.answer(append([]byte(nil), b...), to) {
		f.replies <- m
		f.from <- to
	}
	return nil
}

func (f *fakeEcho) readFrom(b []byte) (int, netip.Addr, error) {
	m, ok := <-f.replies
	if !ok {
		return 0, netip.Addr{}, errors.New("use of closed network connection")
	}
	return copy(b, m), <-f.from, nil
}

func (f *fakeEcho) rcvBuf() int { return f.buf }

func (f *fakeEcho) close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.closed {
		f.closed = true
		close(f.replies)
	}
	return nil
}

// reply turns an echo request into its reply, as a host would.
func reply(pkt []byte) []byte {
	r := append([]byte(nil), pkt...)
	switch r[0] {
	case icmpv4EchoRequest:
		r[0] = icmpv4EchoReply
	case icmpv6EchoRequest:
		r[0] = icmpv6EchoReply
	}
	return r
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func fakeSweeper(t *testing.T, mode ICMPMode, c *fakeEcho) *sweeper {
	t.Helper()
	s := newSweeper(mode, nil)
	s.logger = discardLogger()
	s.open = func(ICMPMode, int) (echoConn, error) { return c, nil }
	t.Cleanup(s.close)
	return s
}

func TestSweeperMatching(t *testing.T) {
	addr := netip.MustParseAddr("127.0.0.9")
	other := netip.MustParseAddr("127.0.0.10")
	tests := []struct {
		name     string
		mode     ICMPMode
		answer   func(pkt []byte) [][]byte
		received int
	}{
		{"reply", ICMPUnprivileged, func(p []byte) [][]byte { return [][]byte{reply(p)} }, 3},
		{"duplicates count once", ICMPUnprivileged, func(p []byte) [][]byte { return [][]byte{reply(p), reply(p)} }, 3},
		{"the request itself is no reply", ICMPRaw, func(p []byte) [][]byte { return [][]byte{p} }, 0},
		{"short message", ICMPUnprivileged, func(p []byte) [][]byte { return [][]byte{reply(p)[:6]} }, 0},
		{"raw: another identifier", ICMPRaw, func(p []byte) [][]byte {
			r := reply(p)
			binary.BigEndian.PutUint16(r[4:], binary.BigEndian.Uint16(r[4:])+1)
			return [][]byte{r}
		}, 0},
		{"raw: another cookie", ICMPRaw, func(p []byte) [][]byte {
			r := reply(p)
			r[echoHeaderLen] ^= 0xff
			return [][]byte{r}
		}, 0},
		{"raw: own id and cookie", ICMPRaw, func(p []byte) [][]byte { return [][]byte{reply(p)} }, 3},
		{"unprivileged: the kernel's id is fine", ICMPUnprivileged, func(p []byte) [][]byte {
			r := reply(p)
			binary.BigEndian.PutUint16(r[4:], 4242)
			return [][]byte{r}
		}, 3},
		{"another sequence", ICMPUnprivileged, func(p []byte) [][]byte {
			r := reply(p)
			binary.BigEndian.PutUint16(r[6:], binary.BigEndian.Uint16(r[6:])+100)
			return [][]byte{r}
		}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newFakeEcho(1<<20, func(p []byte, _ netip.Addr) [][]byte { return tt.answer(p) })
			s := fakeSweeper(t, tt.mode, c)
			ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
			defer cancel()
			sent, rtts, err := s.ping(ctx, addr, 3, time.Millisecond)
			if err != nil || sent != 3 || len(rtts) != tt.received {
				t.Fatalf("ping = %d sent, %d replies, %v; want 3, %d, nil", sent, len(rtts), err, tt.received)
			}
		})
	}

	t.Run("a reply from another address", func(t *testing.T) {
		c := newFakeEcho(1<<20, func([]byte, netip.Addr) [][]byte { return nil })
		s := fakeSweeper(t, ICMPUnprivileged, c)
		es, err := s.acquire(addr)
		if err != nil {
			t.Fatal(err)
		}
		defer es.release()
		w := echoWait{rtts: make(chan time.Duration, 1)}
		key, err := es.send(addr, w)
		if err != nil {
			t.Fatal(err)
		}
		var pkt [echoHeaderLen + echoPayloadLen]byte
		es.marshal(pkt[:], key.seq)
		es.deliver(reply(pkt[:]), other, time.Now())
		select {
		case <-w.rtts:
			t.Fatal("a reply from another address was taken")
		default:
		}
		es.deliver(reply(pkt[:]), addr, time.Now())
		select {
		case <-w.rtts:
		default:
			t.Fatal("the right reply was not taken")
		}
	})
}

// TestSweeperWindow checks that echoes in flight never exceed the window
// the receive buffer allows, and that every check still ends.
func TestSweeperWindow(t *testing.T) {
	var (
		mu      sync.Mutex
		maxSeen int
		es      *echoSocket
	)
	c := newFakeEcho(minWindow*replyCost, func([]byte, netip.Addr) [][]byte {
		// Nobody answers: echoes wait out the deadline, holding the window.
		es.mu.Lock()
		n := len(es.waiting)
		es.mu.Unlock()
		mu.Lock()
		maxSeen = max(maxSeen, n)
		mu.Unlock()
		return nil
	})
	s := fakeSweeper(t, ICMPUnprivileged, c)
	var err error
	if es, err = s.acquire(netip.MustParseAddr("127.0.0.1")); err != nil {
		t.Fatal(err)
	}
	defer es.release()
	if cap(es.window) != minWindow {
		t.Fatalf("window %d, want %d", cap(es.window), minWindow)
	}
	var wg sync.WaitGroup
	const checks = 3 * minWindow
	sent := make([]int, checks)
	for i := range checks {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Millisecond)
			defer cancel()
			a := netip.AddrFrom4([4]byte{127, 0, byte(i >> 8), byte(i)})
			sent[i], _, _ = s.ping(ctx, a, 1, time.Millisecond)
		})
	}
	wg.Wait()
	if maxSeen > minWindow || maxSeen == 0 {
		t.Errorf("at most %d echoes in flight, want 1..%d", maxSeen, minWindow)
	}
	total := 0
	for _, n := range sent {
		total += n
	}
	if total == 0 || total > checks {
		t.Errorf("%d echoes sent by %d checks", total, checks)
	}
	if len(es.window) != 0 || len(es.waiting) != 0 {
		t.Errorf("after every check: %d window slots held, %d echoes registered", len(es.window), len(es.waiting))
	}
}

func TestWindowFor(t *testing.T) {
	for _, tt := range []struct{ buf, want int }{
		{0, minWindow}, {212992, 104}, {425984, 208}, {8 << 20, maxWindow}, {1 << 30, maxWindow},
	} {
		if got := windowFor(tt.buf); got != tt.want {
			t.Errorf("windowFor(%d) = %d, want %d", tt.buf, got, tt.want)
		}
	}
}

// TestEchoMarshal compares tocsin's echo with golang.org/x/net/icmp's, the
// checksum included.
func TestEchoMarshal(t *testing.T) {
	es := newEchoSocket(newFakeEcho(0, nil), 4, true, discardLogger())
	var pkt [echoHeaderLen + echoPayloadLen]byte
	es.marshal(pkt[:], 0xbeef)
	data := make([]byte, echoPayloadLen)
	copy(data, es.cookie[:])
	want, err := (&icmp.Message{Type: ipv4.ICMPTypeEcho, Body: &icmp.Echo{ID: int(es.id), Seq: 0xbeef, Data: data}}).Marshal(nil)
	if err != nil {
		t.Fatal(err)
	}
	if string(pkt[:]) != string(want) {
		t.Errorf("echo\n%x\nwant\n%x", pkt[:], want)
	}
	if _, err := icmp.ParseMessage(1, pkt[:]); err != nil {
		t.Errorf("x/net/icmp cannot parse it: %v", err)
	}
	// RFC 1071's example sums to 0xddf2; its checksum is the complement.
	if got := checksum([]byte{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7}); got != ^uint16(0xddf2) {
		t.Errorf("checksum = %#x, want %#x", got, ^uint16(0xddf2))
	}
	if got := checksum([]byte{0xff}); got != ^uint16(0xff00) {
		t.Errorf("checksum of an odd length = %#x", got)
	}
}

// TestSharedPingLoopback sends thousands of echoes at once to distinct
// loopback hosts through the Runner's shared sockets, in both modes, and
// wants every reply.
func TestSharedPingLoopback(t *testing.T) {
	requireRoot(t)
	modes := []struct {
		mode       ICMPMode
		groupRange string
	}{
		{ICMPRaw, "1 0"},
		{ICMPUnprivileged, "0 2147483647"},
	}
	for _, m := range modes {
		t.Run(string(m.mode), func(t *testing.T) {
			setPingGroupRange(t, m.groupRange)
			r := newRunner(t, Options{ICMPMode: m.mode})
			if !r.SharedICMP() {
				t.Fatal("the Runner does not use the shared sockets by default")
			}
			const n = 3000
			results := make([]Result, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					tg := &Target{Name: "p", Kind: KindPing, Timeout: 5 * time.Second,
						Ping: PingSpec{Host: fmt.Sprintf("127.5.%d.%d", i/250, i%250+1), Count: 1}}
					if i%500 == 0 && hasIPv6Loopback() {
						tg.Ping.Host = "::1"
					}
					results[i] = check(t, r, tg)
				})
			}
			wg.Wait()
			lost := 0
			for _, res := range results {
				if !res.OK || res.Sent != 1 || res.Received != 1 || res.Latency <= 0 {
					lost++
					if lost <= 3 {
						t.Errorf("%+v", res)
					}
				}
			}
			if lost > 0 {
				t.Errorf("%d of %d checks lost their reply", lost, n)
			}
			// Closing drops the sockets; the next check opens new ones.
			r.Close()
			res := check(t, r, &Target{Name: "p", Kind: KindPing, Timeout: 5 * time.Second,
				Ping: PingSpec{Host: "127.0.0.1", Count: 3, Interval: 5 * time.Millisecond}})
			if !res.OK || res.Sent != 3 || res.Received != 3 {
				t.Errorf("after Close: %+v", res)
			}
		})
	}
}

// TestSharedPingCanceled: a canceled check ends at once and says so.
func TestSharedPingCanceled(t *testing.T) {
	requireRoot(t)
	r := newRunner(t, Options{ICMPMode: ICMPRaw})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	res := r.Check(ctx, &Target{Name: "p", Kind: KindPing, Timeout: 5 * time.Second,
		Ping: PingSpec{Host: "127.0.0.1", Count: 1}})
	if res.OK || res.Reason == "" {
		t.Errorf("canceled check = %+v, want a failure with a reason", res)
	}
}

// TestSweeperCloseKeepsChecks: closing the sweeper (a reload replaces the
// Runner) lets the checks in flight keep their socket and their replies,
// closes it after the last, and gives later checks a new one.
func TestSweeperCloseKeepsChecks(t *testing.T) {
	addr := netip.MustParseAddr("127.0.0.7")
	var (
		mu     sync.Mutex
		opened []*fakeEcho
	)
	s := newSweeper(ICMPUnprivileged, discardLogger())
	s.open = func(ICMPMode, int) (echoConn, error) {
		c := newFakeEcho(1<<20, func([]byte, netip.Addr) [][]byte { return nil })
		mu.Lock()
		opened = append(opened, c)
		mu.Unlock()
		return c, nil
	}
	t.Cleanup(s.close)
	type result struct {
		sent int
		rtts []time.Duration
	}
	done := make(chan result, 1)
	go func() {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		sent, rtts, _ := s.ping(ctx, addr, 1, time.Millisecond)
		done <- result{sent, rtts}
	}()
	// Wait (bounded) until the echo is out and awaiting its reply.
	var first *fakeEcho
	var echo []byte
	for deadline := time.Now().Add(5 * time.Second); echo == nil; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the echo was never sent")
		}
		mu.Lock()
		if len(opened) == 1 {
			first = opened[0]
		}
		mu.Unlock()
		if first != nil {
			first.mu.Lock()
			echo = first.last
			first.mu.Unlock()
		}
	}
	s.close()
	first.mu.Lock()
	closedEarly := first.closed
	first.mu.Unlock()
	if closedEarly {
		t.Fatal("close closed the socket under a check in flight")
	}
	// The reply comes after the close, on the old socket.
	first.replies <- reply(echo)
	first.from <- addr
	r := <-done
	if r.sent != 1 || len(r.rtts) != 1 {
		t.Fatalf("the check in flight got %d of %d replies after close", len(r.rtts), r.sent)
	}
	first.mu.Lock()
	closedAfter := first.closed
	first.mu.Unlock()
	if !closedAfter {
		t.Error("the old socket was not closed after its last check")
	}
	es, err := s.acquire(addr)
	if err != nil {
		t.Fatal(err)
	}
	es.release()
	mu.Lock()
	defer mu.Unlock()
	if len(opened) != 2 {
		t.Errorf("%d sockets opened, want a new one after close", len(opened))
	}
}
