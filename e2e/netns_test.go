package e2e

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The namespaces this test creates are named netnsPrefixA/netnsPrefixB + PID-RAND,
// so leftovers of a crashed run can be recognised (and told apart from a
// run still going on in another process).
const (
	netnsPrefixA = "tocsin-a-"
	netnsPrefixB = "tocsin-b-"
	// Addresses from 198.18.0.0/15 (RFC 2544, benchmarking) only.
	netnsAddrA  = "198.18.7.1/30"
	netnsAddrB  = "198.18.7.2/30"
	netnsPeerIP = "198.18.7.2"
	// The veth ends are created inside the namespaces, so these names never
	// meet the host's own interfaces (or another run's).
	netnsVethA = "veth-a"
	netnsVethB = "veth-b"
)

// TestNetnsPingDownUp runs `tocsin run` inside namespace A, pinging a peer in
// namespace B over a veth pair, and checks that cutting B's link prints a
// DOWN line and restoring it an UP line. Running inside A means nothing
// the daemon sends can leave the machine.
func TestNetnsPingDownUp(t *testing.T) {
	ipCmd, bin, nsA, nsB := netnsPair(t)
	netnsRun(t, ipCmd, "-n", nsA, "addr", "add", netnsAddrA, "dev", netnsVethA)
	netnsRun(t, ipCmd, "-n", nsB, "addr", "add", netnsAddrB, "dev", netnsVethB)
	// A new namespace starts with ping_group_range "1 0" (nobody): open it
	// so tocsin gets unprivileged ICMP sockets there.
	netnsRun(t, ipCmd, "netns", "exec", nsA, "sysctl", "-w", "net.ipv4.ping_group_range=0 2147483647")

	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config.yaml")
	resultsPath := filepath.Join(dir, "results.jsonl")
	cfg := fmt.Sprintf(`listen: 127.0.0.1:18080
state: %q
results_log: %q
targets:
  - name: peer
    ping: %s
    every: 1s
    timeout: 500ms
    fail_after: 2
    recover_after: 1
`, filepath.Join(dir, "tocsin.db"), resultsPath, netnsPeerIP)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}

	d := startNetnsDaemon(t, ipCmd, nsA, bin, cfgPath, filepath.Join(dir, "stderr.log"))

	// The console prints nothing for unknown→up, so wait for a successful
	// result in the results log instead.
	netnsWaitFor(t, 20*time.Second, "a successful ping of peer in "+resultsPath, func() bool {
		return netnsHasOKResult(resultsPath, "peer")
	})
	if out, err := exec.Command(ipCmd, "netns", "exec", nsA, bin, "health", "--config", cfgPath).CombinedOutput(); err != nil {
		t.Errorf("tocsin health inside %s: %v: %s", nsA, err, out)
	}

	// Whatever the console said while peer came up (say a DOWN from a
	// first ping lost to link setup) must not count as the answer below.
	d.drain(t)
	netnsRun(t, ipCmd, "-n", nsB, "link", "set", netnsVethB, "down")
	line := d.waitLine(t, 15*time.Second, "DOWN", "peer")
	t.Logf("after link down: %q", line)
	if want := "DOWN peer 100% packet loss (1/1)"; line != want {
		t.Errorf("DOWN line = %q, want %q", line, want)
	}

	netnsRun(t, ipCmd, "-n", nsB, "link", "set", netnsVethB, "up")
	line = d.waitLine(t, 15*time.Second, "UP", "peer")
	t.Logf("after link up: %q", line)
}

// netnsPair creates two namespaces joined by a veth pair (netnsVethA in
// A, netnsVethB in B), every link up and no address yet, and registers
// their removal; it skips without root. It returns the path of `ip`, the
// tocsin binary and the two namespaces' names.
func netnsPair(t *testing.T) (ipCmd, bin, nsA, nsB string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create network namespaces")
	}
	ipCmd, err := exec.LookPath("ip")
	if err != nil {
		t.Fatalf("iproute2's `ip` is not installed (%v); .ci/run installs iproute2 — this test installs nothing", err)
	}
	bin = tocsinBinary(t)
	netnsRemoveStale(t, ipCmd)

	suffix := fmt.Sprintf("%d-%s", os.Getpid(), netnsRandomHex(t, 4))
	nsA, nsB = netnsPrefixA+suffix, netnsPrefixB+suffix
	// Registered before the first namespace exists, so a failure at any
	// later step still removes both (deleting a namespace removes its veth
	// end, and with it the pair).
	t.Cleanup(func() {
		for _, ns := range []string{nsA, nsB} {
			if out, err := exec.Command(ipCmd, "netns", "del", ns).CombinedOutput(); err != nil &&
				!strings.Contains(string(out), "No such file") {
				t.Errorf("ip netns del %s: %v: %s", ns, err, out)
			}
		}
	})
	netnsRun(t, ipCmd, "netns", "add", nsA)
	netnsRun(t, ipCmd, "netns", "add", nsB)
	netnsRun(t, ipCmd, "-n", nsA, "link", "add", netnsVethA, "type", "veth", "peer", "name", netnsVethB, "netns", nsB)
	for _, ns := range []string{nsA, nsB} {
		netnsRun(t, ipCmd, "-n", ns, "link", "set", "lo", "up")
	}
	netnsRun(t, ipCmd, "-n", nsA, "link", "set", netnsVethA, "up")
	netnsRun(t, ipCmd, "-n", nsB, "link", "set", netnsVethB, "up")
	return ipCmd, bin, nsA, nsB
}

// netnsDaemon is a running `tocsin run` and the lines of its stdout.
type netnsDaemon struct {
	lines <-chan string // closed when stdout ends
}

// startNetnsDaemon starts `ip netns exec NS BIN run --config CFG` (ip execs the
// binary, so the process is tocsin itself) and registers its stop: SIGTERM,
// up to 10 s to exit, then SIGKILL. Its stderr goes to stderrPath and is
// logged when the test fails.
func startNetnsDaemon(t *testing.T, ipCmd, ns, bin, cfgPath, stderrPath string) *netnsDaemon {
	t.Helper()
	stderr, err := os.Create(stderrPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(ipCmd, "netns", "exec", ns, bin, "run", "--config", cfgPath)
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		stderr.Close()
		t.Fatalf("starting tocsin in %s: %v", ns, err)
	}

	lines := make(chan string, 256)
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		// Drain what is left so the reader never blocks on a full channel.
		go func() {
			for range lines {
			}
		}()
		waited := make(chan error, 1)
		go func() {
			<-readDone // Wait closes stdout: read it to the end first
			waited <- cmd.Wait()
		}()
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Logf("SIGTERM to tocsin run: %v", err)
		}
		var err error
		select {
		case err = <-waited:
		case <-time.After(10 * time.Second):
			t.Errorf("tocsin run did not stop within 10 s of SIGTERM; killing it")
			_ = cmd.Process.Kill()
			err = <-waited
		}
		stderr.Close()
		// SIGTERM asks for a clean stop: anything but exit 0 is a failure.
		if err != nil {
			t.Errorf("tocsin run after SIGTERM: %v", err)
		}
		data, _ := os.ReadFile(stderrPath)
		if bytes.Contains(data, []byte("WARNING: DATA RACE")) {
			t.Errorf("tocsin run reported a data race:\n%s", data)
		} else if t.Failed() {
			t.Logf("tocsin run stderr:\n%s", netnsTail(data, 4000))
		}
	})
	return &netnsDaemon{lines: lines}
}

// waitLine returns the first stdout line whose first two words are event
// and name, failing the test after limit or when stdout ends. Lines read on
// the way are logged.
func (d *netnsDaemon) waitLine(t *testing.T, limit time.Duration, event, name string) string {
	t.Helper()
	timer := time.NewTimer(limit)
	defer timer.Stop()
	for {
		select {
		case line, ok := <-d.lines:
			if !ok {
				t.Fatalf("tocsin run's stdout ended before a %s %s line", event, name)
			}
			t.Logf("stdout: %s", line)
			f := strings.Fields(line)
			if len(f) >= 2 && f[0] == event && f[1] == name {
				return line
			}
		case <-timer.C:
			t.Fatalf("no %q line for %s within %v", event, name, limit)
		}
	}
}

// drain logs and drops the stdout lines read so far, without waiting.
func (d *netnsDaemon) drain(t *testing.T) {
	t.Helper()
	for {
		select {
		case line, ok := <-d.lines:
			if !ok {
				return
			}
			t.Logf("stdout (before): %s", line)
		default:
			return
		}
	}
}

// netnsHasOKResult reports whether the results log at path holds a line with
// "ok": true for the target name.
func netnsHasOKResult(path, name string) bool {
	data, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	for _, l := range bytes.Split(data, []byte("\n")) {
		var r struct {
			Name string `json:"name"`
			OK   bool   `json:"ok"`
		}
		if json.Unmarshal(l, &r) == nil && r.Name == name && r.OK {
			return true
		}
	}
	return false
}

// netnsWaitFor polls cond every 100 ms until it holds, failing the test after
// limit.
func netnsWaitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %v", what, limit)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// netnsRemoveStale deletes namespaces left by an earlier run of this
// test that crashed before its cleanup: names with our prefixes whose PID no
// longer runs. A namespace of a live run (another `go test` right now) is
// left alone.
func netnsRemoveStale(t *testing.T, ipCmd string) {
	t.Helper()
	out, err := exec.Command(ipCmd, "netns", "list").Output()
	if err != nil {
		t.Fatalf("ip netns list: %v", err)
	}
	for _, l := range strings.Split(string(out), "\n") {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		name := f[0] // "NAME (id: N)"
		pid, ok := netnsPID(name)
		if !ok || netnsProcessExists(pid) {
			continue
		}
		if out, err := exec.Command(ipCmd, "netns", "del", name).CombinedOutput(); err != nil {
			t.Logf("removing stale namespace %s: %v: %s", name, err, out)
		} else {
			t.Logf("removed stale namespace %s", name)
		}
	}
}

// netnsPID returns the PID in a name made by this test
// (tocsin-a-PID-RAND or tocsin-b-PID-RAND).
func netnsPID(name string) (int, bool) {
	var rest string
	switch {
	case strings.HasPrefix(name, netnsPrefixA):
		rest = strings.TrimPrefix(name, netnsPrefixA)
	case strings.HasPrefix(name, netnsPrefixB):
		rest = strings.TrimPrefix(name, netnsPrefixB)
	default:
		return 0, false
	}
	pidStr, _, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, false
	}
	pid, err := strconv.Atoi(pidStr)
	if err != nil || pid <= 0 {
		return 0, false
	}
	return pid, true
}

func netnsProcessExists(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

func netnsRun(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
}

func netnsRandomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func netnsTail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

func TestNamespacePID(t *testing.T) {
	tests := []struct {
		name   string
		wantOK bool
		want   int
	}{
		{"tocsin-a-123-abcd", true, 123},
		{"tocsin-b-9-00", true, 9},
		{"tocsin-a-123", false, 0},
		{"tocsin-c-123-ab", false, 0},
		{"tocsin-a-x1-ab", false, 0},
		{"tocsin-a--ab", false, 0},
		{"other", false, 0},
	}
	for _, tt := range tests {
		got, ok := netnsPID(tt.name)
		if ok != tt.wantOK || got != tt.want {
			t.Errorf("namespacePID(%q) = %d, %v; want %d, %v", tt.name, got, ok, tt.want, tt.wantOK)
		}
	}
}
