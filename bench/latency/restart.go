package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/tocsin/tocsin/config"
)

// restartRun is one kill -9 and restart, as measured.
type restartRun struct {
	Killed    time.Time // SIGKILL sent
	Reaped    time.Time // the killed process reaped (its state lock released)
	Restarted time.Time // the new process started
	Running   time.Time // it logged "tocsin running" (zero: not seen)
	Healthy   time.Time // its /healthz first answered 200 (zero: not, or no address)
	// FirstEnd is the earliest check end (time + latency_ms) among the new
	// process's results-log lines: its first check; FirstRead is when that
	// line was read here.
	FirstEnd, FirstRead time.Time
	// LastEnd is the latest of the targets' first check ends: when the last
	// target had been checked; LastRead when that line was read here.
	LastEnd, LastRead time.Time
	Checked, Missing  int // targets with and without a result within the bound
}

func (r restartRun) firstCheck() float64 { return sinceMS(r.Killed, r.FirstEnd) }
func (r restartRun) allChecked() float64 { return sinceMS(r.Killed, r.LastEnd) }
func (r restartRun) healthz() float64    { return sinceMS(r.Restarted, r.Healthy) }
func (r restartRun) running() float64    { return sinceMS(r.Killed, r.Running) }

// sinceMS is b − a in ms; NaN when either is zero.
func sinceMS(a, b time.Time) float64 {
	if a.IsZero() || b.IsZero() {
		return math.NaN()
	}
	return msOf(b.Sub(a))
}

func cmdRestart(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("restart", flag.ContinueOnError)
	fs.SetOutput(stderr)
	bin := fs.String("tocsin", "", "the tocsin `binary`")
	cfgPath := fs.String("config", "", "tocsin's `config` (with results_log set)")
	rlogPath := fs.String("results-log", "", "the config's results_log `path`")
	every := fs.Duration("every", 30*time.Second, "the targets' interval")
	want := fs.Int("targets", 0, "how many targets the config has")
	runs := fs.Int("runs", 3, "kill -9 and restart this many times")
	out := fs.String("out", "", "`dir` for the raw figures and tocsin's logs")
	settle := fs.Duration("settle", 2*time.Second, "wait before each kill, so the state's batched writes (1/s) are in")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	switch {
	case fs.NArg() > 0:
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	case *bin == "" || *cfgPath == "" || *rlogPath == "" || *out == "":
		return usageError{errors.New("-tocsin, -config, -results-log and -out are required")}
	case *want < 1:
		return usageError{errors.New("-targets must be at least 1")}
	case *runs < 1 || *runs > 20:
		return usageError{errors.New("-runs must be 1 to 20")}
	case *every < time.Second || *every > time.Hour:
		return usageError{errors.New("-every must be 1s to 1h")}
	case *settle < 0 || *settle > time.Minute:
		return usageError{errors.New("-settle must be 0 to 1m")}
	}

	cfg, err := config.Load(*cfgPath, os.Getenv)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if len(cfg.Targets) != *want {
		return usageError{fmt.Errorf("the config has %d targets, -targets says %d", len(cfg.Targets), *want)}
	}
	if cfg.ResultsLog == "" {
		return usageError{fmt.Errorf("%s sets no results_log", *cfgPath)}
	}
	logAbs, err := filepath.Abs(*rlogPath)
	if err != nil {
		return err
	}
	cfgLogAbs, err := filepath.Abs(cfg.ResultsLog)
	if err != nil {
		return err
	}
	if logAbs != cfgLogAbs {
		return usageError{fmt.Errorf("-results-log %s is not the config's results_log %s", logAbs, cfgLogAbs)}
	}
	names := make(map[string]bool, len(cfg.Targets))
	for _, t := range cfg.Targets {
		names[t.Name] = true
		if t.Every != *every {
			fmt.Fprintf(stderr, "latency restart: target %s is checked every %s, not %s; the goal uses %s\n",
				t.Name, t.Every, *every, *every)
			break
		}
	}
	// /healthz: on the configured address when it is on loopback with a
	// port; with port 0, on the address tocsin logs when it runs.
	addr, fixedAddr := loopbackAddr(cfg.Listen)
	fromLog := false
	if h, p, err := net.SplitHostPort(cfg.Listen); !fixedAddr && err == nil && p == "0" {
		_, fromLog = loopbackAddr(net.JoinHostPort(h, "1"))
	}
	if !fixedAddr && !fromLog {
		fmt.Fprintf(stderr, "latency restart: listen %q is not on loopback: /healthz not measured\n", cfg.Listen)
	}

	dir, err := filepath.Abs(*out)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	outf, err := os.OpenFile(filepath.Join(dir, "restart-tocsin.out"), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	defer outf.Close()
	errf, err := os.OpenFile(filepath.Join(dir, "restart-tocsin.err"), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	defer errf.Close()

	tl, err := newTail(logAbs, -1)
	if err != nil {
		return err
	}
	defer tl.close()

	var d *child
	var lw *logWatch
	start := func() (time.Time, error) {
		lw = newLogWatch(errf)
		t := time.Now()
		c, err := startChild(*bin, []string{"run", "--config", *cfgPath, "--log-format", "json"}, outf, lw)
		if err != nil {
			return t, fmt.Errorf("starting tocsin: %w", err)
		}
		d = c
		return t, nil
	}
	defer func() {
		if d != nil {
			_ = d.kill()
		}
	}()

	bound := *every*3/2 + 30*time.Second
	fmt.Fprintf(stderr, "latency restart: starting tocsin with %d targets; waiting up to %s for every first result\n",
		len(names), bound)
	if _, err := start(); err != nil {
		return err
	}
	seen := map[string]bool{}
	if err := waitUntil(ctx, d, bound, 100*time.Millisecond, "every target's first result", func() bool {
		rs, err := tl.next()
		if err != nil {
			return false
		}
		for _, r := range rs {
			if names[r.Name] {
				seen[r.Name] = true
			}
		}
		return len(seen) == len(names)
	}); err != nil {
		return fmt.Errorf("%w (%d of %d targets had a result)", err, len(seen), len(names))
	}

	var results []restartRun
	for i := 1; i <= *runs; i++ {
		if !sleepCtx(ctx, *settle) {
			return ctx.Err()
		}
		if d.exited() {
			return fmt.Errorf("tocsin exited (%v) before run %d; see %s", d.err, i, errf.Name())
		}
		if _, err := tl.next(); err != nil {
			return err
		}
		var r restartRun
		r.Killed = time.Now()
		if err := d.kill(); err != nil {
			return err
		}
		r.Reaped = time.Now()
		// What the killed process wrote is no part of the new one's start.
		if _, err := tl.next(); err != nil {
			return err
		}
		r.Restarted, err = start()
		if err != nil {
			return err
		}
		if err := measureRestart(ctx, d, lw, tl, names, addr, fixedAddr, fromLog, bound, &r); err != nil {
			return fmt.Errorf("run %d: %w", i, err)
		}
		results = append(results, r)
		fmt.Fprintf(stderr, "latency restart: run %d: first check %s ms, all %d checked %s ms (%d missing), /healthz %s ms\n",
			i, ms(r.firstCheck()), r.Checked, ms(r.allChecked()), r.Missing, ms(r.healthz()))
	}
	stopErr := d.stop(30 * time.Second)
	d = nil

	if err := writeTSV(filepath.Join(dir, "restart.tsv"), restartRows(results)); err != nil {
		return err
	}
	writeRestartReport(stdout, results, len(names), *every, cfg.Listen, fixedAddr)
	if stopErr != nil {
		fmt.Fprintln(stderr, "latency restart:", stopErr)
	}
	return nil
}

// measureRestart follows the process started at r.Restarted until every
// target has a result or bound passes, and polls its /healthz meanwhile.
func measureRestart(ctx context.Context, d *child, lw *logWatch, tl *tail, names map[string]bool,
	addr string, fixedAddr, fromLog bool, bound time.Duration, r *restartRun) error {
	hctx, hcancel := context.WithTimeout(ctx, bound)
	defer hcancel()
	health := make(chan time.Time, 1)
	go func() {
		if !fixedAddr && !fromLog {
			health <- time.Time{}
			return
		}
		for {
			a := addr
			if !fixedAddr {
				_, a = lw.runningAt()
				a, _ = loopbackAddr(a)
			}
			if a != "" && healthy(hctx, a) {
				health <- time.Now()
				return
			}
			if !sleepCtx(hctx, 10*time.Millisecond) {
				health <- time.Time{}
				return
			}
		}
	}()

	first := make(map[string]bool, len(names))
	deadline := r.Restarted.Add(bound)
	for len(first) < len(names) && time.Now().Before(deadline) {
		if d.exited() {
			return fmt.Errorf("tocsin exited (%v) after the restart", d.err)
		}
		rs, err := tl.next()
		if err != nil {
			return err
		}
		now := time.Now()
		for _, x := range rs {
			if !names[x.Name] {
				continue
			}
			if end := x.End(); r.FirstEnd.IsZero() || end.Before(r.FirstEnd) {
				r.FirstEnd = end
				if r.FirstRead.IsZero() {
					r.FirstRead = now
				}
			}
			if first[x.Name] {
				continue
			}
			first[x.Name] = true
			if end := x.End(); end.After(r.LastEnd) {
				r.LastEnd = end
			}
			r.LastRead = now
		}
		if !sleepCtx(ctx, 20*time.Millisecond) {
			return ctx.Err()
		}
	}
	r.Checked, r.Missing = len(first), len(names)-len(first)
	select {
	case r.Healthy = <-health:
	case <-ctx.Done():
		return ctx.Err()
	}
	r.Running, _ = lw.runningAt()
	if r.Missing > 0 {
		// The last target's first check is not known: past the bound.
		r.LastEnd = time.Time{}
	}
	return nil
}

func restartRows(rs []restartRun) [][]string {
	out := [][]string{{"run", "killed", "reaped", "restarted", "running_logged", "healthz_200", "first_check_end",
		"first_read", "last_first_check_end", "last_read", "checked", "missing",
		"kill_to_first_check_ms", "kill_to_all_checked_ms", "restart_to_healthz_ms", "kill_to_running_ms",
		"kill_to_restart_ms", "kill_to_first_read_ms", "kill_to_last_read_ms"}}
	for i, r := range rs {
		out = append(out, []string{
			fmt.Sprint(i + 1), stamp(r.Killed), stamp(r.Reaped), stamp(r.Restarted), stamp(r.Running),
			stamp(r.Healthy), stamp(r.FirstEnd), stamp(r.FirstRead), stamp(r.LastEnd), stamp(r.LastRead),
			fmt.Sprint(r.Checked), fmt.Sprint(r.Missing),
			fmt3(r.firstCheck()), fmt3(r.allChecked()), fmt3(r.healthz()), fmt3(r.running()),
			fmt3(sinceMS(r.Killed, r.Restarted)), fmt3(sinceMS(r.Killed, r.FirstRead)), fmt3(sinceMS(r.Killed, r.LastRead)),
		})
	}
	return out
}

// secs formats ms as seconds with two decimals, "-" for NaN.
func secs(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "-"
	}
	return fmt.Sprintf("%.2f", v/1000)
}

func writeRestartReport(w io.Writer, rs []restartRun, n int, every time.Duration, listen string, fixedAddr bool) {
	fmt.Fprintf(w, "### Restart after kill -9 (%d targets, every %s)\n\n", n, every)
	fmt.Fprintln(w, "| run | kill → first check s | kill → every target checked s | restart → /healthz 200 s | kill → \"tocsin running\" s | targets checked |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|")
	var a, b, c, run []float64
	worstB, missing := 0.0, 0
	for i, r := range rs {
		fmt.Fprintf(w, "| %d | %s | %s | %s | %s | %d of %d |\n", i+1, secs(r.firstCheck()), secs(r.allChecked()),
			secs(r.healthz()), secs(r.running()), r.Checked, n)
		a, b, c, run = append(a, r.firstCheck()), append(b, r.allChecked()), append(c, r.healthz()), append(run, r.running())
		if r.Missing > 0 || math.IsNaN(r.allChecked()) {
			missing += r.Missing
			worstB = math.Inf(1)
		} else {
			worstB = math.Max(worstB, r.allChecked())
		}
	}
	fmt.Fprintf(w, "| median | %s | %s | %s | %s | |\n", secs(nanMedian(a)), secs(nanMedian(b)), secs(nanMedian(c)), secs(nanMedian(run)))

	firstOK := !math.IsNaN(nanMedian(a)) && maxOf(a) <= 2000
	allOK := missing == 0 && worstB <= msOf(every)
	fmt.Fprintf(w, "\nGoals: first check ≤ 2 s after the kill in every run: %s (worst %s s); every target checked within "+
		"one interval (%s) of the kill: %s (worst %s s).", yes(firstOK), secs(maxOf(a)), every, yes(allOK), secs(worstB))
	if missing > 0 {
		fmt.Fprintf(w, " %d target results missing within the bound.", missing)
	}
	fmt.Fprintf(w, " A check's moment is its end as the results log gives it (`time` + `latency_ms`; a failed "+
		"check's is its start). Each run: SIGKILL, reaped, restarted at once on the same state and config.")
	if !fixedAddr {
		fmt.Fprintf(w, " /healthz on the address tocsin logged (listen %q).", listen)
	}
	fmt.Fprintln(w)
}

func yes(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// nanMedian is the median of the values that are not NaN.
func nanMedian(xs []float64) float64 {
	var ok []float64
	for _, x := range xs {
		if !math.IsNaN(x) {
			ok = append(ok, x)
		}
	}
	return median(ok)
}

// maxOf is the largest value, +Inf if any is NaN (not measured), NaN if none.
func maxOf(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	m := math.Inf(-1)
	for _, x := range xs {
		if math.IsNaN(x) {
			return math.Inf(1)
		}
		m = math.Max(m, x)
	}
	return m
}
