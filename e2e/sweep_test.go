package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestNetnsSweep runs `tocsin check` with a hosts_file inside namespace A:
// 1,000 IPv6 hosts of fd00:0:0:1::/64, which namespace B answers as a
// whole (a local route), 500 loopback IPv4 hosts and ::1, all up; and 5
// hosts of fd00:0:0:2::/64, routed to B but answered by nobody, down after
// their timeout. It runs once with unprivileged ping sockets and once
// with raw ones, both over the shared sockets, and wants not one reply lost.
func TestNetnsSweep(t *testing.T) {
	ipCmd, bin, nsA, nsB := netnsPair(t)
	netnsRun(t, ipCmd, "-n", nsA, "-6", "addr", "add", "fd00:0:0:ff::1/64", "dev", netnsVethA, "nodad")
	netnsRun(t, ipCmd, "-n", nsB, "-6", "addr", "add", "fd00:0:0:ff::2/64", "dev", netnsVethB, "nodad")
	// B answers every address of fd00:0:0:1::/64; A sends both prefixes to B.
	netnsRun(t, ipCmd, "-n", nsB, "-6", "route", "add", "local", "fd00:0:0:1::/64", "dev", "lo")
	netnsRun(t, ipCmd, "-n", nsA, "-6", "route", "add", "fd00:0:0:1::/64", "via", "fd00:0:0:ff::2")
	netnsRun(t, ipCmd, "-n", nsA, "-6", "route", "add", "fd00:0:0:2::/64", "via", "fd00:0:0:ff::2")

	// Static neighbour entries both ways: the first echoes of a sweep, and
	// B's first replies, would otherwise queue behind neighbour discovery,
	// whose queue holds a few hundred packets and drops the rest (as on
	// any network: not what this test measures).
	macA, macB := vethMAC(t, ipCmd, nsA, netnsVethA), vethMAC(t, ipCmd, nsB, netnsVethB)
	netnsRun(t, ipCmd, "-n", nsA, "-6", "neigh", "replace", "fd00:0:0:ff::2", "lladdr", macB, "dev", netnsVethA, "nud", "permanent")
	netnsRun(t, ipCmd, "-n", nsB, "-6", "neigh", "replace", "fd00:0:0:ff::1", "lladdr", macA, "dev", netnsVethB, "nud", "permanent")

	dir := t.TempDir()
	var hosts strings.Builder
	want := map[string]string{} // name → "up" or "down"
	for i := 1; i <= 1000; i++ {
		name := fmt.Sprintf("v6-%d", i)
		fmt.Fprintf(&hosts, "fd00:0:0:1::%x %s\n", i, name)
		want[name] = "up"
	}
	for i := 1; i <= 500; i++ {
		h := fmt.Sprintf("127.9.%d.%d", i/250, i%250+1)
		fmt.Fprintln(&hosts, h)
		want[h] = "up"
	}
	fmt.Fprintln(&hosts, "::1 lo6")
	want["lo6"] = "up"
	for i := 1; i <= 5; i++ {
		name := fmt.Sprintf("silent-%d", i)
		fmt.Fprintf(&hosts, "fd00:0:0:2::%x %s\n", i, name)
		want[name] = "down"
	}
	if err := os.WriteFile(filepath.Join(dir, "fleet.txt"), []byte(hosts.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "config.yaml")
	cfg := fmt.Sprintf("state: %q\ntargets:\n  - hosts_file: fleet.txt\n    count: 1\n    timeout: 1s\n", filepath.Join(dir, "tocsin.db"))
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}

	for _, mode := range []struct{ name, groupRange string }{
		{"unprivileged", "0 2147483647"},
		{"raw", "1 0"},
	} {
		t.Run(mode.name, func(t *testing.T) {
			netnsRun(t, ipCmd, "netns", "exec", nsA, "sysctl", "-qw", "net.ipv4.ping_group_range="+mode.groupRange)
			cmd := exec.Command(ipCmd, "netns", "exec", nsA, bin, "check", "--config", cfgPath, "--json")
			var stderr strings.Builder
			cmd.Stderr = &stderr
			timer := time.AfterFunc(60*time.Second, func() {
				if cmd.Process != nil {
					cmd.Process.Kill()
				}
			})
			defer timer.Stop()
			out, err := cmd.Output()
			// Exit 1: some target is down (the silent ones).
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
				t.Fatalf("tocsin check: %v (want exit 1); stderr: %s", err, stderr.String())
			}
			var got struct {
				Targets []struct {
					Name, Status, Error string
				} `json:"targets"`
			}
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("output is not JSON: %v: %.300s", err, out)
			}
			if len(got.Targets) != len(want) {
				t.Fatalf("%d targets in the output, want %d", len(got.Targets), len(want))
			}
			wrong := 0
			for _, tg := range got.Targets {
				if tg.Status != want[tg.Name] {
					wrong++
					if wrong <= 5 {
						t.Errorf("%s: %s (%s), want %s", tg.Name, tg.Status, tg.Error, want[tg.Name])
					}
				}
				if want[tg.Name] == "down" && tg.Error != "100% packet loss (1/1)" {
					t.Errorf("%s: reason %q, want 100%% packet loss (1/1)", tg.Name, tg.Error)
				}
			}
			if wrong > 0 {
				t.Errorf("%d of %d targets had the wrong status", wrong, len(want))
			}
		})
	}
}

// vethMAC is the MAC address of dev in namespace ns.
func vethMAC(t *testing.T, ipCmd, ns, dev string) string {
	t.Helper()
	out, err := exec.Command(ipCmd, "-n", ns, "-o", "link", "show", dev).Output()
	if err != nil {
		t.Fatalf("ip -n %s link show %s: %v", ns, dev, err)
	}
	f := strings.Fields(string(out))
	for i := range f {
		if f[i] == "link/ether" && i+1 < len(f) {
			return f[i+1]
		}
	}
	t.Fatalf("no MAC address of %s in %q", dev, out)
	return ""
}
