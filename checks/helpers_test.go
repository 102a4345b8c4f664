package checks

import (
	"context"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tocsin/tocsin/internal/dnsstub"
)

const pingGroupRange = "/proc/sys/net/ipv4/ping_group_range"

// stubRecords is what the stub DNS server of the tests knows; anything
// else is NXDOMAIN.
var stubRecords = map[string][]netip.Addr{
	"loop.test":  {netip.MustParseAddr("127.0.0.1")},
	"other.test": {netip.MustParseAddr("127.3.4.5")},
}

// newRunner is a Runner whose resolver asks only a stub DNS server.
func newRunner(t *testing.T, opts Options) *Runner {
	t.Helper()
	if opts.Resolver == nil {
		opts.Resolver = dnsstub.Start(t, stubRecords).Resolver()
	}
	r, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(r.Close)
	return r
}

// check runs one check with a generous bound on the whole test step.
func check(t *testing.T, r *Runner, tg *Target) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	return r.Check(ctx, tg)
}

// closedPort returns a loopback address:port nobody listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipped: needs root (raw ICMP sockets, net.ipv4.ping_group_range)")
	}
}

// setPingGroupRange writes net.ipv4.ping_group_range for the test and
// restores the old value when it ends. Needs root.
func setPingGroupRange(t *testing.T, value string) {
	t.Helper()
	requireRoot(t)
	old, err := os.ReadFile(pingGroupRange)
	if err != nil {
		t.Fatalf("read %s: %v", pingGroupRange, err)
	}
	if err := os.WriteFile(pingGroupRange, []byte(value), 0o644); err != nil {
		t.Fatalf("write %s: %v", pingGroupRange, err)
	}
	t.Cleanup(func() {
		restore := strings.Join(strings.Fields(string(old)), "\t")
		if err := os.WriteFile(pingGroupRange, []byte(restore), 0o644); err != nil {
			t.Errorf("restore %s: %v", pingGroupRange, err)
		}
	})
}

// hasIPv6Loopback reports whether ::1 is configured here.
func hasIPv6Loopback() bool {
	c, err := net.ListenPacket("udp6", "[::1]:0")
	if err != nil {
		return false
	}
	c.Close()
	return true
}
