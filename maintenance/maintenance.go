// Package maintenance answers whether a target is inside one of the
// `maintenance:` windows of config.yaml at a given time: alerts are held
// while it is, checks go on. It is pure: no clock, no goroutines, no I/O.
//
// A window starts at every activation s of its cron schedule and is active
// on [s, s+Duration); Duration is elapsed time, so a window that starts
// before a daylight-saving change lasts its full duration across it.
package maintenance

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/tocsin/tocsin/checks"
	"github.com/tocsin/tocsin/config"
)

// Windows is a parsed set of maintenance windows. A nil *Windows, like one
// made from no windows, is never active. It is immutable once made, so it
// is safe for concurrent use.
type Windows struct {
	ws []window
}

// window is one parsed maintenance window.
type window struct {
	name     string
	sched    cron.Schedule
	every    time.Duration // > 0 for an @every schedule (see latestStart)
	duration time.Duration
	targets  []string // empty with tags empty: every target
	tags     []string
}

// parser reads specs with the options config and the scheduler use: 5 or 6
// fields (seconds optional), descriptors (@hourly, @every 1h) and a
// CRON_TZ= or TZ= prefix.
var parser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour |
	cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// New parses the schedules of ws. It fails, naming the window, on a spec
// that does not parse or a duration that is not positive (config.Load
// rejects both already). No windows give a Windows that is never active.
//
// A spec without CRON_TZ= or TZ= is read in time.Local, as the scheduler
// reads target schedules; "@every D" starts at every multiple of D since
// the Unix epoch (1970-01-01 00:00 UTC), so "@every 6h" windows start at
// 00:00, 06:00, 12:00 and 18:00 UTC whenever the daemon was started.
func New(ws []config.Maintenance) (*Windows, error) {
	w := &Windows{ws: make([]window, 0, len(ws))}
	for _, m := range ws {
		if m.Duration <= 0 {
			return nil, fmt.Errorf("maintenance %q: duration %v is not positive", m.Name, m.Duration)
		}
		sched, err := parse(m.Schedule)
		if err != nil {
			return nil, fmt.Errorf("maintenance %q: schedule %q: %w", m.Name, m.Schedule, err)
		}
		win := window{
			name:     m.Name,
			sched:    sched,
			duration: m.Duration,
			targets:  slices.Clone(m.Targets),
			tags:     slices.Clone(m.Tags),
		}
		if c, ok := sched.(cron.ConstantDelaySchedule); ok {
			win.every = c.Delay // robfig makes it whole seconds, ≥ 1s
		}
		w.ws = append(w.ws, win)
	}
	return w, nil
}

// parse parses spec, turning robfig's panic on a bare "CRON_TZ=UTC" into an
// error.
func parse(spec string) (sched cron.Schedule, err error) {
	defer func() {
		if r := recover(); r != nil {
			sched, err = nil, errors.New("no schedule after the time zone")
		}
	}()
	return parser.Parse(spec)
}

// Active reports whether target t is in a maintenance window at at: the
// window's name and when it ends. When several windows hold t at once it
// names the one that ends last (the first in config order on a tie).
//
// until is the end of the most recent start of that window: a window whose
// next start comes before that end (one longer than its period) goes on
// longer, so callers ask again rather than trust until as the end of
// maintenance.
func (w *Windows) Active(t checks.Target, at time.Time) (name string, until time.Time, ok bool) {
	if w == nil {
		return "", time.Time{}, false
	}
	at = at.Round(0) // drop the monotonic reading: compare wall clocks only
	for i := range w.ws {
		win := &w.ws[i]
		if !win.applies(t) {
			continue
		}
		start, in := win.latestStart(at)
		if !in {
			continue
		}
		if end := start.Add(win.duration); !ok || end.After(until) {
			name, until, ok = win.name, end, true
		}
	}
	if ok {
		until = until.In(at.Location())
	}
	return name, until, ok
}

// applies reports whether the window covers t: t is one of its targets or
// has one of its tags (either suffices), or the window names neither and
// covers every target.
func (win *window) applies(t checks.Target) bool {
	if len(win.targets) == 0 && len(win.tags) == 0 {
		return true
	}
	if slices.Contains(win.targets, t.Name) {
		return true
	}
	for _, tag := range t.Tags {
		if slices.Contains(win.tags, tag) {
			return true
		}
	}
	return false
}

// latestStart returns the latest start s of the window with
// at−duration < s ≤ at, and whether there is one: then at is inside
// [s, s+duration).
//
// robfig/cron only computes Next (the first activation strictly after a
// time), so the latest start is searched for, not walked to: walking Next
// from at−duration would take 86,400 steps for an every-second spec with a
// one-day duration. Activations fall on whole seconds and Next is
// monotonic, so a binary search over the seconds of (at−duration, at] finds
// the latest in about log2(duration/1s) calls of Next (17 for a day, 25
// for a year) with no cap and no approximation: an every-second spec is
// as exact as a yearly one.
func (win *window) latestStart(at time.Time) (time.Time, bool) {
	if win.every > 0 {
		return win.latestEvery(at)
	}
	local := at.In(time.Local) // a spec without CRON_TZ is read in time.Local
	lo := win.sched.Next(local.Add(-win.duration))
	if lo.IsZero() || lo.After(local) {
		return time.Time{}, false // no start in (at−duration, at]
	}
	// Invariant: lo is a start ≤ at; no start lies in [hi, at].
	hi := local.Truncate(time.Second).Add(time.Second)
	for hi.Sub(lo) > time.Second {
		mid := lo.Add(hi.Sub(lo) / 2).Truncate(time.Second) // lo < mid < hi
		// The first start ≥ mid (mid is a whole second).
		if n := win.sched.Next(mid.Add(-time.Second)); !n.IsZero() && !n.After(local) {
			lo = n
		} else {
			hi = mid
		}
	}
	// lo is now the latest start. A few steps of Next confirm it, in case
	// robfig's wall-clock arithmetic is not monotonic around a DST change.
	for range 4 {
		n := win.sched.Next(lo)
		if n.IsZero() || n.After(local) {
			break
		}
		lo = n
	}
	return lo, true
}

// latestEvery is latestStart for "@every D": starts at every multiple of D
// since the Unix epoch.
func (win *window) latestEvery(at time.Time) (time.Time, bool) {
	period := int64(win.every / time.Second)
	sec := at.Unix()
	k := sec / period
	if sec%period < 0 { // before 1970: Go's / truncates toward zero
		k--
	}
	s := time.Unix(k*period, 0)
	return s, at.Sub(s) < win.duration
}
