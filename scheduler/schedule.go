package scheduler

import (
	"errors"
	"fmt"
	"hash/fnv"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/tocsin/tocsin/checks"
)

// firstCheckWindow bounds how long after it is scheduled a target on a
// cron spec gets its first check (the spec's own next run, if sooner,
// bounds it further).
const firstCheckWindow = 10 * time.Second

// ParseSpec parses a robfig/cron/v3 spec the way the scheduler does: 5 or 6
// fields (seconds optional), descriptors (@daily, @every 1m) and a
// CRON_TZ= or TZ= prefix. It returns an error, never panics, on a bad spec.
func ParseSpec(spec string) (sched cron.Schedule, err error) {
	// robfig v3.0.1 slices out of range on "CRON_TZ=UTC" with nothing after
	// it; the config validates specs too, but a panic must never escape.
	defer func() {
		if r := recover(); r != nil {
			sched, err = nil, fmt.Errorf("bad schedule %q: %v", spec, r)
		}
	}()
	p := cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour |
		cron.Dom | cron.Month | cron.Dow | cron.Descriptor)
	sched, err = p.Parse(spec)
	if err != nil {
		return nil, fmt.Errorf("bad schedule %q: %w", spec, err)
	}
	return sched, nil
}

// scheduleFor returns the cron.Schedule of t as of now: a phased interval
// for an every (Every > 0, or a spec that is an @every), else the parsed
// spec with one early first check. It fails on a spec that does not parse
// or never fires.
func scheduleFor(t *checks.Target, now, epoch time.Time) (cron.Schedule, error) {
	h := nameHash(t.Name)
	if t.Every > 0 {
		return &earlyPhase{phaseSchedule: newPhaseSchedule(t.Every, h), epoch: epoch}, nil
	}
	if t.Schedule == "" {
		return nil, errors.New("no schedule")
	}
	sched, err := ParseSpec(t.Schedule)
	if err != nil {
		return nil, err
	}
	if cd, ok := sched.(cron.ConstantDelaySchedule); ok {
		return &earlyPhase{phaseSchedule: newPhaseSchedule(cd.Delay, h), epoch: epoch}, nil
	}
	if sched.Next(now).IsZero() {
		return nil, fmt.Errorf("schedule %q never fires", t.Schedule)
	}
	return &firstSchedule{inner: sched, hash: h}, nil
}

// nameHash is the FNV-1a hash of a target's name: the seed of its phase.
func nameHash(name string) uint64 {
	f := fnv.New64a()
	f.Write([]byte(name)) // never fails
	return f.Sum64()
}

// phaseSchedule fires every `every` at a fixed phase on the wall clock
// (Unix time), the phase being hash mod every. Unlike robfig's @every it
// does not wait a whole interval before the first run, and targets added
// together are spread over the interval instead of firing in one burst.
// The phase is the same across restarts, so a target keeps its rhythm.
type phaseSchedule struct {
	every time.Duration
	phase time.Duration // in [0, every)
}

// maxPhaseQuantum is the coarsest grain of a phase. Phases are rounded to
// a grain so that targets share instants: robfig re-sorts every entry on
// each wake, so thousands of distinct instants per interval would cost
// O(targets) per target run. 100 ms still spreads each second ten ways.
const maxPhaseQuantum = 100 * time.Millisecond

func newPhaseSchedule(every time.Duration, hash uint64) phaseSchedule {
	q := max(min(maxPhaseQuantum, every/100), 1)
	slots := uint64(every / q) // ≥ 1
	return phaseSchedule{every: every, phase: time.Duration(hash%slots) * q}
}

// Next returns the first instant strictly after t that is ≡ phase
// (mod every) in Unix nanoseconds: within (t, t+every].
func (p phaseSchedule) Next(t time.Time) time.Time {
	d := int64(p.every)
	off := (t.UnixNano() - int64(p.phase)) % d
	if off < 0 { // before 1970: Go's % keeps the dividend's sign
		off += d
	}
	return t.Add(time.Duration(d - off))
}

// earlyPhase is a phaseSchedule whose first run comes within one interval
// of epoch (the process start), less a 2% margin: a target whose phase
// slot in the first interval passed while startup ran (or falls in the
// margin) is checked at once when the scheduler starts, then on its phase,
// less than one interval later. Being checked at once rather than just
// before the interval's end means no gap between its first two checks is
// longer than the interval, and a check that hangs to its timeout does not
// run into the phase's own run. A zero epoch, or one more than an interval
// ago (a target added by a reload), changes nothing.
type earlyPhase struct {
	phaseSchedule
	epoch time.Time

	mu      sync.Mutex
	started bool
}

func (e *earlyPhase) Next(t time.Time) time.Time {
	next := e.phaseSchedule.Next(t)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.started || e.epoch.IsZero() {
		return next
	}
	e.started = true
	// A margin of 2% of the interval: "within" must hold against the
	// timer's own lateness and the moments before run began.
	if limit := e.epoch.Add(e.every - e.every/50); next.After(limit) && limit.After(t) {
		return t
	}
	return next
}

// firstSchedule is a cron spec plus one early first check, so a daily spec
// does not leave its target unknown for a day. The first check comes
// hash mod min(10s, time to the spec's next run) after the first call to
// Next, which cron makes when it starts or when the entry is added.
type firstSchedule struct {
	inner cron.Schedule
	hash  uint64

	mu    sync.Mutex
	first time.Time // zero until Next is first called
}

// Next returns the early first check until that has passed, then the
// spec's own next run.
func (f *firstSchedule) Next(t time.Time) time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.first.IsZero() {
		next := f.inner.Next(t)
		window := min(firstCheckWindow, next.Sub(t))
		if next.IsZero() || window <= 0 {
			f.first = t // never before the zero time: stop trying
			return next
		}
		f.first = t.Add(time.Duration(f.hash % uint64(window)))
		return f.first
	}
	if t.Before(f.first) {
		return f.first
	}
	return f.inner.Next(t)
}
