package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tocsin/tocsin/internal/dnsstub"
)

// tocsin runs the binary with args and returns stdout, stderr and the exit code.
func tocsin(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(tocsinBinary(t), args...)
	cmd.Env = append(os.Environ(), "TOCSIN_CONFIG=")
	return runCmd(t, cmd)
}

// runCmd runs cmd and returns its stdout, stderr and exit code; a command
// that could not be started fails the test.
func runCmd(t *testing.T, cmd *exec.Cmd) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

func TestValidate(t *testing.T) {
	dir := t.TempDir()
	good := writeConfig(t, dir, "targets:\n  - name: lo\n    ping: 127.0.0.1\n  - name: web\n    http: http://127.0.0.1:1/\n")
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("targets:\n  - name: lo\n    ping: 127.0.0.1\n    timeout: 5x\n  - name: lo\n    tcp: 127.0.0.1:1\n"), 0o644)

	tests := []struct {
		name       string
		args       []string
		code       int
		stdout     string
		stderrHas  []string
		stdoutNone bool
	}{
		{name: "good", args: []string{"validate", "--config", good}, code: 0, stdout: good + ": ok (2 targets)\n"},
		{name: "flag after verb args", args: []string{"validate", "--log-level", "warn", "--config", good}, code: 0, stdout: good + ": ok (2 targets)\n"},
		{name: "bad", args: []string{"validate", "--config", bad}, code: 2, stdoutNone: true,
			stderrHas: []string{bad + `:4: targets[0].timeout: "5x" is not a duration`, bad + ":5: targets[1].name:"}},
		{name: "missing file", args: []string{"validate", "--config", filepath.Join(dir, "nope.yaml")}, code: 2, stdoutNone: true,
			stderrHas: []string{"nope.yaml"}},
		{name: "unknown verb", args: []string{"frobnicate"}, code: 2},
		{name: "stray argument", args: []string{"validate", "extra", "--config", good}, code: 2},
		{name: "bad log level", args: []string{"validate", "--config", good, "--log-level", "loud"}, code: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, errs, code := tocsin(t, tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stdout %q stderr %q", code, tc.code, out, errs)
			}
			if tc.stdout != "" && out != tc.stdout {
				t.Errorf("stdout %q, want %q", out, tc.stdout)
			}
			if tc.stdoutNone && out != "" {
				t.Errorf("stdout %q, want nothing", out)
			}
			for _, s := range tc.stderrHas {
				if !strings.Contains(errs, s) {
					t.Errorf("stderr lacks %q:\n%s", s, errs)
				}
			}
		})
	}
}

func TestCheckJSON(t *testing.T) {
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "fine") }))
	defer ok.Close()
	dns := dnsstub.Start(t, map[string][]netip.Addr{"web.test.": {netip.MustParseAddr("127.0.0.1")}})
	dir := t.TempDir()
	results := filepath.Join(dir, "results.jsonl")
	port := strings.TrimPrefix(ok.URL, "http://127.0.0.1:")
	cfg := writeConfig(t, dir, fmt.Sprintf(`results_log: %s
resolver: %s
targets:
  - name: lo
    ping: 127.0.0.1
  - name: lo-other
    ping: 127.9.8.7
  - name: site
    http: %s/
    contains: fine
  - name: by-name
    http: http://web.test:%s/
  - name: nxdomain
    tcp: nosuch.test:80
`, results, dns.Addr(), ok.URL, port))

	out, errs, code := tocsin(t, "check", "--config", cfg, "--json")
	if code != 1 {
		t.Fatalf("exit %d, want 1 (nxdomain is down); stderr %s", code, errs)
	}
	var got struct {
		Targets []struct {
			Name, Kind, Status, Error string
			LatencyMS                 float64 `json:"latency_ms"`
		} `json:"targets"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("stdout is not JSON only: %v\n%s", err, out)
	}
	want := map[string]string{"lo": "up", "lo-other": "up", "site": "up", "by-name": "up", "nxdomain": "down"}
	if len(got.Targets) != len(want) {
		t.Fatalf("got %d targets, want %d: %s", len(got.Targets), len(want), out)
	}
	for _, tg := range got.Targets {
		if want[tg.Name] != tg.Status {
			t.Errorf("%s: status %s (%s), want %s", tg.Name, tg.Status, tg.Error, want[tg.Name])
		}
		if tg.Name == "nxdomain" && !strings.Contains(tg.Error, "lookup nosuch.test") {
			t.Errorf("nxdomain error %q should be the lookup failure", tg.Error)
		}
	}
	data, err := os.ReadFile(results)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(data), "\n"); n != 5 {
		t.Errorf("results log has %d lines, want 5", n)
	}

	// The table form names every target.
	out, _, _ = tocsin(t, "check", "--config", cfg)
	for name := range want {
		if !strings.Contains(out, name) {
			t.Errorf("table lacks %s:\n%s", name, out)
		}
	}
}

func TestPing(t *testing.T) {
	dns := dnsstub.Start(t, map[string][]netip.Addr{"lo.test.": {netip.MustParseAddr("127.0.0.1")}})
	tests := []struct {
		name   string
		args   []string
		code   int
		outHas string
		errHas string
		quiet  bool // a refusal: nothing on stdout
	}{
		{name: "loopback", args: []string{"ping", "127.0.0.1", "--count", "2", "--interval", "100ms"}, code: 0, outHas: "2 packets transmitted, 2 received"},
		{name: "flags first", args: []string{"ping", "--count", "1", "127.4.5.6"}, code: 0, outHas: "1 received"},
		{name: "by name", args: []string{"ping", "--resolver", dns.Addr(), "lo.test", "--count", "1"}, code: 0, outHas: "1 received"},
		{name: "nxdomain", args: []string{"ping", "--resolver", dns.Addr(), "nosuch.test"}, code: 2, errHas: "no such host", quiet: true},
		{name: "flag injection", args: []string{"ping", "--", "-f"}, code: 2, errHas: "-f", quiet: true},
		{name: "shell", args: []string{"ping", "127.0.0.1;reboot"}, code: 2, errHas: "127.0.0.1;reboot", quiet: true},
		{name: "url", args: []string{"ping", "http://127.0.0.1/"}, code: 2},
		{name: "no host", args: []string{"ping"}, code: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, errs, code := tocsin(t, tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stdout %q stderr %q", code, tc.code, out, errs)
			}
			if !strings.Contains(out, tc.outHas) {
				t.Errorf("stdout lacks %q:\n%s", tc.outHas, out)
			}
			if tc.quiet && out != "" {
				t.Errorf("a refused ping printed on stdout: %q", out)
			}
			if !strings.Contains(errs, tc.errHas) {
				t.Errorf("stderr lacks %q:\n%s", tc.errHas, errs)
			}
		})
	}
}

func TestUnusableStateFile(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "tocsin.db")
	if err := os.WriteFile(state, bytes.Repeat([]byte("not a database "), 400), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, dir, fmt.Sprintf("listen: %s\nstate: %s\ntargets:\n  - name: lo\n    tcp: 127.0.0.1:1\n", freeAddr(t), state))
	_, errs, code := tocsin(t, "run", "--config", cfg)
	if code != 2 {
		t.Fatalf("exit %d, want 2; stderr %s", code, errs)
	}
	if !strings.Contains(errs, state) {
		t.Errorf("the error should name the state file; stderr:\n%s", errs)
	}
	data, _ := os.ReadFile(state)
	if !bytes.HasPrefix(data, []byte("not a database")) {
		t.Error("the unusable state file was changed")
	}
}

func TestHealthAndVersion(t *testing.T) {
	out, _, code := tocsin(t, "version")
	if code != 0 || !strings.HasPrefix(out, "tocsin ") {
		t.Fatalf("version: exit %d, %q", code, out)
	}
	dir := t.TempDir()
	listen := freeAddr(t)
	cfg := writeConfig(t, dir, fmt.Sprintf("listen: %s\nstate: %s\ntargets: []\n", listen, filepath.Join(dir, "s.db")))
	if _, _, code := tocsin(t, "health", "--config", cfg); code != 1 {
		t.Fatalf("health with nothing listening: exit %d, want 1", code)
	}
	startDaemon(t, cfg, listen)
	if out, errs, code := tocsin(t, "health", "--config", cfg); code != 0 {
		t.Fatalf("health of a running tocsin: exit %d %q %q", code, out, errs)
	}
}

// TestSecondDaemonRefused: a second `tocsin run` on a state file in use is
// refused with exit 2, so no alert is ever sent twice; a port in use is
// refused the same way, before the state file is touched.
func TestSecondDaemonRefused(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "tocsin.db")
	listen := freeAddr(t)
	cfg := writeConfig(t, dir, fmt.Sprintf("listen: %s\nstate: %s\ntargets: []\n", listen, state))
	startDaemon(t, cfg, listen)

	other := filepath.Join(dir, "other")
	os.Mkdir(other, 0o755)
	sameState := writeConfig(t, other, fmt.Sprintf("listen: %s\nstate: %s\ntargets: []\n", freeAddr(t), state))
	_, errs, code := tocsin(t, "run", "--config", sameState)
	if code != 2 || !strings.Contains(errs, "in use by another tocsin") {
		t.Errorf("second daemon on the same state: exit %d, stderr %q; want 2 and the reason", code, errs)
	}

	fresh := filepath.Join(other, "fresh.db")
	samePort := writeConfig(t, other, fmt.Sprintf("listen: %s\nstate: %s\ntargets: []\n", listen, fresh))
	_, errs, code = tocsin(t, "run", "--config", samePort)
	if code != 2 || !strings.Contains(errs, "address already in use") {
		t.Errorf("second daemon on the same port: exit %d, stderr %q; want 2 and the reason", code, errs)
	}
	if _, err := os.Stat(fresh); !os.IsNotExist(err) {
		t.Errorf("a daemon refused for its port created its state file (%v)", err)
	}
}
