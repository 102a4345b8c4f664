package dnsstub

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"
)

func TestResolver(t *testing.T) {
	s := Start(t, map[string][]netip.Addr{
		"db.test":      {netip.MustParseAddr("127.0.0.1")},
		"Dual.Test.":   {netip.MustParseAddr("127.3.4.5"), netip.MustParseAddr("::1")},
		"only6.test":   {netip.MustParseAddr("::1")},
		"nothing.test": nil,
	})
	r := s.Resolver()

	tests := []struct {
		name     string
		network  string
		host     string
		want     []string
		notFound bool
	}{
		{name: "A", network: "ip4", host: "db.test", want: []string{"127.0.0.1"}},
		{name: "case-insensitive, both families", network: "ip", host: "dual.test", want: []string{"127.3.4.5", "::1"}},
		{name: "AAAA only", network: "ip6", host: "only6.test", want: []string{"::1"}},
		{name: "absolute name", network: "ip4", host: "db.test.", want: []string{"127.0.0.1"}},
		{name: "NXDOMAIN", network: "ip", host: "nosuch.test", notFound: true},
		{name: "known name without addresses", network: "ip", host: "nothing.test", notFound: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			addrs, err := r.LookupNetIP(ctx, tt.network, tt.host)
			if tt.notFound {
				var dnsErr *net.DNSError
				if !errors.As(err, &dnsErr) || !dnsErr.IsNotFound {
					t.Fatalf("LookupNetIP(%q) = %v, %v; want a not-found DNSError", tt.host, addrs, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("LookupNetIP(%q): %v", tt.host, err)
			}
			var got []string
			for _, a := range addrs {
				got = append(got, a.Unmap().String())
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("LookupNetIP(%q) = %v, want %v", tt.host, got, tt.want)
			}
		})
	}
	if len(s.Queries()) == 0 {
		t.Error("Queries() is empty: the resolver did not ask the stub")
	}
}

func TestAddrIsLoopback(t *testing.T) {
	s := Start(t, nil)
	ap, err := netip.ParseAddrPort(s.Addr())
	if err != nil {
		t.Fatalf("Addr() = %q: %v", s.Addr(), err)
	}
	if !ap.Addr().IsLoopback() || ap.Port() == 0 {
		t.Errorf("Addr() = %q, want 127.0.0.1 and a port", s.Addr())
	}
}
