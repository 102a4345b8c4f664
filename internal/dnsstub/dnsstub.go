// Package dnsstub is a tiny DNS server for tests: it listens on a UDP port of
// 127.0.0.1, answers A and AAAA questions from a fixed map and NXDOMAIN for
// every name it does not know, so that no test ever asks the system
// resolver. It is written with golang.org/x/net/dns/dnsmessage.
package dnsstub

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

// Server is a running stub DNS server. It stops when the test that started
// it ends.
type Server struct {
	conn    net.PacketConn
	records map[string][]netip.Addr // keys lower case, fully qualified

	mu      sync.Mutex
	queries []string
}

// Start starts a stub DNS server on 127.0.0.1:0 that answers for records
// (name → addresses; names are matched case-insensitively, with or without
// the trailing dot; IPv4 addresses answer A questions, IPv6 ones AAAA). A
// known name without addresses of the asked type gets an empty NOERROR
// answer; an unknown name gets NXDOMAIN. It fails the test when it cannot
// listen, and stops in t.Cleanup.
func Start(t testing.TB, records map[string][]netip.Addr) *Server {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("dnsstub: listen: %v", err)
	}
	s := &Server{conn: conn, records: make(map[string][]netip.Addr, len(records))}
	for name, addrs := range records {
		s.records[canonical(name)] = append([]netip.Addr(nil), addrs...)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.serve()
	}()
	t.Cleanup(func() {
		conn.Close()
		<-done
	})
	return s
}

// Addr returns the server's address as host:port, as config's `resolver:`
// key takes it.
func (s *Server) Addr() string { return s.conn.LocalAddr().String() }

// Resolver returns a pure-Go resolver that sends every query to this server,
// whatever server /etc/resolv.conf names and whatever network (udp or tcp)
// the resolver asks for: the Go resolver speaks datagrams over any
// net.PacketConn, so a UDP connection serves both.
func (s *Server) Resolver() *net.Resolver {
	addr := s.Addr()
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "udp", addr)
		},
	}
}

// Queries returns the questions asked so far, as "NAME TYPE" (e.g.
// "db.test. A"), in the order they came.
func (s *Server) Queries() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.queries...)
}

func canonical(name string) string {
	name = strings.ToLower(name)
	if !strings.HasSuffix(name, ".") {
		name += "."
	}
	return name
}

// serve answers until the connection is closed.
func (s *Server) serve() {
	buf := make([]byte, 65535)
	for {
		n, from, err := s.conn.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		resp, ok := s.answer(buf[:n])
		if !ok {
			continue
		}
		// A failed write is the client's loss: it retries or times out.
		_, _ = s.conn.WriteTo(resp, from)
	}
}

// answer builds the response to one query; false drops a malformed query.
func (s *Server) answer(query []byte) ([]byte, bool) {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil || h.Response {
		return nil, false
	}
	q, err := p.Question()
	if err != nil {
		return nil, false
	}

	s.mu.Lock()
	s.queries = append(s.queries, q.Name.String()+" "+strings.TrimPrefix(q.Type.String(), "Type"))
	s.mu.Unlock()

	addrs, known := s.records[strings.ToLower(q.Name.String())]
	rh := dnsmessage.Header{
		ID:                 h.ID,
		Response:           true,
		OpCode:             h.OpCode,
		Authoritative:      true,
		RecursionDesired:   h.RecursionDesired,
		RecursionAvailable: true,
		RCode:              dnsmessage.RCodeSuccess,
	}
	if !known {
		rh.RCode = dnsmessage.RCodeNameError
	}
	b := dnsmessage.NewBuilder(make([]byte, 0, 512), rh)
	b.EnableCompression()
	if err := b.StartQuestions(); err != nil {
		return nil, false
	}
	if err := b.Question(q); err != nil {
		return nil, false
	}
	if err := b.StartAnswers(); err != nil {
		return nil, false
	}
	rrh := dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60}
	for _, a := range addrs {
		switch {
		case q.Type == dnsmessage.TypeA && a.Is4():
			rrh.Type = dnsmessage.TypeA
			err = b.AResource(rrh, dnsmessage.AResource{A: a.As4()})
		case q.Type == dnsmessage.TypeAAAA && a.Is6() && !a.Is4In6():
			rrh.Type = dnsmessage.TypeAAAA
			err = b.AAAAResource(rrh, dnsmessage.AAAAResource{AAAA: a.As16()})
		default:
			continue
		}
		if err != nil {
			return nil, false
		}
	}
	resp, err := b.Finish()
	if err != nil {
		return nil, false
	}
	return resp, true
}
