package sqlite

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/tocsin/tocsin/checks"
	"github.com/tocsin/tocsin/state"
)

func pending(t *testing.T, s *Store, notifier string) []state.Delivery {
	t.Helper()
	p, err := s.Pending(context.Background(), notifier, 0)
	if err != nil {
		t.Fatalf("Pending(%q): %v", notifier, err)
	}
	return p
}

// targetsOf lists the targets of ds' events, in order.
func targetsOf(ds []state.Delivery) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.Event.Target)
	}
	return out
}

func depth(t *testing.T, s *Store) map[string]int {
	t.Helper()
	d, err := s.Depth(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestPendingCarriesTheEvent(t *testing.T) {
	s := openT(t, "", Options{})
	ev := state.Event{
		Kind: state.EventUp, Target: "shop", TargetKind: checks.KindHTTP, Address: "https://shop.test/health",
		IncidentID: 3, Time: t0, Since: t0.Add(-time.Hour), Reason: "back", Latency: 12 * time.Millisecond,
		Duration: time.Hour, Actor: "alice", Note: "(muted)",
		Cause: "HTTP 503", AckedBy: "bob", AckedAt: t0.Add(-time.Minute),
		Phase: state.FlapUpdate, Count: 7,
		Group: 2, Members: []state.GroupMember{
			{Target: "router", IncidentID: 2, Status: state.StatusDown, Cause: "100% packet loss (1/1)", Since: t0.Add(-2 * time.Hour)},
			{Target: "shop", IncidentID: 3, Status: state.StatusUp, Cause: "HTTP 503", Since: t0.Add(-time.Hour), AckedBy: "bob", HeldBy: "router"},
		},
	}
	b := &state.Batch{Events: []state.Event{ev}, Notifiers: []string{"console", "slack"}}
	commit(t, s, b)
	ev.ID = b.Events[0].ID
	for _, n := range []string{"console", "slack"} {
		p := pending(t, s, n)
		if len(p) != 1 {
			t.Fatalf("Pending(%q) = %d deliveries, want 1", n, len(p))
		}
		want := state.Delivery{ID: p[0].ID, Notifier: n, Event: ev, NextAt: t0}
		if !reflect.DeepEqual(p[0], want) {
			t.Errorf("Pending(%q)[0] =\n%+v\nwant\n%+v", n, p[0], want)
		}
	}
	if p := pending(t, s, "discord"); len(p) != 0 {
		t.Errorf("Pending(discord) = %+v; want nothing", p)
	}
}

func TestNextAtDefaultsToNow(t *testing.T) {
	now := t0.Add(42 * time.Second)
	s := openT(t, "", Options{Now: func() time.Time { return now }})
	commit(t, s, &state.Batch{Events: []state.Event{{Kind: state.EventAck, Target: "a"}}, Notifiers: []string{"console"}})
	if p := pending(t, s, "console"); len(p) != 1 || !p[0].NextAt.Equal(now) {
		t.Errorf("Pending = %+v; want one delivery due at %v", p, now)
	}
}

func TestOutboxQueue(t *testing.T) {
	ctx := context.Background()
	s := openT(t, "", Options{})
	// Two batches, so the queue order is by event, across batches and
	// notifiers.
	commit(t, s, &state.Batch{
		Events:    []state.Event{{Kind: state.EventDown, Target: "a", Time: t0}, {Kind: state.EventDown, Target: "b", Time: t0}},
		Notifiers: []string{"console", "slack"},
	})
	commit(t, s, &state.Batch{
		Events:    []state.Event{{Kind: state.EventUp, Target: "a", Time: t0.Add(time.Minute)}},
		Notifiers: []string{"console", "slack"},
	})
	p := pending(t, s, "slack")
	if got, want := targetsOf(p), []string{"a", "b", "a"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("slack queue = %v, want %v", got, want)
	}
	if d, want := depth(t, s), map[string]int{"console": 3, "slack": 3}; !reflect.DeepEqual(d, want) {
		t.Errorf("Depth = %v, want %v", d, want)
	}
	first, second, third := p[0], p[1], p[2]

	// Retry: still first, later, counted.
	later := t0.Add(5 * time.Minute)
	if err := s.Retry(ctx, first.ID, later, "HTTP 503"); err != nil {
		t.Fatal(err)
	}
	p = pending(t, s, "slack")
	if p[0].ID != first.ID || !p[0].NextAt.Equal(later) || p[0].Attempts != 1 || p[0].LastError != "HTTP 503" {
		t.Errorf("after Retry: first pending = %+v; want delivery %d, attempts 1, next %v", p[0], first.ID, later)
	}
	if err := s.Retry(ctx, first.ID, later.Add(time.Minute), "timeout"); err != nil {
		t.Fatal(err)
	}
	if p = pending(t, s, "slack"); p[0].Attempts != 2 || p[0].LastError != "timeout" {
		t.Errorf("after a second Retry: %+v; want attempts 2, last error timeout", p[0])
	}

	// Limit.
	if p, err := s.Pending(ctx, "slack", 2); err != nil || len(p) != 2 || p[0].ID != first.ID {
		t.Errorf("Pending(slack, 2) = %+v, %v; want the first two", p, err)
	}

	// StepDone.
	if err := s.StepDone(ctx, third.ID, 1); err != nil {
		t.Fatal(err)
	}
	if p = pending(t, s, "slack"); p[2].Step != 1 {
		t.Errorf("after StepDone: step = %d, want 1", p[2].Step)
	}

	// Hold hides, Depth still counts, Unhold brings back in order.
	if err := s.Hold(ctx, first.ID, "invalid_auth"); err != nil {
		t.Fatal(err)
	}
	if err := s.Hold(ctx, second.ID, "invalid_auth"); err != nil {
		t.Fatal(err)
	}
	if got, want := targetsOf(pending(t, s, "slack")), []string{"a"}; !reflect.DeepEqual(got, want) {
		t.Errorf("after Hold: slack queue = %v, want %v", got, want)
	}
	if d := depth(t, s); d["slack"] != 3 {
		t.Errorf("after Hold: slack depth = %d, want 3 (held count)", d["slack"])
	}
	if err := s.Unhold(ctx, "console"); err != nil { // another notifier's: no effect
		t.Fatal(err)
	}
	if n := len(pending(t, s, "slack")); n != 1 {
		t.Errorf("Unhold(console) changed slack's queue: %d pending", n)
	}
	if err := s.Unhold(ctx, "slack"); err != nil {
		t.Fatal(err)
	}
	p = pending(t, s, "slack")
	if got := []int64{p[0].ID, p[1].ID, p[2].ID}; !reflect.DeepEqual(got, []int64{first.ID, second.ID, third.ID}) {
		t.Errorf("after Unhold: queue ids = %v, want %v", got, []int64{first.ID, second.ID, third.ID})
	}
	if p[0].Attempts != 3 || p[0].LastError != "invalid_auth" {
		t.Errorf("after Hold: attempts %d, last error %q; want 3, invalid_auth", p[0].Attempts, p[0].LastError)
	}

	// Delivered leaves the queue.
	if err := s.Delivered(ctx, first.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.Delivered(ctx, first.ID); err != nil {
		t.Errorf("Delivered twice: %v", err)
	}
	if got, want := targetsOf(pending(t, s, "slack")), []string{"b", "a"}; !reflect.DeepEqual(got, want) {
		t.Errorf("after Delivered: slack queue = %v, want %v", got, want)
	}
	if d, want := depth(t, s), map[string]int{"console": 3, "slack": 2}; !reflect.DeepEqual(d, want) {
		t.Errorf("after Delivered: Depth = %v, want %v", d, want)
	}
	var deliveredAt int64
	if err := s.r.QueryRow("SELECT delivered_at FROM deliveries WHERE id = ?", first.ID).Scan(&deliveredAt); err != nil || deliveredAt != t0.UnixNano() {
		t.Errorf("delivered_at = %d (%v); want the store clock's %d", deliveredAt, err, t0.UnixNano())
	}
}

func TestOutboxUnknownDelivery(t *testing.T) {
	ctx := context.Background()
	s := openT(t, "", Options{})
	for name, call := range map[string]func() error{
		"StepDone":  func() error { return s.StepDone(ctx, 99, 1) },
		"Delivered": func() error { return s.Delivered(ctx, 99) },
		"Retry":     func() error { return s.Retry(ctx, 99, t0, "x") },
		"Hold":      func() error { return s.Hold(ctx, 99, "x") },
	} {
		if err := call(); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s of an unknown delivery = %v; want ErrNotFound", name, err)
		}
	}
}

func TestRefs(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tocsin.db")
	s := openT(t, path, Options{})
	if ref, err := s.Ref(ctx, 1, "slack"); ref != "" || err != nil {
		t.Errorf("Ref of nothing = %q, %v; want empty", ref, err)
	}
	for _, set := range []struct {
		id       int64
		notifier string
		ref      string
	}{
		{1, "slack", "C1/111.1"},
		{1, "discord", "999"},
		{2, "slack", "C1/222.2"},
		{1, "slack", "C1/333.3"}, // replaces
	} {
		if err := s.SetRef(ctx, set.id, set.notifier, set.ref); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	s = openT(t, path, Options{})
	for _, tt := range []struct {
		id       int64
		notifier string
		want     string
	}{
		{1, "slack", "C1/333.3"},
		{1, "discord", "999"},
		{2, "slack", "C1/222.2"},
		{2, "discord", ""},
	} {
		if got, err := s.Ref(ctx, tt.id, tt.notifier); got != tt.want || err != nil {
			t.Errorf("Ref(%d, %s) after reopen = %q, %v; want %q", tt.id, tt.notifier, got, err, tt.want)
		}
	}
}

// copyFile copies src to dst if src exists.
func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	in, err := os.Open(src)
	if errors.Is(err, os.ErrNotExist) {
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestCrashAfterCommitBeforeDelivery(t *testing.T) {
	ctx := context.Background()
	event := &state.Batch{
		States:    []state.TargetState{{Name: "shop", Status: state.StatusDown, IncidentID: 1}},
		Incidents: []state.Incident{{ID: 1, Target: "shop", Start: t0, Cause: "HTTP 503"}},
		Events:    []state.Event{{Kind: state.EventDown, Target: "shop", IncidentID: 1, Time: t0, Reason: "HTTP 503"}},
		Notifiers: []string{"console"},
	}
	tests := []struct {
		name string
		// crash commits b and returns the path of the file as a crash
		// would leave it.
		crash func(t *testing.T, b *state.Batch) string
	}{
		{"files copied while open (kill -9)", func(t *testing.T, b *state.Batch) string {
			dir := t.TempDir()
			s := openT(t, filepath.Join(dir, "tocsin.db"), Options{})
			commit(t, s, b)
			// What is on disk now is what a kill -9 leaves: the main file and
			// the WAL holding the commit; the -shm index is rebuilt.
			if _, err := os.Stat(filepath.Join(dir, "tocsin.db-wal")); err != nil {
				t.Fatalf("no WAL file after a commit: %v", err)
			}
			crashed := filepath.Join(t.TempDir(), "tocsin.db")
			copyFile(t, filepath.Join(dir, "tocsin.db"), crashed)
			copyFile(t, filepath.Join(dir, "tocsin.db-wal"), crashed+"-wal")
			return crashed
		}},
		{"store dropped without Close", func(t *testing.T, b *state.Batch) string {
			path := filepath.Join(t.TempDir(), "tocsin.db")
			s, err := Open(ctx, path, Options{Now: fixedNow})
			if err != nil {
				t.Fatal(err)
			}
			commit(t, s, b)
			// Not closed before the reopen below; closed at the end only so
			// the test leaks nothing. A dead process's flock is gone, so
			// the lock alone is released here.
			s.lock.Close()
			s.lock = nil
			t.Cleanup(func() { s.Close() })
			return path
		}},
		{"clean close", func(t *testing.T, b *state.Batch) string {
			path := filepath.Join(t.TempDir(), "tocsin.db")
			s := openT(t, path, Options{})
			commit(t, s, b)
			s.Close()
			return path
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := *event
			b.Events = append([]state.Event(nil), event.Events...)
			path := tt.crash(t, &b)

			s := openT(t, path, Options{})
			p := pending(t, s, "console")
			if len(p) != 1 || p[0].Event.Kind != state.EventDown || p[0].Event.Target != "shop" || p[0].Event.ID != b.Events[0].ID {
				t.Fatalf("after the crash: Pending = %+v; want the DOWN of shop exactly once", p)
			}
			if l, err := s.Load(ctx); err != nil || len(l.States) != 1 || l.LastIncidentID != 1 {
				t.Errorf("after the crash: Load = %+v, %v; want the state and incident 1", l, err)
			}
			if err := s.Delivered(ctx, p[0].ID); err != nil {
				t.Fatal(err)
			}
			if err := s.SetRef(ctx, 1, "console", "line 1"); err != nil {
				t.Fatal(err)
			}
			s.Close()

			s = openT(t, path, Options{})
			if p := pending(t, s, "console"); len(p) != 0 {
				t.Errorf("after Delivered and reopen: Pending = %+v; want nothing", p)
			}
			if d := depth(t, s); len(d) != 0 {
				t.Errorf("after Delivered and reopen: Depth = %v; want empty", d)
			}
			if ref, err := s.Ref(ctx, 1, "console"); ref != "line 1" || err != nil {
				t.Errorf("after reopen: Ref = %q, %v; want %q", ref, err, "line 1")
			}
		})
	}
}
