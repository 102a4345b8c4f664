package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestICMPPermission runs tocsin as an unprivileged user (nobody) in a
// fresh network namespace, where net.ipv4.ping_group_range starts as "1 0":
// with neither ping sockets nor raw sockets allowed, `check` and `ping`
// refuse with exit 2 and say how to permit ICMP; once the namespace's
// sysctl admits every group, the same user pings through unprivileged
// sockets.
func TestICMPPermission(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to create a network namespace and to switch to an unprivileged user")
	}
	ipCmd, err := exec.LookPath("ip")
	if err != nil {
		t.Fatalf("iproute2's `ip` is not installed: %v", err)
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Fatalf("util-linux's `setpriv` is not installed: %v", err)
	}
	netnsRemoveStale(t, ipCmd)
	ns := netnsPrefixA + fmt.Sprintf("%d-%s", os.Getpid(), netnsRandomHex(t, 4))
	t.Cleanup(func() {
		if out, err := exec.Command(ipCmd, "netns", "del", ns).CombinedOutput(); err != nil &&
			!strings.Contains(string(out), "No such file") {
			t.Errorf("removing namespace %s: %v: %s", ns, err, out)
		}
	})
	netnsRun(t, ipCmd, "netns", "add", ns)
	netnsRun(t, ipCmd, "-n", ns, "link", "set", "lo", "up")

	// A folder nobody can read, with a copy of the binary and the config.
	dir, err := os.MkdirTemp("", "tocsin-icmp-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(tocsinBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "tocsin")
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfg, []byte("targets:\n  - name: lo\n    ping: 127.0.0.1\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	asNobody := func(args ...string) (string, string, int) {
		t.Helper()
		all := append([]string{"netns", "exec", ns, setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", bin}, args...)
		cmd := exec.Command(ipCmd, all...)
		cmd.Env = []string{"PATH=/usr/bin:/bin"}
		return runCmd(t, cmd)
	}

	for _, args := range [][]string{{"check", "--config", cfg}, {"ping", "127.0.0.1", "--count", "1"}} {
		out, errs, code := asNobody(args...)
		if code != 2 {
			t.Errorf("%s without ICMP permission: exit %d, want 2; stdout %q stderr %q", args[0], code, out, errs)
		}
		for _, hint := range []string{"ping_group_range", "CAP_NET_RAW"} {
			if !strings.Contains(errs, hint) {
				t.Errorf("%s: the refusal should mention %s; stderr:\n%s", args[0], hint, errs)
			}
		}
	}

	netnsRun(t, ipCmd, "netns", "exec", ns, "sysctl", "-qw", "net.ipv4.ping_group_range=0 2147483647")
	if out, errs, code := asNobody("check", "--config", cfg, "--json"); code != 0 || !strings.Contains(out, `"status":"up"`) {
		t.Errorf("check as nobody with ping sockets open: exit %d, stdout %q stderr %q", code, out, errs)
	}
	if out, errs, code := asNobody("ping", "127.0.0.1", "--count", "1"); code != 0 {
		t.Errorf("ping as nobody with ping sockets open: exit %d, stdout %q stderr %q", code, out, errs)
	}
}
