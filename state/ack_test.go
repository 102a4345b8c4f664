package state

import (
	"errors"
	"slices"
	"testing"
	"time"
)

// lastBatch returns the newest committed batch that carried events.
func lastEventBatch(t *testing.T, m *memStore) Batch {
	t.Helper()
	bs := m.committed()
	for i := len(bs) - 1; i >= 0; i-- {
		if len(bs[i].Events) > 0 {
			return bs[i]
		}
	}
	t.Fatal("no batch with events")
	return Batch{}
}

func TestTrackerAck(t *testing.T) {
	alice := Ack{By: "alice", Reason: "on it", Platform: "slack"}
	tests := []struct {
		name     string
		seq      string // results of "shop" before the ack (fail_after 2)
		target   string
		incident int64
		preAck   bool // bob acks first
		wantErr  error
	}{
		{name: "by target", seq: "FF", target: "shop"},
		{name: "by button incident", seq: "FF", incident: 1},
		{name: "button and target agree", seq: "FF", target: "shop", incident: 1},
		{name: "unknown target", seq: "FF", target: "nope", wantErr: ErrUnknownTarget},
		{name: "not down", seq: "O", target: "shop", wantErr: ErrNotDown},
		{name: "failing but not yet down", seq: "F", target: "shop", wantErr: ErrNotDown},
		{name: "button of an unknown incident", seq: "FF", incident: 7, wantErr: ErrIncidentClosed},
		{name: "button of a recovered incident", seq: "FFO", incident: 1, wantErr: ErrIncidentClosed},
		{name: "button of an older incident", seq: "FFOFF", target: "shop", incident: 1, wantErr: ErrIncidentClosed},
		{name: "already acked", seq: "FF", target: "shop", preAck: true, wantErr: ErrAlreadyAcked},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, newMemStore(), httpTarget("shop", 2, 1))
			h.feed(t, "shop", 0, tc.seq)
			if tc.preAck {
				if _, err := h.tr.Ack(t.Context(), "shop", 0, Ack{By: "bob"}); err != nil {
					t.Fatalf("first ack: %v", err)
				}
			}
			before := len(h.store.events())
			st, err := h.tr.Ack(t.Context(), tc.target, tc.incident, alice)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Ack err = %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr != nil {
				if got := len(h.store.events()); got != before {
					t.Errorf("a refused ack enqueued %d events", got-before)
				}
				if tc.preAck && st.AckedBy != "bob" {
					t.Errorf("ErrAlreadyAcked state names %q, want bob", st.AckedBy)
				}
				return
			}
			if st.AckedBy != "alice" || !st.AckedAt.Equal(h.now) {
				t.Errorf("state ack = %q at %v", st.AckedBy, st.AckedAt)
			}
			if got := mustGet(t, h.tr, "shop"); got.AckedBy != "alice" || got.AckReason != "on it" || got.AckPlatform != "slack" {
				t.Errorf("Get after ack: %+v", got)
			}
			b := lastEventBatch(t, h.store)
			ev := b.Events[0]
			if ev.Kind != EventAck || ev.Actor != "alice" || ev.Reason != "on it" || ev.IncidentID != st.IncidentID ||
				ev.Cause == "" || ev.AckedBy != "alice" || ev.Since.IsZero() {
				t.Errorf("ACK event = %+v", ev)
			}
			if !slices.Equal(b.Notifiers, testNotifiers) {
				t.Errorf("ACK went to %v, want every notifier", b.Notifiers)
			}
			inc, _ := h.store.incident(st.IncidentID)
			if inc.AckedBy != "alice" || inc.AckReason != "on it" || inc.AckPlatform != "slack" {
				t.Errorf("stored incident = %+v", inc)
			}
			// The recovery carries the ack, so the alert's edit keeps it,
			// and the next outage needs a new ack.
			h.feed(t, "shop", 20, "OFF")
			evs := h.store.events()
			var up Event
			for _, e := range evs {
				if e.Kind == EventUp {
					up = e
				}
			}
			if up.AckedBy != "alice" || up.Cause == "" {
				t.Errorf("UP event = %+v, want the ack and cause", up)
			}
			if got := mustGet(t, h.tr, "shop"); got.AckedBy != "" || got.IncidentID == st.IncidentID {
				t.Errorf("new outage state = %+v, want unacked new incident", got)
			}
		})
	}
}

func TestTrackerAckCommitError(t *testing.T) {
	h := newHarness(t, newMemStore(), httpTarget("shop", 1, 1))
	h.feed(t, "shop", 0, "F")
	h.store.setCommitErr(func(*Batch) error { return errors.New("disk full") })
	if _, err := h.tr.Ack(t.Context(), "shop", 0, Ack{By: "alice"}); err == nil {
		t.Fatal("Ack succeeded with a failing store")
	}
	if st := mustGet(t, h.tr, "shop"); st.AckedBy != "" {
		t.Errorf("a failed ack changed the state: %+v", st)
	}
	h.store.setCommitErr(nil)
	if _, err := h.tr.Ack(t.Context(), "shop", 0, Ack{By: "alice"}); err != nil {
		t.Fatalf("Ack after the store mended: %v", err)
	}
}

func TestTrackerMute(t *testing.T) {
	h := newHarness(t, newMemStore(), httpTarget("shop", 1, 1), httpTarget("db", 1, 1))

	// A mute of a target without an outage tells only the console.
	st, err := h.tr.Mute(t.Context(), "shop", h.now.Add(time.Hour), "alice")
	if err != nil {
		t.Fatalf("Mute: %v", err)
	}
	if !st.MutedUntil.Equal(h.now.Add(time.Hour)) {
		t.Errorf("MutedUntil = %v", st.MutedUntil)
	}
	b := lastEventBatch(t, h.store)
	if ev := b.Events[0]; ev.Kind != EventMute || ev.Duration != time.Hour || ev.Actor != "alice" {
		t.Errorf("MUTE event = %+v", ev)
	}
	if !slices.Equal(b.Notifiers, []string{"console"}) {
		t.Errorf("MUTE of a target that is up went to %v", b.Notifiers)
	}

	// An outage that begins while muted is quiet: console only, to the end.
	h.now = at(0)
	h.feed(t, "shop", 0, "F")
	b = lastEventBatch(t, h.store)
	if ev := b.Events[0]; ev.Kind != EventDown || ev.Note != "(muted)" || !slices.Equal(b.Notifiers, []string{"console"}) {
		t.Errorf("muted DOWN = %+v to %v", ev, b.Notifiers)
	}
	h.feed(t, "shop", 1, "O")
	b = lastEventBatch(t, h.store)
	if ev := b.Events[0]; ev.Kind != EventUp || !slices.Equal(b.Notifiers, []string{"console"}) {
		t.Errorf("quiet UP = %+v to %v", ev, b.Notifiers)
	}

	// An announced outage muted afterwards: the MUTE edits its alert, and
	// its recovery is still announced.
	h.feed(t, "db", 0, "F")
	if b := lastEventBatch(t, h.store); !slices.Equal(b.Notifiers, testNotifiers) {
		t.Fatalf("DOWN of an unmuted target went to %v", b.Notifiers)
	}
	if _, err := h.tr.Mute(t.Context(), "db", at(0).Add(2*time.Hour), "bob"); err != nil {
		t.Fatalf("Mute db: %v", err)
	}
	b = lastEventBatch(t, h.store)
	if ev := b.Events[0]; ev.Kind != EventMute || ev.IncidentID == 0 || !slices.Equal(b.Notifiers, testNotifiers) {
		t.Errorf("MUTE of an announced outage = %+v to %v", ev, b.Notifiers)
	}
	h.feed(t, "db", 1, "O")
	if b := lastEventBatch(t, h.store); b.Events[0].Kind != EventUp || !slices.Equal(b.Notifiers, testNotifiers) {
		t.Errorf("recovery during a mute went to %v, want every notifier", b.Notifiers)
	}

	// Unmute, then unmute again.
	if _, err := h.tr.Unmute(t.Context(), "db", "bob"); err != nil {
		t.Fatalf("Unmute: %v", err)
	}
	if ev := lastEventBatch(t, h.store).Events[0]; ev.Kind != EventUnmute || ev.Actor != "bob" {
		t.Errorf("UNMUTE event = %+v", ev)
	}
	if _, err := h.tr.Unmute(t.Context(), "db", "bob"); !errors.Is(err, ErrNotMuted) {
		t.Errorf("second Unmute err = %v, want ErrNotMuted", err)
	}
	if _, err := h.tr.Mute(t.Context(), "nope", h.now.Add(time.Hour), "bob"); !errors.Is(err, ErrUnknownTarget) {
		t.Errorf("Mute of an unknown target err = %v", err)
	}
	if _, err := h.tr.Mute(t.Context(), "db", h.now.Add(-time.Minute), "bob"); err == nil {
		t.Error("Mute into the past succeeded")
	}
}

func TestTrackerUnack(t *testing.T) {
	h := newHarness(t, newMemStore(), httpTarget("shop", 1, 1), httpTarget("db", 1, 1))
	if _, err := h.tr.Unack(t.Context(), "shop", "alice"); !errors.Is(err, ErrNotDown) {
		t.Errorf("Unack of a target that is up: %v, want ErrNotDown", err)
	}
	if _, err := h.tr.Unack(t.Context(), "nope", "alice"); !errors.Is(err, ErrUnknownTarget) {
		t.Errorf("Unack of an unknown target: %v", err)
	}
	h.feed(t, "shop", 0, "F")
	if _, err := h.tr.Unack(t.Context(), "shop", "alice"); !errors.Is(err, ErrNotAcked) {
		t.Errorf("Unack of an unacknowledged outage: %v, want ErrNotAcked", err)
	}
	if _, err := h.tr.Ack(t.Context(), "shop", 0, Ack{By: "bob", Reason: "mine"}); err != nil {
		t.Fatal(err)
	}
	h.now = h.now.Add(time.Minute)
	st, err := h.tr.Unack(t.Context(), "shop", "alice")
	if err != nil {
		t.Fatalf("Unack: %v", err)
	}
	if st.AckedBy != "" || !st.AckedAt.IsZero() {
		t.Errorf("state after unack = %+v", st)
	}
	b := lastEventBatch(t, h.store)
	if ev := b.Events[0]; ev.Kind != EventUnack || ev.Actor != "alice" || ev.IncidentID != st.IncidentID || ev.Cause == "" {
		t.Errorf("UNACK event = %+v", ev)
	}
	inc, _ := h.store.incident(st.IncidentID)
	if inc.AckedBy != "" || inc.AckReason != "" || !inc.ClockAt.Equal(h.now) {
		t.Errorf("incident after unack = %+v: ack cleared, reminder clock restarted", inc)
	}
	// Acknowledged again afterwards.
	if _, err := h.tr.Ack(t.Context(), "shop", 0, Ack{By: "carol"}); err != nil {
		t.Errorf("ack after unack: %v", err)
	}
}
