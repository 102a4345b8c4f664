// Command latency measures two of tocsin's latencies on this machine, every
// network address on loopback:
//
//	latency alerts  -tocsin PATH [-n 200] -out DIR
//	latency restart -tocsin PATH -config CFG -results-log PATH -every 30s -targets N [-runs 3] -out DIR
//
// alerts: from the check that decides a target DOWN to the alert reaching
// Slack's and Discord's APIs (the in-repo fakes), one transition at a time,
// spaced so the platforms' rate limits are not what is measured.
//
// restart: from kill -9 of `tocsin run` to its first check after an
// immediate restart, to every target's first result, and to /healthz
// answering 200.
//
// Each prints a markdown fragment (a ### heading and a table) on stdout,
// writes its raw figures as TSV into -out, and exits nonzero when it could
// not measure. Every wait is bounded; every tocsin it starts is killed
// before it exits, error paths and signals included.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `usage:
  latency alerts  -tocsin PATH [-n 200] -out DIR
  latency restart -tocsin PATH -config CFG -results-log PATH -every 30s -targets N [-runs 3] -out DIR`

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	// Whatever happens below, no tocsin outlives this process.
	defer killAll()

	var err error
	switch args[0] {
	case "alerts":
		err = cmdAlerts(ctx, args[1:], stdout, stderr)
	case "restart":
		err = cmdRestart(ctx, args[1:], stdout, stderr)
	default:
		fmt.Fprintln(stderr, usage)
		return 2
	}
	var ue usageError
	switch {
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "latency %s: %v\n%s\n", args[0], err, usage)
		return 2
	case err != nil:
		fmt.Fprintf(stderr, "latency %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

// usageError is a bad command line (exit 2).
type usageError struct{ error }

// --- child processes ---------------------------------------------------

// child is one running tocsin.
type child struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once it has exited and been reaped
	err  error         // Wait's error, set before done is closed
}

var (
	childrenMu sync.Mutex
	children   = map[*child]bool{}
)

// startChild starts bin with args, its stdout and stderr going to the given
// writers. The child gets its own process group (a Ctrl-C reaches only this
// program, which then stops it) and is killed by the kernel should this
// program die first.
func startChild(bin string, args []string, stdout, stderr io.Writer) (*child, error) {
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &child{cmd: cmd, done: make(chan struct{})}
	childrenMu.Lock()
	children[c] = true
	childrenMu.Unlock()
	go func() {
		c.err = cmd.Wait()
		childrenMu.Lock()
		delete(children, c)
		childrenMu.Unlock()
		close(c.done)
	}()
	return c, nil
}

// exited reports whether the child has exited.
func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// kill sends SIGKILL and waits (bounded) until the child is reaped.
func (c *child) kill() error {
	if c.exited() {
		return nil
	}
	_ = c.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-c.done:
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("tocsin (pid %d) not reaped 10s after SIGKILL", c.cmd.Process.Pid)
	}
}

// stop sends SIGTERM, waits up to limit, then kills.
func (c *child) stop(limit time.Duration) error {
	if c.exited() {
		return nil
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
		return nil
	case <-time.After(limit):
	}
	if err := c.kill(); err != nil {
		return err
	}
	return fmt.Errorf("tocsin (pid %d) did not stop within %s of SIGTERM; killed", c.cmd.Process.Pid, limit)
}

// killAll kills every child still running.
func killAll() {
	childrenMu.Lock()
	list := make([]*child, 0, len(children))
	for c := range children {
		list = append(list, c)
	}
	childrenMu.Unlock()
	for _, c := range list {
		_ = c.kill()
	}
}

// --- the results log -----------------------------------------------------

// result is the part of one results-log line the benchmark reads.
type result struct {
	Start   time.Time     // "time": when the check started
	Name    string        // "name"
	OK      bool          // "ok"
	Latency time.Duration // "latency_ms"; 0 for a failed check
}

// End is when the check ended, as far as the line tells: its start plus
// its latency. A failed check's line carries no latency, so its End is its
// start (for a refused connect that is microseconds early).
func (r result) End() time.Time { return r.Start.Add(r.Latency) }

// parseResult parses one results-log line (resultslog.Marshal's format).
func parseResult(line []byte) (result, error) {
	var raw struct {
		Time      *string  `json:"time"`
		Name      *string  `json:"name"`
		OK        *bool    `json:"ok"`
		LatencyMS *float64 `json:"latency_ms"`
	}
	if err := json.Unmarshal(line, &raw); err != nil {
		return result{}, fmt.Errorf("results log line: %w", err)
	}
	if raw.Time == nil || raw.Name == nil || raw.OK == nil {
		return result{}, errors.New("results log line: time, name or ok missing")
	}
	t, err := time.Parse(time.RFC3339Nano, *raw.Time)
	if err != nil {
		return result{}, fmt.Errorf("results log line: time: %w", err)
	}
	r := result{Start: t, Name: *raw.Name, OK: *raw.OK}
	if raw.LatencyMS != nil {
		if ms := *raw.LatencyMS; ms > 0 && !math.IsInf(ms, 0) && !math.IsNaN(ms) {
			r.Latency = time.Duration(math.Round(ms * float64(time.Millisecond)))
		}
	}
	return r, nil
}

// tail reads a results log as it grows: every call of next returns the
// lines completed since the last one. The file may not exist yet.
type tail struct {
	path    string
	f       *os.File
	off     int64
	partial []byte
	bad     int // lines that did not parse
}

// newTail starts reading path at offset from (the file's end: -1).
func newTail(path string, from int64) (*tail, error) {
	t := &tail{path: path}
	if from < 0 {
		fi, err := os.Stat(path)
		switch {
		case errors.Is(err, os.ErrNotExist):
			from = 0
		case err != nil:
			return nil, err
		default:
			from = fi.Size()
		}
	}
	t.off = from
	return t, nil
}

// next returns the complete lines appended since the last call, parsed.
func (t *tail) next() ([]result, error) {
	if t.f == nil {
		f, err := os.Open(t.path)
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		t.f = f
	}
	var out []result
	buf := make([]byte, 1<<20)
	for {
		n, err := t.f.ReadAt(buf, t.off)
		t.off += int64(n)
		data := append(t.partial, buf[:n]...)
		last := bytes.LastIndexByte(data, '\n')
		if last < 0 {
			t.partial = data
		} else {
			for _, line := range bytes.Split(data[:last], []byte{'\n'}) {
				if len(bytes.TrimSpace(line)) == 0 {
					continue
				}
				r, perr := parseResult(line)
				if perr != nil {
					t.bad++
					continue
				}
				out = append(out, r)
			}
			t.partial = append([]byte(nil), data[last+1:]...)
		}
		if errors.Is(err, io.EOF) || n == 0 {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}

func (t *tail) close() {
	if t.f != nil {
		t.f.Close()
	}
}

// --- figures ---------------------------------------------------------------

// percentile is the nearest-rank p-th percentile (0 < p ≤ 100) of sorted
// (ascending): the smallest value with at least p% of the values at or
// below it. NaN when there are none.
func percentile(sorted []float64, p float64) float64 {
	n := len(sorted)
	if n == 0 {
		return math.NaN()
	}
	// p·n/100 rather than p/100·n: 99·200/100 is exactly 198.
	rank := int(math.Ceil(p*float64(n)/100 - 1e-9))
	rank = max(1, min(rank, n))
	return sorted[rank-1]
}

// median of xs (the mean of the middle two for an even count); NaN for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// ms formats a duration in milliseconds, "-" for NaN.
func ms(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	if v >= 100 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

// msOf is d in (fractional) milliseconds.
func msOf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// stamp formats t for the TSV files; "-" for the zero time.
func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02T15:04:05.000000Z")
}

// writeTSV writes rows (the first is the header) to path.
func writeTSV(path string, rows [][]string) error {
	var b strings.Builder
	for _, r := range rows {
		b.WriteString(strings.Join(r, "\t"))
		b.WriteByte('\n')
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// --- loopback HTTP ---------------------------------------------------------

// httpClient talks to tocsin's own port on loopback: no proxy, no reuse
// (each poll is a fresh connection, as a health checker makes).
var httpClient = &http.Client{
	Timeout:   2 * time.Second,
	Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true},
}

// healthy reports whether GET http://addr/healthz answers 200.
func healthy(ctx context.Context, addr string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/healthz", nil)
	if err != nil {
		return false
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// loopbackAddr turns tocsin's listen address into one to call it on:
// an unspecified host (all interfaces) becomes 127.0.0.1 (or ::1), and
// "localhost" 127.0.0.1, without asking DNS. ok is false when the host is
// not on loopback (never called) or the port is 0 (not known in advance).
func loopbackAddr(listen string) (addr string, ok bool) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil || port == "0" || port == "" {
		return "", false
	}
	switch strings.ToLower(host) {
	case "", "0.0.0.0", "localhost":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return "", false
	}
	return net.JoinHostPort(host, port), true
}

// freeLoopbackAddr returns 127.0.0.1:PORT with a port nobody listens on now.
func freeLoopbackAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr, nil
}

// logWatch is tocsin's stderr (JSON log lines): it copies them to w and
// notes when the "tocsin running" line came and the address it names.
// exec's copier calls Write from one goroutine.
type logWatch struct {
	w       io.Writer
	partial []byte

	mu      sync.Mutex
	running time.Time
	listen  string
}

func newLogWatch(w io.Writer) *logWatch { return &logWatch{w: w} }

func (l *logWatch) Write(p []byte) (int, error) {
	now := time.Now()
	if _, err := l.w.Write(p); err != nil {
		return 0, err
	}
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		l.line(l.partial[:i], now)
		l.partial = l.partial[i+1:]
	}
	if len(l.partial) > 1<<20 { // no newline in a megabyte: not a log line
		l.partial = nil
	}
	return len(p), nil
}

func (l *logWatch) line(line []byte, now time.Time) {
	var rec struct {
		Msg    string `json:"msg"`
		Listen string `json:"listen"`
	}
	if json.Unmarshal(line, &rec) != nil || rec.Msg != "tocsin running" {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.running.IsZero() {
		l.running, l.listen = now, rec.Listen
	}
}

// runningAt is when "tocsin running" was logged (zero: not yet) and the
// address it named.
func (l *logWatch) runningAt() (time.Time, string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.running, l.listen
}

// sleepCtx sleeps for d or until ctx ends (false).
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
