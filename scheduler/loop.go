package scheduler

import (
	"container/heap"
	"context"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
)

// loop runs cron jobs at the times their cron.Schedule gives, like
// robfig's cron.Cron, whose schedules, parser and job wrappers tocsin uses.
// robfig re-sorts every entry each time it wakes: with tens of thousands of
// targets waking it thousands of times a second, that sort was most of the
// daemon's CPU. loop keeps its entries in a min-heap by next run instead,
// so a run costs O(log n).
//
// Semantics follow robfig's: an entry's next run is its schedule's Next of
// the moment it is added (or of Start); after it runs, of the moment it ran,
// so a late wake runs a job once, never a burst of catch-ups; a zero next
// run means never. Jobs run on their own goroutines.
type loop struct {
	mu      sync.Mutex
	entries map[int]*loopEntry
	due     entryHeap
	lastID  int
	running bool
	wake    chan struct{} // buffered: the heap's top may have changed
	stop    chan struct{} // closed by Stop
	done    chan struct{} // closed when the goroutine of run ends
	jobs    sync.WaitGroup
}

type loopEntry struct {
	id    int
	sched cron.Schedule
	job   cron.Job
	next  time.Time
	index int // in the heap; -1 when not in it
}

func newLoop() *loop {
	return &loop{entries: make(map[int]*loopEntry), wake: make(chan struct{}, 1)}
}

// Schedule adds a job and returns its id, for Remove.
func (l *loop) Schedule(s cron.Schedule, j cron.Job) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lastID++
	e := &loopEntry{id: l.lastID, sched: s, job: j, index: -1}
	l.entries[e.id] = e
	if l.running {
		l.plan(e, time.Now())
	}
	return e.id
}

// Remove drops an entry; a run of it already started goes on.
func (l *loop) Remove(id int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.entries[id]
	if !ok {
		return
	}
	delete(l.entries, id)
	if e.index >= 0 {
		heap.Remove(&l.due, e.index)
		l.poke()
	}
}

// plan sets e's next run from now and puts it in the heap (not when it
// never runs). Callers hold mu.
func (l *loop) plan(e *loopEntry, now time.Time) {
	e.next = e.sched.Next(now)
	if e.next.IsZero() {
		return
	}
	heap.Push(&l.due, e)
	if e.index == 0 {
		l.poke()
	}
}

func (l *loop) poke() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// Start plans every entry from now and starts running them; starting a
// running loop does nothing.
func (l *loop) Start() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.running {
		return
	}
	l.running = true
	l.due = l.due[:0]
	now := time.Now()
	for _, e := range l.entries {
		e.index = -1
		l.plan(e, now)
	}
	l.stop, l.done = make(chan struct{}), make(chan struct{})
	go l.run(l.stop, l.done)
}

// Stop stops starting jobs; the context it returns is done when the jobs
// already running have returned.
func (l *loop) Stop() context.Context {
	l.mu.Lock()
	if l.running {
		l.running = false
		close(l.stop)
		done := l.done
		l.mu.Unlock()
		<-done
	} else {
		l.mu.Unlock()
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		l.jobs.Wait()
		cancel()
	}()
	return ctx
}

// run sleeps until the first entry is due, starts every entry due, plans
// their next runs, and again, until stop is closed.
func (l *loop) run(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		l.mu.Lock()
		wait := 100000 * time.Hour // robfig's "never"
		if len(l.due) > 0 {
			wait = time.Until(l.due[0].next)
		}
		l.mu.Unlock()
		timer.Reset(max(wait, 0))
		select {
		case <-stop:
			return
		case <-l.wake:
			continue
		case <-timer.C:
		}
		l.mu.Lock()
		now := time.Now()
		for len(l.due) > 0 && !l.due[0].next.After(now) {
			e := l.due[0]
			job := e.job
			l.jobs.Add(1)
			go func() {
				defer l.jobs.Done()
				job.Run()
			}()
			e.next = e.sched.Next(now)
			if e.next.IsZero() {
				heap.Pop(&l.due)
			} else {
				heap.Fix(&l.due, 0)
			}
		}
		l.mu.Unlock()
	}
}

// entryHeap orders entries by next run (container/heap).
type entryHeap []*loopEntry

func (h entryHeap) Len() int           { return len(h) }
func (h entryHeap) Less(i, j int) bool { return h[i].next.Before(h[j].next) }
func (h entryHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}

func (h *entryHeap) Push(x any) {
	e := x.(*loopEntry)
	e.index = len(*h)
	*h = append(*h, e)
}

func (h *entryHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	e.index = -1
	*h = old[:len(old)-1]
	return e
}
