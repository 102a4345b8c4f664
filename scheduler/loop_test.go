package scheduler

import (
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/robfig/cron/v3"
)

// recorder is a cron.Job that records when it ran.
type recorder struct {
	mu   sync.Mutex
	runs []time.Time
}

func (r *recorder) Run() {
	r.mu.Lock()
	r.runs = append(r.runs, time.Now())
	r.mu.Unlock()
}

func (r *recorder) times() []time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Time(nil), r.runs...)
}

// never is a schedule that never fires.
type never struct{}

func (never) Next(time.Time) time.Time { return time.Time{} }

// TestLoopRunsOnSchedule: thousands of entries with their own phases each
// run exactly when their schedule says, in fake time.
func TestLoopRunsOnSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLoop()
		const n = 2000
		every := 10 * time.Second
		recs := make([]*recorder, n)
		for i := range recs {
			recs[i] = &recorder{}
			l.Schedule(newPhaseSchedule(every, uint64(i)*7919), recs[i])
		}
		idle := &recorder{}
		l.Schedule(never{}, idle)
		start := time.Now()
		l.Start()
		time.Sleep(35 * time.Second)
		synctest.Wait()
		<-l.Stop().Done()
		for i, r := range recs {
			runs := r.times()
			if len(runs) < 3 || len(runs) > 4 {
				t.Fatalf("entry %d ran %d times in 35s at every 10s", i, len(runs))
			}
			phase := newPhaseSchedule(every, uint64(i)*7919).phase
			for k, at := range runs {
				if off := at.UnixNano() % int64(every); time.Duration(off) != phase {
					t.Fatalf("entry %d run %d at offset %v, want its phase %v", i, k, time.Duration(off), phase)
				}
				if at.Before(start) {
					t.Fatalf("entry %d ran before Start", i)
				}
			}
		}
		if len(idle.times()) != 0 {
			t.Error("an entry whose schedule never fires ran")
		}
	})
}

func TestLoopAddRemoveRestart(t *testing.T) {
	tests := []struct {
		name string
		// act runs with the loop started, 10 s into fake time; want is the
		// runs of the entry (every 1s, phase 0) over the 20 s.
		act  func(l *loop, id int)
		want int
	}{
		{"kept", func(*loop, int) {}, 20},
		{"removed", func(l *loop, id int) { l.Remove(id) }, 10},
		{"removed twice", func(l *loop, id int) { l.Remove(id); l.Remove(id) }, 10},
		{"stopped", func(l *loop, _ int) { <-l.Stop().Done() }, 10},
		{"stopped and started", func(l *loop, _ int) { <-l.Stop().Done(); l.Start() }, 20},
		{"started twice", func(l *loop, _ int) { l.Start() }, 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				// Begin just after a whole second, so the runs fall at 1s…
				time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second + time.Millisecond)))
				l := newLoop()
				r := &recorder{}
				id := l.Schedule(newPhaseSchedule(time.Second, 0), r)
				l.Start()
				time.Sleep(10 * time.Second)
				synctest.Wait()
				tt.act(l, id)
				time.Sleep(10 * time.Second)
				synctest.Wait()
				<-l.Stop().Done()
				if got := len(r.times()); got != tt.want {
					t.Errorf("%d runs, want %d", got, tt.want)
				}
			})
		})
	}
}

// TestLoopAddWhileRunning: an entry added to a running loop runs at its
// schedule's first time after it was added, and an earlier one than the
// loop was waiting for is not delayed by that wait.
func TestLoopAddWhileRunning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLoop()
		slow := &recorder{}
		l.Schedule(cron.Every(time.Hour), slow)
		l.Start()
		time.Sleep(time.Minute)
		fast := &recorder{}
		added := time.Now()
		l.Schedule(cron.Every(5*time.Second), fast)
		time.Sleep(6 * time.Second)
		synctest.Wait()
		runs := fast.times()
		if len(runs) != 1 || runs[0].Sub(added) != 5*time.Second {
			t.Errorf("added entry ran at %v after it was added, want once at 5s", runs)
		}
		<-l.Stop().Done()
	})
}

// TestLoopStopWaitsForJobs: Stop's context ends only when running jobs
// returned.
func TestLoopStopWaitsForJobs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLoop()
		release := make(chan struct{})
		l.Schedule(cron.Every(time.Second), cron.FuncJob(func() { <-release }))
		l.Start()
		time.Sleep(1500 * time.Millisecond)
		ctx := l.Stop()
		synctest.Wait()
		if ctx.Err() != nil {
			t.Fatal("Stop's context ended while a job was running")
		}
		close(release)
		<-ctx.Done()
	})
}
