package slack

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tocsin/tocsin/state"
)

// TestPacing runs in a synctest bubble, whose clock moves only when every
// goroutine in it is blocked; the fake Slack is an in-process RoundTripper.
func TestPacing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeSlack{}
		n, _ := newTestNotifier(t, f, func(c *Config) { c.MinInterval = 0 }) // the default, 1 s
		ctx := t.Context()
		ev := shopEvent(state.EventDown)
		start := time.Now()
		offsets := func(from int) []time.Duration {
			var d []time.Duration
			for _, r := range f.requests()[from:] {
				d = append(d, r.At.Sub(start))
			}
			return d
		}

		// One after the other: each waits for its slot.
		for range 3 {
			if _, err := n.Post(ctx, ev); err != nil {
				t.Fatal(err)
			}
		}
		if got, want := offsets(0), []time.Duration{0, time.Second, 2 * time.Second}; !slices.Equal(got, want) {
			t.Errorf("sequential calls at %v, want %v", got, want)
		}

		// Another channel does not wait for this one.
		if err := n.Edit(ctx, "C2/1.1", shopEvent(state.EventAck)); err != nil {
			t.Fatal(err)
		}
		if got := offsets(3); !slices.Equal(got, []time.Duration{2 * time.Second}) {
			t.Errorf("call on C2 at %v, want 2s", got)
		}

		// Concurrent callers queue; none is dropped.
		var wg sync.WaitGroup
		for range 3 {
			wg.Go(func() {
				if _, err := n.Post(ctx, ev); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		got := offsets(4)
		slices.Sort(got)
		if want := []time.Duration{3 * time.Second, 4 * time.Second, 5 * time.Second}; !slices.Equal(got, want) {
			t.Errorf("concurrent calls at %v, want %v", got, want)
		}

		// A caller whose context ends while it waits gives up, unsent.
		short, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		defer cancel()
		_, err := n.Post(short, ev)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Post with an expiring context = %v, want DeadlineExceeded", err)
		}
		if len(f.requests()) != 7 {
			t.Errorf("%d requests, want 7", len(f.requests()))
		}

		// After a quiet spell a call goes at once.
		time.Sleep(10 * time.Second)
		now := time.Now()
		if _, err := n.Reply(ctx, "C1/1.1", shopEvent(state.EventUp)); err != nil {
			t.Fatal(err)
		}
		if at := f.requests()[7].At; !at.Equal(now) {
			t.Errorf("call after a quiet spell waited %v", at.Sub(now))
		}
	})
}

// TestPacingFallback: the text-only retry is a call too, and waits its turn.
func TestPacingFallback(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeSlack{answer: func(i int, r fakeReq) fakeAnswer {
			if r.Form.Has("blocks") {
				return slackError("invalid_blocks")
			}
			return fakeAnswer{}
		}}
		n, _ := newTestNotifier(t, f, func(c *Config) { c.MinInterval = 2 * time.Second })
		if _, err := n.Post(t.Context(), shopEvent(state.EventDown)); err != nil {
			t.Fatal(err)
		}
		r := f.requests()
		if len(r) != 2 || r[1].At.Sub(r[0].At) != 2*time.Second {
			t.Errorf("requests %+v, want two 2s apart", r)
		}
	})
}
