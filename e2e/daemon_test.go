package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// daemon is one running `tocsin run` with its stdout collected line by line.
type daemon struct {
	t      *testing.T
	cmd    *exec.Cmd
	listen string
	mu     sync.Mutex
	lines  []string
	stderr bytes.Buffer
	done   chan struct{}
}

// freeAddr returns a loopback address with a port nobody listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func writeConfig(t *testing.T, dir, body string) string {
	t.Helper()
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// startDaemon runs tocsin with cfg and waits until /healthz answers 200.
func startDaemon(t *testing.T, cfg, listen string) *daemon {
	t.Helper()
	return startDaemonEnv(t, cfg, listen, nil)
}

// startDaemonEnv is startDaemon with env added to tocsin's environment.
func startDaemonEnv(t *testing.T, cfg, listen string, env []string) *daemon {
	t.Helper()
	d := &daemon{t: t, listen: listen, done: make(chan struct{})}
	d.cmd = exec.Command(tocsinBinary(t), "run", "--config", cfg, "--log-level", "debug")
	if env != nil {
		d.cmd.Env = append(os.Environ(), env...)
	}
	d.cmd.Stderr = &syncWriter{w: &d.stderr, mu: &d.mu}
	out, err := d.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(d.done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			d.mu.Lock()
			d.lines = append(d.lines, sc.Text())
			d.mu.Unlock()
		}
		_ = d.cmd.Wait()
	}()
	t.Cleanup(func() {
		if d.cmd.ProcessState == nil {
			_ = d.cmd.Process.Kill()
			<-d.done
		}
		if strings.Contains(d.errText(), "WARNING: DATA RACE") {
			t.Errorf("the race detector reported a data race in tocsin")
		}
		if t.Failed() {
			t.Logf("stdout of tocsin:\n%s\nstderr:\n%s", strings.Join(d.stdout(), "\n"), d.errText())
		}
	})
	d.waitFor("healthz 200", 20*time.Second, func() bool {
		resp, err := http.Get("http://" + listen + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return d
}

type syncWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func (d *daemon) stdout() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.lines...)
}

func (d *daemon) errText() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stderr.String()
}

// waitFor polls cond every 50 ms until it holds or limit passes.
func (d *daemon) waitFor(what string, limit time.Duration, cond func() bool) {
	d.t.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		select {
		case <-d.done:
			d.t.Fatalf("tocsin exited while waiting for %s", what)
		case <-time.After(50 * time.Millisecond):
		}
	}
	d.t.Fatalf("timed out after %s waiting for %s", limit, what)
}

// countLines counts stdout lines starting with prefix.
func (d *daemon) countLines(prefix string) int {
	n := 0
	for _, l := range d.stdout() {
		if strings.HasPrefix(l, prefix) {
			n++
		}
	}
	return n
}

type apiTarget struct {
	Name          string   `json:"name"`
	Kind          string   `json:"kind"`
	Status        string   `json:"status"`
	Since         *string  `json:"since"`
	LastError     string   `json:"last_error"`
	LastLatencyMS *float64 `json:"last_latency_ms"`
	AckedBy       *string  `json:"acked_by"`
	MutedUntil    *string  `json:"muted_until"`
}

func (d *daemon) status(name string) apiTarget {
	d.t.Helper()
	resp, err := http.Get("http://" + d.listen + "/api/status")
	if err != nil {
		return apiTarget{}
	}
	defer resp.Body.Close()
	var body struct {
		Targets []apiTarget `json:"targets"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		d.t.Errorf("decoding /api/status: %v", err)
	}
	for _, tg := range body.Targets {
		if tg.Name == name {
			return tg
		}
	}
	return apiTarget{}
}

// flipper is an HTTP target whose answer the test flips.
type flipper struct {
	failing atomic.Bool
	hits    atomic.Int64
}

func (f *flipper) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.hits.Add(1)
	if f.failing.Load() {
		http.Error(w, "down for the test", http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintln(w, "ok")
}

// TestRunDownUpAndRestart drives the binary against a flipping target:
// DOWN then UP on stdout with /api/status agreeing, and a kill -9 in the
// middle of the outage that must not cause a second DOWN.
func TestRunDownUpAndRestart(t *testing.T) {
	f := &flipper{}
	srv := httptest.NewServer(f)
	defer srv.Close()

	dir := t.TempDir()
	listen := freeAddr(t)
	cfg := writeConfig(t, dir, fmt.Sprintf(`listen: %s
state: %s
results_log: %s
defaults:
  every: 1s
  timeout: 2s
  fail_after: 2
  recover_after: 1
targets:
  - name: flip
    http: %s/health
    expect_status: [200]
`, listen, filepath.Join(dir, "tocsin.db"), filepath.Join(dir, "results.jsonl"), srv.URL))

	d := startDaemon(t, cfg, listen)
	d.waitFor("flip up", 15*time.Second, func() bool { return d.status("flip").Status == "up" })

	f.failing.Store(true)
	d.waitFor("a DOWN line", 15*time.Second, func() bool { return d.countLines("DOWN flip") == 1 })
	if got := d.stdout(); !strings.Contains(strings.Join(got, "\n"), "DOWN flip HTTP 503") {
		t.Errorf("DOWN line should give the reason HTTP 503; stdout:\n%s", strings.Join(got, "\n"))
	}
	st := d.status("flip")
	if st.Status != "down" || st.LastError != "HTTP 503" || st.Since == nil {
		t.Fatalf("/api/status during the outage = %+v, want down with HTTP 503 and a since", st)
	}
	since := *st.Since

	// kill -9 in the middle of the outage, then start again on the same state.
	if err := d.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-d.done

	d2 := startDaemon(t, cfg, listen)
	hits := f.hits.Load()
	d2.waitFor("three more failed checks", 15*time.Second, func() bool { return f.hits.Load() >= hits+3 })
	if n := d2.countLines("DOWN"); n != 0 {
		t.Fatalf("after a restart mid-outage tocsin printed %d DOWN lines, want 0:\n%s", n, strings.Join(d2.stdout(), "\n"))
	}
	st = d2.status("flip")
	if st.Status != "down" || st.Since == nil || *st.Since != since {
		t.Fatalf("/api/status after restart = %+v, want still down since %s", st, since)
	}

	f.failing.Store(false)
	d2.waitFor("an UP line", 15*time.Second, func() bool { return d2.countLines("UP flip") == 1 })
	d2.waitFor("flip up in /api/status", 5*time.Second, func() bool { return d2.status("flip").Status == "up" })

	// SIGTERM stops it cleanly with exit 0.
	if err := d2.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-d2.done:
	case <-time.After(15 * time.Second):
		t.Fatal("tocsin did not stop within 15s of SIGTERM")
	}
	if code := d2.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit code after SIGTERM = %d, want 0", code)
	}
	if n := d2.countLines("DOWN"); n != 0 {
		t.Fatalf("second process printed a DOWN: %v", d2.stdout())
	}

	// The results log has one JSON line per check with the contract's keys.
	data, err := os.ReadFile(filepath.Join(dir, "results.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) < 5 {
		t.Fatalf("results log has %d lines, want at least 5", len(lines))
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatalf("results log line %q: %v", lines[0], err)
	}
	for _, k := range []string{"time", "name", "kind", "ok", "latency_ms", "error"} {
		if _, ok := rec[k]; !ok {
			t.Errorf("results log line lacks %q: %s", k, lines[0])
		}
	}
}

// TestReload adds a target by SIGHUP, then refuses a broken config and keeps
// running the previous one.
func TestReload(t *testing.T) {
	f := &flipper{}
	srv := httptest.NewServer(f)
	defer srv.Close()
	dir := t.TempDir()
	listen := freeAddr(t)
	head := fmt.Sprintf("listen: %s\nstate: %s\ndefaults:\n  every: 1s\n  timeout: 2s\n  fail_after: 1\ntargets:\n",
		listen, filepath.Join(dir, "tocsin.db"))
	one := fmt.Sprintf("  - name: first\n    http: %s/a\n", srv.URL)
	two := fmt.Sprintf("  - name: second\n    tcp: %s\n", strings.TrimPrefix(srv.URL, "http://"))
	cfg := writeConfig(t, dir, head+one)

	d := startDaemon(t, cfg, listen)
	d.waitFor("first up", 15*time.Second, func() bool { return d.status("first").Status == "up" })

	writeConfig(t, dir, head+one+two)
	if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	d.waitFor("second up after reload", 15*time.Second, func() bool { return d.status("second").Status == "up" })

	writeConfig(t, dir, head+"  - name: third\n    tcp: nope\n")
	if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	d.waitFor("the refusal in the log", 10*time.Second, func() bool {
		return strings.Contains(d.errText(), "config reload refused")
	})
	if !strings.Contains(d.errText(), "targets[0].tcp") {
		t.Errorf("the refusal should name the key; stderr:\n%s", d.errText())
	}
	if d.status("second").Status != "up" || d.status("first").Status != "up" {
		t.Fatalf("after a refused reload the old targets should still run")
	}

	// Removing a target that is down closes its incident as removed.
	f.failing.Store(true)
	d.waitFor("DOWN first", 15*time.Second, func() bool { return d.countLines("DOWN first") == 1 })
	writeConfig(t, dir, head+two)
	if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	d.waitFor("REMOVED first", 15*time.Second, func() bool { return d.countLines("REMOVED first") == 1 })
	d.waitFor("first gone from /api/status", 5*time.Second, func() bool { return d.status("first").Name == "" })
}

// TestResultsLogRotation renames the results log as logrotate does and sends
// SIGHUP: new results go to a new file at the configured path, even when
// the config on disk has meanwhile become invalid.
func TestResultsLogRotation(t *testing.T) {
	srv := httptest.NewServer(&flipper{})
	defer srv.Close()
	dir := t.TempDir()
	listen := freeAddr(t)
	log := filepath.Join(dir, "results.jsonl")
	cfg := writeConfig(t, dir, fmt.Sprintf("listen: %s\nstate: %s\nresults_log: %s\ndefaults:\n  every: 1s\ntargets:\n  - name: site\n    http: %s/\n",
		listen, filepath.Join(dir, "tocsin.db"), log, srv.URL))
	d := startDaemon(t, cfg, listen)
	size := func(p string) int64 {
		fi, err := os.Stat(p)
		if err != nil {
			return 0
		}
		return fi.Size()
	}
	d.waitFor("a first result", 10*time.Second, func() bool { return size(log) > 0 })
	if err := os.Rename(log, log+".1"); err != nil {
		t.Fatal(err)
	}
	writeConfig(t, dir, "targets: [oops\n")
	if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	d.waitFor("results in a new file", 10*time.Second, func() bool { return size(log) > 0 })
	if !strings.Contains(d.errText(), "config reload refused") {
		t.Errorf("the broken config should have been refused; stderr:\n%s", d.errText())
	}
	if size(log+".1") == 0 {
		t.Error("the rotated file lost its lines")
	}
}
