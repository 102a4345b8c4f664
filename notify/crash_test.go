package notify_test

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tocsin/tocsin/notify"
	"github.com/tocsin/tocsin/notify/console"
	"github.com/tocsin/tocsin/state"
	"github.com/tocsin/tocsin/state/sqlite"
)

// lockedBuffer is a bytes.Buffer safe for the dispatcher's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// drain runs a dispatcher with the console notifier over the store until
// its outbox is empty (bounded), and returns what the console printed.
func drain(t *testing.T, store *sqlite.Store) string {
	t.Helper()
	out := &lockedBuffer{}
	d := notify.NewDispatcher(notify.Options{Outbox: store, Notifiers: []notify.Notifier{console.New(out)}, Poll: 10 * time.Millisecond})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		depth, err := store.Depth(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if depth["console"] == 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	return out.String()
}

// TestCrashBetweenCommitAndDelivery: the transition and its alert are
// committed, then the process dies before the dispatcher ran. After a
// restart on the same file the alert is printed exactly once, and a second
// restart prints nothing more.
func TestCrashBetweenCommitAndDelivery(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tocsin.db")
	ctx := t.Context()
	store, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	b := &state.Batch{
		States:    []state.TargetState{{Name: "shop", Kind: "http", Status: state.StatusDown, Since: now, IncidentID: 1}},
		Incidents: []state.Incident{{ID: 1, Target: "shop", Start: now, Cause: "HTTP 503"}},
		Events: []state.Event{{Kind: state.EventDown, Target: "shop", TargetKind: "http", IncidentID: 1,
			Time: now, Since: now, Reason: "HTTP 503"}},
		Notifiers: []string{"console"},
	}
	if err := store.Commit(ctx, b); err != nil {
		t.Fatal(err)
	}
	// The "crash": the store is closed with nothing delivered.
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}

	for i, want := range []string{"DOWN shop HTTP 503\n", ""} {
		store, err := sqlite.Open(ctx, path, sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		got := drain(t, store)
		store.Close()
		if got != want {
			t.Errorf("restart %d printed %q, want %q", i+1, got, want)
		}
		if strings.Count(got, "\n") > 1 {
			t.Errorf("restart %d printed the alert more than once", i+1)
		}
	}
}
