package state

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tocsin/tocsin/checks"
)

// tickEvent is an event a Tick produced, with its audience.
type tickEvent struct {
	at    time.Duration // after the DOWN
	kind  EventKind
	actor string
	chat  bool // went to chat, not only the console
}

// timedTarget is "shop", DOWN after one failure, with the timed settings.
func timedTarget(remind, escalate, ackExpires time.Duration) checks.Target {
	tg := httpTarget("shop", 1, 1)
	tg.RemindEvery, tg.EscalateAfter, tg.AckExpires = remind, escalate, ackExpires
	return tg
}

// eventsSince returns the events committed after the first n batches,
// each with whether it went to chat.
func eventsSince(m *memStore, n int, down time.Time) []tickEvent {
	var out []tickEvent
	for _, b := range m.committed()[n:] {
		for _, ev := range b.Events {
			out = append(out, tickEvent{at: ev.Time.Sub(down), kind: ev.Kind, actor: ev.Actor,
				chat: slices.Contains(b.Notifiers, "slack")})
		}
	}
	return out
}

func TestTrackerTickReminders(t *testing.T) {
	const m = time.Minute
	type action struct {
		at   time.Duration
		do   string // "tick", "ack", "unack"
		want []tickEvent
	}
	tests := []struct {
		name    string
		target  checks.Target
		oncall  string
		actions []action
	}{
		{"reminders every 10m, naming the person on call", timedTarget(10*m, 0, 0), "alice", []action{
			{9 * m, "tick", nil},
			{10 * m, "tick", []tickEvent{{10 * m, EventRemind, "alice", true}}},
			{15 * m, "tick", nil},
			{20 * m, "tick", []tickEvent{{20 * m, EventRemind, "alice", true}}},
		}},
		{"an ack stops reminders and escalation", timedTarget(10*m, 15*m, 0), "", []action{
			{5 * m, "ack", []tickEvent{{5 * m, EventAck, "bob", true}}},
			{60 * m, "tick", nil},
		}},
		{"escalation once, after escalate_after", timedTarget(0, 15*m, 0), "alice", []action{
			{14 * m, "tick", nil},
			{15 * m, "tick", []tickEvent{{15 * m, EventEscalate, "alice", true}}},
			{45 * m, "tick", nil},
		}},
		{"0 means never", timedTarget(0, 0, 0), "alice", []action{
			{24 * 60 * m, "tick", nil},
		}},
		{"an unack restarts both clocks", timedTarget(10*m, 15*m, 0), "", []action{
			{1 * m, "ack", []tickEvent{{1 * m, EventAck, "bob", true}}},
			{30 * m, "unack", []tickEvent{{30 * m, EventUnack, "carol", true}}},
			{39 * m, "tick", nil},
			{40 * m, "tick", []tickEvent{{40 * m, EventRemind, "", true}}},
			{45 * m, "tick", []tickEvent{{45 * m, EventEscalate, "", true}}},
		}},
		{"an ack expires after ack_expires and reminders resume", timedTarget(10*m, 0, time.Hour), "", []action{
			{1 * m, "ack", []tickEvent{{1 * m, EventAck, "bob", true}}},
			{60 * m, "tick", nil},
			{61 * m, "tick", []tickEvent{{61 * m, EventUnack, "tocsin", true}}},
			{71 * m, "tick", []tickEvent{{71 * m, EventRemind, "", true}}},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			store := newMemStore()
			h := newHarness(t, store)
			h.tr.opts.Oncall = func(time.Time) string { return tc.oncall }
			if err := h.tr.SetTargets(t.Context(), []checks.Target{tc.target}); err != nil {
				t.Fatal(err)
			}
			down := at(0)
			h.feed(t, "shop", 0, "F")
			for _, a := range tc.actions {
				h.now = down.Add(a.at)
				n := len(store.committed())
				var err error
				switch a.do {
				case "tick":
					err = h.tr.Tick(t.Context())
				case "ack":
					_, err = h.tr.Ack(t.Context(), "shop", 0, Ack{By: "bob"})
				case "unack":
					_, err = h.tr.Unack(t.Context(), "shop", "carol")
				}
				if err != nil {
					t.Fatalf("%s at %v: %v", a.do, a.at, err)
				}
				if got := eventsSince(store, n, down); !slices.Equal(got, a.want) {
					t.Errorf("%s at %v: events %+v, want %+v", a.do, a.at, got, a.want)
				}
			}
		})
	}
}

func TestTrackerTickMuteEndReleasesDOWN(t *testing.T) {
	store := newMemStore()
	tg := timedTarget(10*time.Minute, 0, 0)
	h := newHarness(t, store, tg)
	h.now = at(0)
	if _, err := h.tr.Mute(t.Context(), "shop", at(0).Add(time.Hour), "alice"); err != nil {
		t.Fatal(err)
	}
	h.feed(t, "shop", 30, "F") // at(30) = 5 min in: quiet DOWN
	n := len(store.committed())
	// While muted: no reminder, no release.
	h.now = at(0).Add(50 * time.Minute)
	if err := h.tr.Tick(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := eventsSince(store, n, at(0)); len(got) != 0 {
		t.Fatalf("events while muted: %+v", got)
	}
	// The mute ends with the target still down: UNMUTE on the console,
	// then the DOWN goes out to chat.
	h.now = at(0).Add(time.Hour)
	if err := h.tr.Tick(t.Context()); err != nil {
		t.Fatal(err)
	}
	want := []tickEvent{{time.Hour, EventUnmute, "tocsin", false}, {time.Hour, EventDown, "", true}}
	if got := eventsSince(store, n, at(0)); !slices.Equal(got, want) {
		t.Fatalf("at the mute's end: %+v, want %+v", got, want)
	}
	if b := lastEventBatch(t, store); !slices.Equal(b.Notifiers, []string{"slack"}) {
		t.Errorf("the released DOWN went to %v: the console printed it when it happened", b.Notifiers)
	}
	st := mustGet(t, h.tr, "shop")
	if !st.MutedUntil.IsZero() {
		t.Errorf("MutedUntil = %v after the mute ended", st.MutedUntil)
	}
	if inc, _ := store.incident(st.IncidentID); inc.Quiet || !inc.ClockAt.Equal(h.now) {
		t.Errorf("incident after release = %+v, want announced with its clock at the release", inc)
	}
	var down Event
	for _, ev := range store.events() {
		if ev.Kind == EventDown && ev.Time.Equal(h.now) {
			down = ev
		}
	}
	if down.Reason == "" || down.IncidentID != st.IncidentID || !down.Since.Equal(at(30)) {
		t.Errorf("released DOWN = %+v", down)
	}
	// Reminders count from the release; the recovery goes to chat.
	n = len(store.committed())
	h.now = at(0).Add(70 * time.Minute)
	if err := h.tr.Tick(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := eventsSince(store, n, at(0)); !slices.Equal(got, []tickEvent{{70 * time.Minute, EventRemind, "", true}}) {
		t.Errorf("after the release: %+v, want one reminder", got)
	}
	h.feed(t, "shop", 500, "O")
	if b := lastEventBatch(t, store); b.Events[0].Kind != EventUp || !slices.Equal(b.Notifiers, testNotifiers) {
		t.Errorf("recovery after the release went to %v", b.Notifiers)
	}
}

func TestTrackerTickMaintenanceWindow(t *testing.T) {
	store := newMemStore()
	h := newHarness(t, store)
	windowEnd := at(0).Add(30 * time.Minute)
	h.tr.opts.Held = func(tg checks.Target, now time.Time) (string, bool) {
		return "nightly", tg.Name == "shop" && now.Before(windowEnd)
	}
	if err := h.tr.SetTargets(t.Context(), []checks.Target{httpTarget("shop", 1, 1), httpTarget("db", 1, 1)}); err != nil {
		t.Fatal(err)
	}
	h.now = at(0)
	h.feed(t, "shop", 0, "F")
	h.feed(t, "db", 0, "F")
	evs := store.committed()
	for _, b := range evs {
		for _, ev := range b.Events {
			quiet := slices.Equal(b.Notifiers, []string{"console"})
			if ev.Target == "shop" && (!quiet || !strings.Contains(ev.Note, "muted")) {
				t.Errorf("DOWN of shop in its window went to %v with note %q", b.Notifiers, ev.Note)
			}
			if ev.Target == "db" && quiet {
				t.Errorf("DOWN of db, outside any window, was held")
			}
		}
	}
	n := len(store.committed())
	h.now = windowEnd
	if err := h.tr.Tick(t.Context()); err != nil {
		t.Fatal(err)
	}
	want := []tickEvent{{30 * time.Minute, EventDown, "", true}}
	if got := eventsSince(store, n, at(0)); !slices.Equal(got, want) {
		t.Errorf("at the window's end: %+v, want %+v", got, want)
	}
}

// TestTrackerTickSurvivesRestart: the reminder clock is kept with the
// incident, so a restart neither repeats a reminder nor forgets one.
func TestTrackerTickSurvivesRestart(t *testing.T) {
	store := newMemStore()
	tg := timedTarget(10*time.Minute, 0, 0)
	h := newHarness(t, store, tg)
	h.feed(t, "shop", 0, "F")
	h.now = at(0).Add(10 * time.Minute)
	if err := h.tr.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	h2 := newHarness(t, store, tg)
	n := len(store.committed())
	h2.now = at(0).Add(15 * time.Minute)
	if err := h2.tr.Tick(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := eventsSince(store, n, at(0)); len(got) != 0 {
		t.Errorf("after a restart 5 min past a reminder: %+v", got)
	}
	h2.now = at(0).Add(20 * time.Minute)
	if err := h2.tr.Tick(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := eventsSince(store, n, at(0)); !slices.Equal(got, []tickEvent{{20 * time.Minute, EventRemind, "", true}}) {
		t.Errorf("the next reminder after a restart: %+v", got)
	}
}

// TestTrackerFlapping: a target that keeps changing state gets one
// FLAPPING notice instead of a stream of DOWN and UP alerts; its changes
// still reach the console, marked (flapping); when it settles down, the
// notice says so and the outage it settled into is announced.
func TestTrackerFlapping(t *testing.T) {
	store := newMemStore()
	tg := httpTarget("shop", 1, 1)
	tg.FlapHigh, tg.FlapLow = 50, 25
	h := newHarness(t, store, tg)
	h.feed(t, "shop", 0, strings.Repeat("FO", 15)) // 30 results, 29 changes
	var chatDown, chatUp, localDown, flapStart, updates int
	var notice int64
	for _, b := range store.committed() {
		toChat := slices.Contains(b.Notifiers, "slack")
		for _, ev := range b.Events {
			switch {
			case ev.Kind == EventFlapping && toChat && ev.Phase == FlapStart:
				flapStart++
				if !strings.Contains(ev.Reason, "% of the last 21 checks") || ev.IncidentID >= 0 {
					t.Errorf("flapping notice %+v: want a reason and a negative notice key", ev)
				}
				notice = ev.IncidentID
			case ev.Kind == EventFlapping && toChat:
				if ev.Phase != FlapUpdate || ev.IncidentID != notice || ev.Count != updates+1 {
					t.Errorf("flapping update %+v after %d updates of notice %d", ev, updates, notice)
				}
				updates++
			case ev.Kind == EventDown && toChat:
				chatDown++
			case ev.Kind == EventUp && toChat:
				chatUp++
			case ev.Kind == EventDown:
				localDown++
				if ev.Note != "(flapping)" {
					t.Errorf("held DOWN note %q, want (flapping)", ev.Note)
				}
			}
		}
	}
	if flapStart != 1 {
		t.Errorf("%d FLAPPING notices, want 1", flapStart)
	}
	if chatDown > 6 || chatUp != chatDown || localDown < 8 {
		t.Errorf("chat saw %d DOWN and %d UP, the console alone %d DOWN: want a few before the notice, then quiet",
			chatDown, chatUp, localDown)
	}

	// It settles into an outage: the notice that flapping stopped, then
	// the DOWN, released by the next tick.
	n := len(store.committed())
	h.feed(t, "shop", 100, strings.Repeat("F", 21))
	h.now = at(200)
	if err := h.tr.Tick(t.Context()); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, b := range store.committed()[n:] {
		for _, ev := range b.Events {
			if slices.Contains(b.Notifiers, "slack") {
				got = append(got, string(ev.Kind)+" "+ev.Reason)
			}
		}
	}
	if len(got) != 3 || !strings.HasSuffix(got[0], "down now") ||
		!strings.HasPrefix(got[1], "FLAPPING stopped flapping after") || !strings.HasSuffix(got[1], "it is down") ||
		!strings.HasPrefix(got[2], "DOWN HTTP 503") {
		t.Errorf("after settling down, chat got %q: the last update, the end, the DOWN", got)
	}
}

// TestTrackerFlappingNoticeRetried: a flapping notice the store refused is
// decided again by the next result, not lost.
func TestTrackerFlappingNoticeRetried(t *testing.T) {
	store := newMemStore()
	tg := httpTarget("shop", 1, 1)
	tg.FlapHigh, tg.FlapLow = 50, 25
	h := newHarness(t, store, tg)
	refused := 0
	store.setCommitErr(func(b *Batch) error {
		for _, ev := range b.Events {
			if ev.Kind == EventFlapping && refused == 0 {
				refused++
				return errors.New("disk full")
			}
		}
		return nil
	})
	for i, c := range strings.Repeat("FO", 15) {
		_ = h.tr.Observe(t.Context(), result("shop", i, c == 'O'))
	}
	starts := 0
	for _, ev := range store.events() {
		if ev.Kind == EventFlapping && ev.Phase == FlapStart {
			starts++
		}
	}
	if refused != 1 || starts != 1 {
		t.Errorf("refused %d, notices committed %d: want the refused notice sent by a later result", refused, starts)
	}
}
