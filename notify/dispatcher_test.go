package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tocsin/tocsin/state"
)

// fakeOutbox is an in-memory Outbox. fail, when set, is asked before every
// operation and fails it with the error it returns.
type fakeOutbox struct {
	mu     sync.Mutex
	queue  []*fakeDelivery
	refs   map[string]string
	ops    []string
	fail   func(op string) error
	nextID int64
}

type fakeDelivery struct {
	state.Delivery
	held, done bool
}

var _ Outbox = (*fakeOutbox)(nil)

func newFakeOutbox() *fakeOutbox { return &fakeOutbox{refs: map[string]string{}} }

// add enqueues ev for notifier and returns the delivery id.
func (o *fakeOutbox) add(notifier string, ev state.Event) int64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.nextID++
	o.queue = append(o.queue, &fakeDelivery{Delivery: state.Delivery{ID: o.nextID, Notifier: notifier, Event: ev}})
	return o.nextID
}

func (o *fakeOutbox) op(name string) error {
	o.ops = append(o.ops, name)
	if o.fail != nil {
		return o.fail(name)
	}
	return nil
}

func (o *fakeOutbox) find(id int64) *fakeDelivery {
	for _, d := range o.queue {
		if d.ID == id {
			return d
		}
	}
	panic(fmt.Sprintf("no delivery %d", id))
}

// get returns a copy of delivery id and whether it is held and done.
func (o *fakeOutbox) get(id int64) (d state.Delivery, held, done bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	f := o.find(id)
	return f.Delivery, f.held, f.done
}

func (o *fakeOutbox) count(op string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for _, x := range o.ops {
		if x == op {
			n++
		}
	}
	return n
}

func (o *fakeOutbox) setFail(f func(op string) error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.fail = f
}

func (o *fakeOutbox) Pending(_ context.Context, notifier string, limit int) ([]state.Delivery, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if err := o.op("pending"); err != nil {
		return nil, err
	}
	var out []state.Delivery
	for _, d := range o.queue {
		if d.Notifier == notifier && !d.held && !d.done && len(out) < limit {
			out = append(out, d.Delivery)
		}
	}
	return out, nil
}

func (o *fakeOutbox) StepDone(ctx context.Context, id int64, step int) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return err // as a real store does
	}
	if err := o.op("stepdone"); err != nil {
		return err
	}
	o.find(id).Step = step
	return nil
}

func (o *fakeOutbox) Delivered(ctx context.Context, id int64) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return err // as a real store does
	}
	if err := o.op("delivered"); err != nil {
		return err
	}
	o.find(id).done = true
	return nil
}

func (o *fakeOutbox) Retry(_ context.Context, id int64, next time.Time, lastErr string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if err := o.op("retry"); err != nil {
		return err
	}
	d := o.find(id)
	d.NextAt, d.LastError = next, lastErr
	d.Attempts++
	return nil
}

func (o *fakeOutbox) Hold(_ context.Context, id int64, lastErr string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if err := o.op("hold"); err != nil {
		return err
	}
	d := o.find(id)
	d.held, d.LastError = true, lastErr
	return nil
}

func (o *fakeOutbox) Unhold(_ context.Context, notifier string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if err := o.op("unhold"); err != nil {
		return err
	}
	for _, d := range o.queue {
		if d.Notifier == notifier {
			d.held = false
		}
	}
	return nil
}

func refKey(incidentID int64, notifier string) string {
	return fmt.Sprintf("%d/%s", incidentID, notifier)
}

func (o *fakeOutbox) Ref(_ context.Context, incidentID int64, notifier string) (string, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if err := o.op("ref"); err != nil {
		return "", err
	}
	return o.refs[refKey(incidentID, notifier)], nil
}

func (o *fakeOutbox) SetRef(ctx context.Context, incidentID int64, notifier, ref string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return err // as a real store does
	}
	if err := o.op("setref"); err != nil {
		return err
	}
	o.refs[refKey(incidentID, notifier)] = ref
	return nil
}

func (o *fakeOutbox) Depth(context.Context) (map[string]int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if err := o.op("depth"); err != nil {
		return nil, err
	}
	m := map[string]int{}
	for _, d := range o.queue {
		if !d.done {
			m[d.Notifier]++
		}
	}
	return m, nil
}

// fakeNotifier records every call as "post DOWN", "reply UP ref", "edit UP
// ref"; the func fields, when set, decide the result.
type fakeNotifier struct {
	name  string
	post  func(ev state.Event) (Ref, error)
	edit  func(ref Ref, ev state.Event) error
	reply func(ref Ref, ev state.Event) (Ref, error)

	mu    sync.Mutex
	calls []string
	times []time.Time
}

var _ Notifier = (*fakeNotifier)(nil)

func (n *fakeNotifier) record(s string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.calls = append(n.calls, s)
	n.times = append(n.times, time.Now())
}

func (n *fakeNotifier) Calls() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.calls)
}

func (n *fakeNotifier) Times() []time.Time {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.times)
}

func (n *fakeNotifier) Name() string { return n.name }

func (n *fakeNotifier) Post(_ context.Context, ev state.Event) (Ref, error) {
	n.record("post " + string(ev.Kind))
	if n.post != nil {
		return n.post(ev)
	}
	return Ref(fmt.Sprintf("%s-msg-%d", n.name, ev.ID)), nil
}

func (n *fakeNotifier) Edit(_ context.Context, ref Ref, ev state.Event) error {
	n.record("edit " + string(ev.Kind) + " " + string(ref))
	if n.edit != nil {
		return n.edit(ref, ev)
	}
	return nil
}

func (n *fakeNotifier) Reply(_ context.Context, ref Ref, ev state.Event) (Ref, error) {
	n.record("reply " + string(ev.Kind) + " " + string(ref))
	if n.reply != nil {
		return n.reply(ref, ev)
	}
	return Ref(fmt.Sprintf("%s-reply-%d", n.name, ev.ID)), nil
}

// failN returns an error for the first n calls, then nil.
func failN(n int, err error) func() error {
	var mu sync.Mutex
	calls := 0
	return func() error {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if calls <= n {
			return err
		}
		return nil
	}
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// hookLog records Hooks calls as "sent n", "failed n true", "healthy n false".
type hookLog struct {
	mu  sync.Mutex
	log []string
}

func (h *hookLog) hooks() Hooks {
	add := func(s string) {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.log = append(h.log, s)
	}
	return Hooks{
		Sent:    func(n string) { add("sent " + n) },
		Failed:  func(n string, p bool) { add(fmt.Sprintf("failed %s %t", n, p)) },
		Healthy: func(n string, ok bool) { add(fmt.Sprintf("healthy %s %t", n, ok)) },
	}
}

func (h *hookLog) all() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.log)
}

func (h *hookLog) count(s string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, x := range h.log {
		if x == s {
			n++
		}
	}
	return n
}

// running starts d.Run and returns a stop func that cancels it and
// checks it returned nil.
func running(t *testing.T, d *Dispatcher) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	synctest.Wait()
	return func() {
		t.Helper()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v, want nil", err)
		}
	}
}

func down(id, incident int64, target string) state.Event {
	return state.Event{ID: id, Kind: state.EventDown, Target: target, IncidentID: incident, Reason: "HTTP 503"}
}

func ev(id, incident int64, kind state.EventKind) state.Event {
	return state.Event{ID: id, Kind: kind, Target: "shop", IncidentID: incident}
}

func TestDispatcherDownThenUpInOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ob := newFakeOutbox()
		d1 := ob.add("n", down(1, 7, "shop"))
		d2 := ob.add("n", ev(2, 7, state.EventUp))
		n := &fakeNotifier{name: "n"}
		hl := &hookLog{}
		stop := running(t, NewDispatcher(Options{Outbox: ob, Notifiers: []Notifier{n}, Hooks: hl.hooks()}))
		defer stop()

		want := []string{"post DOWN", "reply UP n-msg-1", "edit UP n-msg-1"}
		if got := n.Calls(); !slices.Equal(got, want) {
			t.Errorf("calls = %q, want %q", got, want)
		}
		for _, id := range []int64{d1, d2} {
			if _, _, done := ob.get(id); !done {
				t.Errorf("delivery %d not delivered", id)
			}
		}
		if got := ob.refs[refKey(7, "n")]; got != "n-msg-1" {
			t.Errorf("ref = %q, want n-msg-1", got)
		}
		if got := hl.count("sent n"); got != 2 {
			t.Errorf("Sent hook called %d times, want 2", got)
		}
	})
}

func TestDispatcherSteps(t *testing.T) {
	tests := []struct {
		kind  state.EventKind
		ref   string // the incident's stored ref
		step  int    // steps already done
		want  []string
		steps int // StepDone calls expected
	}{
		{kind: state.EventDown, want: []string{"post DOWN"}},
		{kind: state.EventFlapping, want: []string{"post FLAPPING"}},
		{kind: state.EventUp, ref: "r", want: []string{"reply UP r", "edit UP r"}, steps: 1},
		{kind: state.EventUp, want: []string{"reply UP "}, steps: 1},
		{kind: state.EventUp, ref: "r", step: 1, want: []string{"edit UP r"}},
		{kind: state.EventRemoved, ref: "r", want: []string{"reply REMOVED r", "edit REMOVED r"}, steps: 1},
		{kind: state.EventAck, ref: "r", want: []string{"edit ACK r", "reply ACK r"}, steps: 1},
		{kind: state.EventAck, want: []string{"reply ACK "}},
		{kind: state.EventAck, ref: "r", step: 1, want: []string{"reply ACK r"}},
		{kind: state.EventUnack, ref: "r", want: []string{"edit UNACK r", "reply UNACK r"}, steps: 1},
		{kind: state.EventMute, ref: "r", want: []string{"edit MUTE r", "reply MUTE r"}, steps: 1},
		{kind: state.EventUnmute, ref: "r", want: []string{"edit UNMUTE r", "reply UNMUTE r"}, steps: 1},
		{kind: state.EventRemind, ref: "r", want: []string{"reply REMIND r"}},
		{kind: state.EventEscalate, ref: "r", want: []string{"reply ESCALATE r"}},
		{kind: state.EventRemind, want: []string{"reply REMIND "}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/ref=%q/step=%d", tt.kind, tt.ref, tt.step), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ob := newFakeOutbox()
				if tt.ref != "" {
					ob.refs[refKey(7, "n")] = tt.ref
				}
				id := ob.add("n", ev(1, 7, tt.kind))
				ob.find(id).Step = tt.step
				n := &fakeNotifier{name: "n"}
				stop := running(t, NewDispatcher(Options{Outbox: ob, Notifiers: []Notifier{n}}))
				defer stop()
				if got := n.Calls(); !slices.Equal(got, tt.want) {
					t.Errorf("calls = %q, want %q", got, tt.want)
				}
				if _, _, done := ob.get(id); !done {
					t.Error("not delivered")
				}
				if got := ob.count("stepdone"); got != tt.steps {
					t.Errorf("StepDone calls = %d, want %d", got, tt.steps)
				}
			})
		})
	}
}

func TestDispatcherRetryAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ob := newFakeOutbox()
		id := ob.add("n", down(1, 7, "shop"))
		upID := ob.add("n", ev(2, 7, state.EventUp)) // must wait behind the DOWN
		fail := failN(1, &Error{RetryAfter: 30 * time.Second, Err: errors.New("HTTP 429")})
		n := &fakeNotifier{name: "n", post: func(state.Event) (Ref, error) {
			if err := fail(); err != nil {
				return "", err
			}
			return "m", nil
		}}
		hl := &hookLog{}
		start := time.Now()
		stop := running(t, NewDispatcher(Options{Outbox: ob, Notifiers: []Notifier{n}, Hooks: hl.hooks()}))
		defer stop()

		if got := len(n.Calls()); got != 1 {
			t.Fatalf("after start: %d calls, want 1", got)
		}
		dl, _, _ := ob.get(id)
		if want := start.Add(30 * time.Second); !dl.NextAt.Equal(want) {
			t.Errorf("NextAt = %v, want %v", dl.NextAt, want)
		}
		if !strings.Contains(dl.LastError, "HTTP 429") {
			t.Errorf("LastError = %q, want it to name HTTP 429", dl.LastError)
		}
		time.Sleep(29 * time.Second)
		synctest.Wait()
		if got := len(n.Calls()); got != 1 {
			t.Fatalf("after 29s: %d calls, want 1 (the UP must not pass the DOWN)", got)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		want := []string{"post DOWN", "post DOWN", "reply UP m", "edit UP m"}
		if got := n.Calls(); !slices.Equal(got, want) {
			t.Fatalf("after 31s: calls = %q, want %q", got, want)
		}
		if got := n.Times()[1].Sub(start); got != 30*time.Second {
			t.Errorf("retried after %v, want 30s", got)
		}
		time.Sleep(10 * time.Minute)
		synctest.Wait()
		if got := n.Calls(); !slices.Equal(got, want) {
			t.Errorf("after 10m: calls = %q, want %q (each delivered once)", got, want)
		}
		for _, id := range []int64{id, upID} {
			if _, _, done := ob.get(id); !done {
				t.Errorf("delivery %d not delivered", id)
			}
		}
		if hl.count("failed n false") != 1 || hl.count("sent n") != 2 {
			t.Errorf("hooks = %q", hl.all())
		}
	})
}

func TestDispatcherBackoffGrows(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ob := newFakeOutbox()
		id := ob.add("n", down(1, 7, "shop"))
		fail := failN(5, errors.New("HTTP 502"))
		n := &fakeNotifier{name: "n", post: func(state.Event) (Ref, error) {
			if err := fail(); err != nil {
				return "", err
			}
			return "m", nil
		}}
		stop := running(t, NewDispatcher(Options{Outbox: ob, Notifiers: []Notifier{n}, MinBackoff: time.Second, MaxBackoff: 5 * time.Second}))
		defer stop()
		// Bounded: the backoff sum is 1+2+4+5+5 s.
		for range 20 {
			time.Sleep(time.Second)
			synctest.Wait()
		}
		times := n.Times()
		if len(times) != 6 {
			t.Fatalf("%d posts, want 6: %q", len(times), n.Calls())
		}
		var gaps []time.Duration
		for i := 1; i < len(times); i++ {
			gaps = append(gaps, times[i].Sub(times[i-1]))
		}
		want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second}
		if !slices.Equal(gaps, want) {
			t.Errorf("gaps = %v, want %v", gaps, want)
		}
		if dl, _, done := ob.get(id); !done || dl.Attempts != 5 {
			t.Errorf("done=%t attempts=%d, want delivered after 5 attempts", done, dl.Attempts)
		}
		if got := ob.count("setref"); got != 1 {
			t.Errorf("SetRef calls = %d, want 1", got)
		}
	})
}

func TestBackoff(t *testing.T) {
	tests := []struct {
		attempts int
		want     time.Duration
	}{
		{0, time.Second}, {1, 2 * time.Second}, {2, 4 * time.Second}, {8, 256 * time.Second},
		{9, 5 * time.Minute}, {60, 5 * time.Minute}, {1000, 5 * time.Minute},
	}
	for _, tt := range tests {
		if got := backoff(tt.attempts, time.Second, 5*time.Minute); got != tt.want {
			t.Errorf("backoff(%d) = %v, want %v", tt.attempts, got, tt.want)
		}
	}
}

func TestDispatcherPermanentError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ob := newFakeOutbox()
		id := ob.add("n", down(1, 7, "shop"))
		ob.add("n", ev(2, 7, state.EventUp))
		var mu sync.Mutex
		broken := true
		n := &fakeNotifier{name: "n", post: func(state.Event) (Ref, error) {
			mu.Lock()
			defer mu.Unlock()
			if broken {
				return "", &Error{Permanent: true, Err: errors.New("invalid_auth for xoxb-secret")}
			}
			return "m", nil
		}}
		logs := &syncBuffer{}
		hl := &hookLog{}
		d := NewDispatcher(Options{
			Outbox: ob, Notifiers: []Notifier{n}, Hooks: hl.hooks(),
			Logger:  slog.New(slog.NewTextHandler(logs, nil)),
			Secrets: []string{"xoxb-secret"},
		})
		stop := running(t, d)

		_, held, done := ob.get(id)
		if !held || done {
			t.Errorf("held=%t done=%t, want held and not delivered", held, done)
		}
		h := d.Health()["n"]
		if !strings.Contains(h, "invalid_auth") || strings.Contains(h, "xoxb-secret") {
			t.Errorf("Health = %q, want the error, redacted", h)
		}
		// Wakes and virtual minutes bring no more calls: the worker stopped.
		for range 10 {
			d.Wake()
			time.Sleep(time.Minute)
			synctest.Wait()
		}
		if got := len(n.Calls()); got != 1 {
			t.Errorf("%d calls after 10m, want 1", got)
		}
		if got := strings.Count(logs.String(), "level=ERROR"); got != 1 {
			t.Errorf("%d ERROR logs, want 1:\n%s", got, logs)
		}
		if strings.Contains(logs.String(), "xoxb-secret") {
			t.Errorf("log leaks the secret:\n%s", logs)
		}
		if dl, _, _ := ob.get(id); strings.Contains(dl.LastError, "xoxb-secret") {
			t.Errorf("stored error leaks the secret: %q", dl.LastError)
		}
		if hl.count("healthy n false") != 1 || hl.count("failed n true") != 1 {
			t.Errorf("hooks = %q", hl.all())
		}
		stop()

		// A reload fixed it: Run again unholds and delivers, in order.
		mu.Lock()
		broken = false
		mu.Unlock()
		stop = running(t, d)
		defer stop()
		if _, _, done := ob.get(id); !done {
			t.Error("not delivered after Run again")
		}
		want := []string{"post DOWN", "post DOWN", "reply UP m", "edit UP m"}
		if got := n.Calls(); !slices.Equal(got, want) {
			t.Errorf("calls = %q, want %q", got, want)
		}
		if h := d.Health()["n"]; h != "" {
			t.Errorf("Health after Run again = %q, want healthy", h)
		}
	})
}

func TestDispatcherResumesAtStep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ob := newFakeOutbox()
		ob.refs[refKey(7, "n")] = "alert"
		id := ob.add("n", ev(1, 7, state.EventUp))
		fail := failN(1, errors.New("timeout"))
		n := &fakeNotifier{name: "n", edit: func(Ref, state.Event) error { return fail() }}
		stop := running(t, NewDispatcher(Options{Outbox: ob, Notifiers: []Notifier{n}}))
		defer stop()
		time.Sleep(2 * time.Second)
		synctest.Wait()
		want := []string{"reply UP alert", "edit UP alert", "edit UP alert"}
		if got := n.Calls(); !slices.Equal(got, want) {
			t.Errorf("calls = %q, want %q (the reply not repeated)", got, want)
		}
		if dl, _, done := ob.get(id); !done || dl.Step != 1 {
			t.Errorf("done=%t step=%d, want delivered at step 1", done, dl.Step)
		}
	})
}

func TestDispatcherNotifiersIndependent(t *testing.T) {
	tests := []struct {
		name string
		err  error
	}{
		{"retryable", &Error{RetryAfter: time.Hour, Err: errors.New("HTTP 429")}},
		{"permanent", &Error{Permanent: true, Err: errors.New("channel_not_found")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ob := newFakeOutbox()
				var good []int64
				for i := range int64(3) {
					ob.add("bad", down(2*i+1, 10+i, "shop"))
					good = append(good, ob.add("good", down(2*i+2, 10+i, "shop")))
				}
				bad := &fakeNotifier{name: "bad", post: func(state.Event) (Ref, error) { return "", tt.err }}
				ok := &fakeNotifier{name: "good"}
				start := time.Now()
				stop := running(t, NewDispatcher(Options{Outbox: ob, Notifiers: []Notifier{bad, ok}}))
				defer stop()
				// No virtual time has passed: good did not wait for bad.
				if !time.Now().Equal(start) {
					t.Fatalf("time moved")
				}
				for _, id := range good {
					if _, _, done := ob.get(id); !done {
						t.Errorf("good delivery %d not delivered", id)
					}
				}
				if got := len(bad.Calls()); got != 1 {
					t.Errorf("bad: %d calls, want 1", got)
				}
			})
		})
	}
}

func TestDispatcherOutboxErrors(t *testing.T) {
	tests := []struct {
		op    string // the outbox operation that fails
		times int    // how often, before it works again
	}{
		{"unhold", 3}, {"pending", 4}, {"ref", 2}, {"stepdone", 2}, {"setref", 3}, {"delivered", 5}, {"retry", 2},
	}
	for _, tt := range tests {
		t.Run(tt.op, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ob := newFakeOutbox()
				failing := 0
				ob.setFail(func(op string) error {
					if op == tt.op && failing < tt.times {
						failing++
						return errors.New("database is locked")
					}
					return nil
				})
				down := ob.add("n", down(1, 7, "shop"))
				up := ob.add("n", ev(2, 7, state.EventUp))
				editFail := failN(1, errors.New("HTTP 500")) // so that Retry is used
				n := &fakeNotifier{name: "n", edit: func(Ref, state.Event) error { return editFail() }}
				stop := running(t, NewDispatcher(Options{Outbox: ob, Notifiers: []Notifier{n}, MaxBackoff: 4 * time.Second}))
				defer stop()
				for range 60 {
					time.Sleep(time.Second)
					synctest.Wait()
				}
				want := []string{"post DOWN", "reply UP n-msg-1", "edit UP n-msg-1", "edit UP n-msg-1"}
				if got := n.Calls(); !slices.Equal(got, want) {
					t.Errorf("calls = %q, want %q (nothing repeated, nothing lost)", got, want)
				}
				for _, id := range []int64{down, up} {
					if _, _, done := ob.get(id); !done {
						t.Errorf("delivery %d not delivered", id)
					}
				}
				ob.mu.Lock()
				failed := failing
				ob.mu.Unlock()
				if failed != tt.times {
					t.Errorf("%s failed %d times, want %d", tt.op, failed, tt.times)
				}
			})
		})
	}
}

func TestDispatcherWakeAndPoll(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ob := newFakeOutbox()
		n := &fakeNotifier{name: "n"}
		d := NewDispatcher(Options{Outbox: ob, Notifiers: []Notifier{n}, Poll: 5 * time.Second})
		stop := running(t, d)
		defer stop()

		ob.add("n", down(1, 7, "shop"))
		d.Wake()
		synctest.Wait()
		if got := len(n.Calls()); got != 1 {
			t.Fatalf("after Wake: %d calls, want 1", got)
		}

		ob.add("n", down(2, 8, "db"))
		synctest.Wait()
		if got := len(n.Calls()); got != 1 {
			t.Fatalf("without Wake: %d calls, want 1", got)
		}
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if got := len(n.Calls()); got != 2 {
			t.Fatalf("after Poll: %d calls, want 2", got)
		}
		// Wake never blocks, however often it is called.
		for range 100 {
			d.Wake()
		}
	})
}

func TestDispatcherRetryableHealth(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ob := newFakeOutbox()
		ob.add("n", down(1, 7, "shop"))
		fail := failN(UnhealthyAfter, errors.New("HTTP 503"))
		n := &fakeNotifier{name: "n", post: func(state.Event) (Ref, error) { return "m", fail() }}
		hl := &hookLog{}
		d := NewDispatcher(Options{Outbox: ob, Notifiers: []Notifier{n}, Hooks: hl.hooks(), MaxBackoff: time.Second})
		stop := running(t, d)
		defer stop()
		for i := 1; i < UnhealthyAfter; i++ {
			if h := d.Health()["n"]; h != "" {
				t.Fatalf("after %d failures Health = %q, want healthy", i, h)
			}
			time.Sleep(time.Second)
			synctest.Wait()
		}
		if h := d.Health()["n"]; h != "HTTP 503" {
			t.Errorf("after %d failures Health = %q, want HTTP 503", UnhealthyAfter, h)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if h := d.Health()["n"]; h != "" {
			t.Errorf("after a success Health = %q, want healthy", h)
		}
		if hl.count("healthy n false") != 1 || hl.count("healthy n true") != 2 {
			t.Errorf("hooks = %q", hl.all())
		}
	})
}

func TestDispatcherRunErrors(t *testing.T) {
	n := &fakeNotifier{name: "n"}
	tests := []struct {
		name string
		opts Options
	}{
		{"no outbox", Options{Notifiers: []Notifier{n}}},
		{"nil notifier", Options{Outbox: newFakeOutbox(), Notifiers: []Notifier{nil}}},
		{"duplicate", Options{Outbox: newFakeOutbox(), Notifiers: []Notifier{n, &fakeNotifier{name: "n"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := NewDispatcher(tt.opts).Run(t.Context()); err == nil {
				t.Error("Run = nil, want an error")
			}
		})
	}
	t.Run("already running", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			d := NewDispatcher(Options{Outbox: newFakeOutbox(), Notifiers: []Notifier{n}})
			stop := running(t, d)
			defer stop()
			if err := d.Run(t.Context()); err == nil {
				t.Error("second Run = nil, want an error")
			}
		})
	})
}

func TestDispatcherInjectedNow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ob := newFakeOutbox()
		id := ob.add("n", down(1, 7, "shop"))
		// Due by the injected clock, which runs an hour ahead.
		ob.find(id).NextAt = time.Now().Add(30 * time.Minute)
		n := &fakeNotifier{name: "n"}
		now := func() time.Time { return time.Now().Add(time.Hour) }
		stop := running(t, NewDispatcher(Options{Outbox: ob, Notifiers: []Notifier{n}, Now: now}))
		defer stop()
		if _, _, done := ob.get(id); !done {
			t.Error("not delivered though due by Options.Now")
		}
	})
}

func TestRedact(t *testing.T) {
	tests := []struct {
		s       string
		secrets []string
		want    string
	}{
		{"no secrets", nil, "no secrets"},
		{"post https://hooks/T0/abc: 404", []string{"abc"}, "post https://hooks/T0/[REDACTED]: 404"},
		{"tok tok tok", []string{"tok"}, "[REDACTED] [REDACTED] [REDACTED]"},
		{"empty secret ignored", []string{""}, "empty secret ignored"},
		{"a=xoxb-1 b=xapp-2", []string{"xoxb-1", "", "xapp-2"}, "a=[REDACTED] b=[REDACTED]"},
		{"long abcdef", []string{"abc", "abcdef"}, "long [REDACTED]"},
	}
	for _, tt := range tests {
		if got := Redact(tt.s, tt.secrets...); got != tt.want {
			t.Errorf("Redact(%q, %q) = %q, want %q", tt.s, tt.secrets, got, tt.want)
		}
	}
}

// TestDispatcherRecordsSuccessDuringShutdown: a call that succeeded just as
// the dispatcher was stopped (a reload restarts it) is still recorded, so
// the next Run does not send it again.
func TestDispatcherRecordsSuccessDuringShutdown(t *testing.T) {
	for _, kind := range []state.EventKind{state.EventDown, state.EventUp, state.EventRemoved} {
		t.Run(string(kind), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ob := newFakeOutbox()
				id := ob.add("n", ev(1, 7, kind))
				ctx, cancel := context.WithCancel(t.Context())
				n := &fakeNotifier{name: "n"}
				n.post = func(ev state.Event) (Ref, error) { cancel(); return "n-msg-1", nil }
				n.reply = func(ref Ref, ev state.Event) (Ref, error) { cancel(); return "", nil }
				d := NewDispatcher(Options{Outbox: ob, Notifiers: []Notifier{n}})
				if err := d.Run(ctx); err != nil {
					t.Fatalf("Run = %v", err)
				}
				first := len(n.Calls())
				if first == 0 {
					t.Fatal("nothing was sent")
				}
				stop := running(t, d)
				stop()
				if got := n.Calls(); len(got) != first {
					t.Errorf("calls after a restart = %q: the first Run's send was repeated", got)
				}
				if _, _, done := ob.get(id); !done {
					t.Error("delivery not recorded as delivered")
				}
			})
		})
	}
}

// TestDispatcherRetriesRecordWhileStopping: the outbox write that records a
// successful call fails once just as the dispatcher stops; it is retried,
// not dropped, so the call is not made again after the restart.
func TestDispatcherRetriesRecordWhileStopping(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ob := newFakeOutbox()
		id := ob.add("n", ev(1, 7, state.EventUp))
		failed := false
		ob.setFail(func(op string) error {
			if op == "delivered" && !failed {
				failed = true
				return errors.New("database is locked")
			}
			return nil
		})
		ctx, cancel := context.WithCancel(t.Context())
		n := &fakeNotifier{name: "n"}
		n.reply = func(ref Ref, ev state.Event) (Ref, error) { cancel(); return "", nil }
		d := NewDispatcher(Options{Outbox: ob, Notifiers: []Notifier{n}})
		if err := d.Run(ctx); err != nil {
			t.Fatalf("Run = %v", err)
		}
		if _, _, done := ob.get(id); !done || !failed {
			t.Fatalf("delivery done %v after a failed write (failed %v); want it recorded on retry", done, failed)
		}
		stop := running(t, d)
		stop()
		if got := n.Calls(); len(got) != 1 {
			t.Errorf("calls = %q, want the one reply", got)
		}
	})
}
