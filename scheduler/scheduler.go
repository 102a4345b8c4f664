// Package scheduler runs each target's check on its cron schedule
// (robfig/cron/v3), under a global concurrency cap, with start times spread
// so thousands of targets do not fire in one burst, and hands every result
// to a sink. It decides nothing about up or down.
package scheduler

import (
	"context"
	"log/slog"

	"github.com/tocsin/tocsin/checks"
)

// Options configures a Scheduler.
type Options struct {
	Checker checks.Checker
	// Sink receives every result, from the goroutine that ran the check.
	Sink func(context.Context, checks.Result)
	// MaxConcurrent caps checks in flight at once (default 512).
	MaxConcurrent int
	Logger        *slog.Logger
}

// Scheduler is the cron of checks.
type Scheduler struct {
	opts Options
}

// New returns a stopped Scheduler.
func New(opts Options) *Scheduler {
	panic("unimplemented")
}

// SetTargets replaces the set of scheduled targets: new ones are added
// (first checked within one interval), removed ones stop, changed ones
// take their new settings. Safe to call while running (reload).
func (s *Scheduler) SetTargets(targets []checks.Target) error {
	panic("unimplemented")
}

// Start begins running checks; it returns at once.
func (s *Scheduler) Start() {
	panic("unimplemented")
}

// Stop stops scheduling and waits, until ctx ends, for running checks.
func (s *Scheduler) Stop(ctx context.Context) error {
	panic("unimplemented")
}

// Alive reports whether the scheduler is running (for /healthz).
func (s *Scheduler) Alive() bool {
	panic("unimplemented")
}
