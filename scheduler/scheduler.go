// Package scheduler runs each target's check on its cron schedule
// (robfig/cron/v3's parser, schedules and job wrappers, run by a heap of
// its own: loop.go), under a global concurrency cap, with start times spread
// so thousands of targets do not fire in one burst, and hands every result
// to a sink. It decides nothing about up or down.
package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/tocsin/tocsin/checks"
)

// DefaultMaxConcurrent is the cap on checks in flight when
// Options.MaxConcurrent is not set.
const DefaultMaxConcurrent = 512

// Options configures a Scheduler.
type Options struct {
	Checker checks.Checker
	// Sink receives every result, from the goroutine that ran the check.
	Sink func(context.Context, checks.Result)
	// MaxConcurrent caps checks in flight at once (default 512).
	MaxConcurrent int
	Logger        *slog.Logger
	// Epoch, when set, is when the process started: an every target's
	// first check then comes within one interval of it, not of Start, so
	// the time spent loading thousands of targets does not push the last
	// phases past their first interval.
	Epoch time.Time
}

// Stats counts what the scheduler has done since New, for metrics and
// benchmarks. Counters only grow; InFlight and Waiting are gauges.
type Stats struct {
	// Targets is the number of targets scheduled now.
	Targets int
	// Runs counts checks started (after a concurrency slot was acquired).
	Runs uint64
	// Skipped counts runs skipped because the previous check of the same
	// target was still running or waiting for a slot: a missed interval.
	Skipped uint64
	// InFlight is the number of checks running now; MaxInFlight the most
	// ever running at once (never above MaxConcurrent).
	InFlight, MaxInFlight uint64
	// Waiting is the number of checks due but waiting for a free slot.
	Waiting uint64
}

// Scheduler is the cron of checks. Its methods are safe for concurrent use.
type Scheduler struct {
	opts Options
	log  *slog.Logger
	cron *loop
	sem  chan struct{}

	// run is the context of the current Start..Stop period; checks derive
	// theirs from it and Stop cancels it once its own ctx ends.
	run   atomic.Pointer[runContext]
	alive atomic.Bool

	mu      sync.Mutex // guards entries and serialises SetTargets/Start/Stop
	entries map[string]*entry

	runs, skipped        atomic.Uint64
	inFlight, maxIn      atomic.Int64
	waiting, targetCount atomic.Int64
}

type runContext struct {
	ctx    context.Context
	cancel context.CancelFunc
}

// entry is one scheduled target. Its job is wrapped once and kept across
// changes of the target, so SkipIfStillRunning's guard survives a reload:
// a changed target never has two checks running at once.
type entry struct {
	target atomic.Pointer[checks.Target]
	job    cron.Job
	id     int
}

// New returns a stopped Scheduler. A nil Logger discards logs; a
// MaxConcurrent of 0 or less means DefaultMaxConcurrent. Checker must not be
// nil; Sink may be (results are then dropped).
func New(opts Options) *Scheduler {
	if opts.MaxConcurrent <= 0 {
		opts.MaxConcurrent = DefaultMaxConcurrent
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Scheduler{
		opts:    opts,
		log:     log,
		sem:     make(chan struct{}, opts.MaxConcurrent),
		entries: make(map[string]*entry),
		// Each job is wrapped once in SetTargets (see entry), with robfig's
		// wrappers; loop runs it at its schedule's times.
		cron: newLoop(),
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.run.Store(&runContext{ctx: ctx, cancel: cancel})
	return s
}

// SetTargets replaces the set of scheduled targets: new ones are added
// (first checked within one interval), removed ones stop, changed ones
// take their new settings. Safe to call while running (reload).
//
// Targets are matched by Name; a target whose fields differ in any way is
// replaced. A check of a removed or changed target that is running finishes
// and its result is still delivered. A target with an unparsable or
// never-firing schedule, or a duplicate name, is not scheduled (a previous
// version of it is removed); the others still are, and the returned error
// joins one error per rejected target.
func (s *Scheduler) SetTargets(targets []checks.Target) error {
	s.mu.Lock()
	defer s.mu.Unlock()

	var errs []error
	seen := make(map[string]bool, len(targets))
	for i := range targets {
		t := targets[i] // a copy: the caller may reuse its slice
		if seen[t.Name] {
			errs = append(errs, fmt.Errorf("target %q: duplicate name", t.Name))
			continue
		}
		seen[t.Name] = true

		old := s.entries[t.Name]
		if old != nil && reflect.DeepEqual(*old.target.Load(), t) {
			continue
		}
		sched, err := scheduleFor(&t, time.Now(), s.opts.Epoch)
		if err != nil {
			errs = append(errs, fmt.Errorf("target %q: %w", t.Name, err))
			seen[t.Name] = false // so the old version is removed below
			continue
		}
		if old != nil {
			// Keep the wrapped job (and its skip guard); swap the target
			// and the cron entry.
			s.cron.Remove(old.id)
			old.target.Store(&t)
			old.id = s.cron.Schedule(sched, old.job)
			continue
		}
		e := &entry{}
		e.target.Store(&t)
		// Recover sits inside SkipIfStillRunning on purpose: robfig's skip
		// guard (v3.0.1) hands its token back only when the job returns,
		// so a panic escaping it would leave the target skipped forever.
		e.job = cron.NewChain(
			cron.SkipIfStillRunning(skipLogger{s: s, name: t.Name}),
			cron.Recover(cronLogger{s.log}),
		).Then(cron.FuncJob(func() { s.runCheck(e) }))
		e.id = s.cron.Schedule(sched, e.job)
		s.entries[t.Name] = e
	}
	for name, e := range s.entries {
		if !seen[name] {
			s.cron.Remove(e.id)
			delete(s.entries, name)
		}
	}
	s.targetCount.Store(int64(len(s.entries)))
	return errors.Join(errs...)
}

// Start begins running checks; it returns at once. Starting a running
// Scheduler does nothing; a stopped one may be started again.
func (s *Scheduler) Start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.alive.Load() {
		return
	}
	if s.run.Load().ctx.Err() != nil {
		ctx, cancel := context.WithCancel(context.Background())
		s.run.Store(&runContext{ctx: ctx, cancel: cancel})
	}
	s.cron.Start()
	s.alive.Store(true)
}

// Stop stops scheduling and waits, until ctx ends, for running checks.
// It returns nil when every check finished in time. Otherwise it cancels
// the checks still running or waiting for a slot and returns ctx's error
// without waiting for them further; their results are dropped, so a
// shutdown never reports a target as failing.
func (s *Scheduler) Stop(ctx context.Context) error {
	s.mu.Lock()
	s.alive.Store(false)
	done := s.cron.Stop()
	rc := s.run.Load()
	s.mu.Unlock()

	select {
	case <-done.Done():
		rc.cancel()
		return nil
	case <-ctx.Done():
		rc.cancel()
		return ctx.Err()
	}
}

// Alive reports whether the scheduler is running (for /healthz).
func (s *Scheduler) Alive() bool {
	return s.alive.Load()
}

// Stats returns a snapshot of the scheduler's counters.
func (s *Scheduler) Stats() Stats {
	return Stats{
		Targets:     int(s.targetCount.Load()),
		Runs:        s.runs.Load(),
		Skipped:     s.skipped.Load(),
		InFlight:    uint64(s.inFlight.Load()),
		MaxInFlight: uint64(s.maxIn.Load()),
		Waiting:     uint64(s.waiting.Load()),
	}
}

// runCheck is one scheduled run of e's target: wait for a slot, check,
// hand the result to the sink.
func (s *Scheduler) runCheck(e *entry) {
	t := e.target.Load()
	ctx := s.run.Load().ctx
	res, ok := s.check(ctx, t)
	// A check cut short by Stop says nothing about the target.
	if !ok || ctx.Err() != nil || s.opts.Sink == nil {
		return
	}
	s.opts.Sink(ctx, res)
}

// check runs the check of t under the concurrency cap; ok is false when ctx
// ended before a slot came free. The slot is released before the sink runs,
// so a slow sink does not hold checks back.
func (s *Scheduler) check(ctx context.Context, t *checks.Target) (res checks.Result, ok bool) {
	s.waiting.Add(1)
	select {
	case s.sem <- struct{}{}:
		s.waiting.Add(-1)
	case <-ctx.Done():
		s.waiting.Add(-1)
		return checks.Result{}, false
	}
	defer func() { <-s.sem }()

	n := s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	for m := s.maxIn.Load(); n > m && !s.maxIn.CompareAndSwap(m, n); m = s.maxIn.Load() {
	}
	s.runs.Add(1)

	// The Checker enforces Timeout itself and names the failure ("100%
	// packet loss", "timeout after 5s"); this later deadline is belt and
	// braces against a check that overruns.
	if t.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t.Timeout+timeoutGrace)
		defer cancel()
	}
	return s.opts.Checker.Check(ctx, t), true
}

// timeoutGrace is how long after a target's Timeout the scheduler cuts a
// check off.
const timeoutGrace = time.Second

// cronLogger adapts an *slog.Logger to cron.Logger. robfig's Info is chatty
// (a line per wake and per run), so it goes to Debug.
type cronLogger struct{ l *slog.Logger }

func (c cronLogger) Info(msg string, keysAndValues ...any) {
	if !c.l.Enabled(context.Background(), slog.LevelDebug) {
		return
	}
	c.l.Debug("cron: "+msg, keysAndValues...)
}

func (c cronLogger) Error(err error, msg string, keysAndValues ...any) {
	c.l.Error("cron: "+msg, append([]any{"err", err}, keysAndValues...)...)
}

// skipLogger is the cron.Logger of one target's SkipIfStillRunning: its
// only Info is "skip", which it counts.
type skipLogger struct {
	s    *Scheduler
	name string
}

func (k skipLogger) Info(msg string, keysAndValues ...any) {
	if msg == "skip" {
		k.s.skipped.Add(1)
		k.s.log.Debug("check skipped: the previous one is still running", "target", k.name)
		return
	}
	cronLogger{k.s.log}.Info(msg, keysAndValues...)
}

func (k skipLogger) Error(err error, msg string, keysAndValues ...any) {
	cronLogger{k.s.log}.Error(err, msg, append([]any{"target", k.name}, keysAndValues...)...)
}
