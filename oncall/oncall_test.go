package oncall

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/tocsin/tocsin/config"
)

func mustLoad(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("time zone %s: %v", name, err)
	}
	return loc
}

var (
	alice = config.Person{Name: "alice", Slack: "U0ALICE", Discord: "1111"}
	bob   = config.Person{Name: "bob", Slack: "U0BOB", Discord: "2222"}
	carol = config.Person{Name: "carol", Slack: "U0CAROL", Discord: "3333"}
)

func TestAt(t *testing.T) {
	berlin := mustLoad(t, "Europe/Berlin")
	three := &config.Oncall{TimeZone: "Europe/Berlin", Location: berlin, Handoff: "Mon 09:00",
		Rotation: []config.Person{alice, bob, carol}}
	// in is a wall-clock time in Berlin; utc one in UTC.
	in := func(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, berlin) }
	utc := func(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, time.UTC) }

	tests := []struct {
		name        string
		c           *config.Oncall
		t           time.Time
		cur, next   config.Person
		wantHandoff time.Time
	}{
		// Epoch: Monday 2024-01-01 09:00 CET, alice's first period.
		{"the epoch", three, in(2024, 1, 1, 9, 0), alice, bob, in(2024, 1, 8, 9, 0)},
		{"a minute before the epoch", three, in(2024, 1, 1, 8, 59), carol, alice, in(2024, 1, 1, 9, 0)},
		{"a week after the epoch", three, in(2024, 1, 8, 9, 0), bob, carol, in(2024, 1, 15, 9, 0)},

		// 2024-01-01 to 2026-11-30 is 152 weeks: 152 mod 3 = 2.
		{"the handoff minute: the new person", three, in(2026, 11, 30, 9, 0), carol, alice, in(2026, 12, 7, 9, 0)},
		{"a minute before the handoff", three, in(2026, 11, 30, 8, 59), bob, carol, in(2026, 11, 30, 9, 0)},
		{"a second before the handoff", three, in(2026, 11, 30, 9, 0).Add(-time.Second), bob, carol, in(2026, 11, 30, 9, 0)},
		{"mid-week", three, in(2026, 12, 2, 15, 30), carol, alice, in(2026, 12, 7, 9, 0)},
		{"the same moment given in UTC", three, utc(2026, 11, 30, 8, 0), carol, alice, in(2026, 12, 7, 9, 0)},

		// Spring: DST began Sunday 2026-03-29; the handoff on Monday
		// 2026-03-30 is at 09:00 CEST = 07:00 UTC, not 08:00 UTC (168h
		// after the one before, 09:00 CET = 08:00 UTC). 117 weeks: alice.
		{"spring: the handoff before the change", three, utc(2026, 3, 23, 8, 0), carol, alice, utc(2026, 3, 30, 7, 0)},
		{"spring: a minute before the handoff", three, utc(2026, 3, 30, 6, 59), carol, alice, utc(2026, 3, 30, 7, 0)},
		{"spring: the handoff at 09:00 CEST", three, utc(2026, 3, 30, 7, 0), alice, bob, in(2026, 4, 6, 9, 0)},
		{"spring: 168h after the last handoff", three, utc(2026, 3, 30, 8, 0), alice, bob, utc(2026, 4, 6, 7, 0)},

		// Autumn: DST ended Sunday 2026-10-25; the handoff on Monday
		// 2026-10-26 is at 09:00 CET = 08:00 UTC, not 07:00 UTC. 147
		// weeks: alice.
		{"autumn: the handoff before the change", three, utc(2026, 10, 19, 7, 0), carol, alice, utc(2026, 10, 26, 8, 0)},
		{"autumn: 168h after the last handoff", three, utc(2026, 10, 26, 7, 0), carol, alice, utc(2026, 10, 26, 8, 0)},
		{"autumn: a minute before the handoff", three, utc(2026, 10, 26, 7, 59), carol, alice, utc(2026, 10, 26, 8, 0)},
		{"autumn: the handoff at 09:00 CET", three, utc(2026, 10, 26, 8, 0), alice, bob, utc(2026, 11, 2, 8, 0)},
		{"autumn: the repeated hour of the change", three, utc(2026, 10, 25, 1, 30), carol, alice, utc(2026, 10, 26, 8, 0)},

		// Before the epoch the count is negative: -1 is carol, -2 bob.
		{"the day before the epoch", three, in(2023, 12, 31, 12, 0), carol, alice, in(2024, 1, 1, 9, 0)},
		{"the handoff before the epoch", three, in(2023, 12, 25, 9, 0), carol, alice, in(2024, 1, 1, 9, 0)},
		{"a minute before that", three, in(2023, 12, 25, 8, 59), bob, carol, in(2023, 12, 25, 9, 0)},
		{"52 weeks before the epoch", three, in(2023, 1, 2, 9, 0), carol, alice, in(2023, 1, 9, 9, 0)},
		// 1926-01-04 is 5113 weeks before the epoch: -5113 mod 3 = 2.
		{"a century before", three, in(1926, 1, 4, 9, 0), carol, alice, in(1926, 1, 11, 9, 0)},

		// Another handoff: the first Friday 17:30 at or after 2024-01-01
		// 00:00 UTC is 2024-01-05 17:30; names in any case, the default zone.
		{"friday handoff: the epoch", &config.Oncall{Handoff: "friday 17:30", Rotation: []config.Person{alice, bob}},
			utc(2024, 1, 5, 17, 30), alice, bob, utc(2024, 1, 12, 17, 30)},
		{"friday handoff: before the epoch", &config.Oncall{Handoff: "FRI 17:30", Rotation: []config.Person{alice, bob}},
			utc(2024, 1, 5, 17, 29), bob, alice, utc(2024, 1, 5, 17, 30)},
		{"midnight handoff: the epoch is 2024-01-01 00:00", &config.Oncall{Handoff: "Mon 00:00", TimeZone: "Europe/Berlin",
			Rotation: []config.Person{alice, bob}}, in(2024, 1, 1, 0, 0), alice, bob, in(2024, 1, 8, 0, 0)},
		{"no handoff given: Mon 09:00", &config.Oncall{Location: berlin, Rotation: []config.Person{alice, bob}},
			in(2024, 1, 1, 9, 0), alice, bob, in(2024, 1, 8, 9, 0)},

		{"one person: always", &config.Oncall{Location: berlin, Handoff: "Mon 09:00", Rotation: []config.Person{bob}},
			in(2026, 11, 30, 8, 59), bob, bob, in(2026, 11, 30, 9, 0)},
		{"one person: at the handoff", &config.Oncall{Location: berlin, Handoff: "Mon 09:00", Rotation: []config.Person{bob}},
			in(2026, 11, 30, 9, 0), bob, bob, in(2026, 12, 7, 9, 0)},
		{"one person: before the epoch", &config.Oncall{Location: berlin, Handoff: "Mon 09:00", Rotation: []config.Person{bob}},
			in(2020, 2, 29, 12, 0), bob, bob, in(2020, 3, 2, 9, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := New(tt.c)
			if r == nil {
				t.Fatal("New returned nil")
			}
			cur, next, handoff, ok := r.At(tt.t)
			if !ok {
				t.Fatal("ok false")
			}
			if cur != tt.cur || next != tt.next {
				t.Errorf("At(%s) = %s then %s, want %s then %s", tt.t, cur.Name, next.Name, tt.cur.Name, tt.next.Name)
			}
			if !handoff.Equal(tt.wantHandoff) {
				t.Errorf("handoff %s, want %s", handoff, tt.wantHandoff)
			}
			if want := r.loc; handoff.Location() != want {
				t.Errorf("handoff in %s, want %s", handoff.Location(), want)
			}
		})
	}
}

// TestCycle walks a three-person rotation week by week.
func TestCycle(t *testing.T) {
	berlin := mustLoad(t, "Europe/Berlin")
	r := New(&config.Oncall{Location: berlin, Handoff: "Mon 09:00", Rotation: []config.Person{alice, bob, carol}})
	// Week 0 begins 2026-11-30 09:00, 152 weeks after the epoch: carol.
	want := []string{"carol", "alice", "bob", "carol", "alice", "bob", "carol"}
	for w, name := range want {
		for _, offset := range []time.Duration{0, 26 * time.Hour, 6*24*time.Hour + 23*time.Hour + 59*time.Minute} {
			at := time.Date(2026, 11, 30+7*w, 9, 0, 0, 0, berlin).Add(offset)
			cur, next, handoff, _ := r.At(at)
			if cur.Name != name {
				t.Errorf("week %d (%s): %s on call, want %s", w, at, cur.Name, name)
			}
			if wantNext := want[(w+1)%3]; next.Name != wantNext {
				t.Errorf("week %d (%s): next %s, want %s", w, at, next.Name, wantNext)
			}
			if wantH := time.Date(2026, 12, 7+7*w, 9, 0, 0, 0, berlin); !handoff.Equal(wantH) {
				t.Errorf("week %d (%s): handoff %s, want %s", w, at, handoff, wantH)
			}
		}
	}
}

// TestHandoffInvariants checks, at random moments over two centuries in a
// zone with DST, what must hold everywhere: the handoff is after t, at
// the handoff's weekday and wall-clock time, no more than 169 hours
// ahead; at the handoff the next person takes over; a nanosecond before
// it, the current one is still on call.
func TestHandoffInvariants(t *testing.T) {
	for _, zone := range []string{"Europe/Berlin", "America/New_York", "Australia/Sydney", "UTC"} {
		loc := mustLoad(t, zone)
		r := New(&config.Oncall{Location: loc, Handoff: "Mon 09:00", Rotation: []config.Person{alice, bob, carol}})
		rng := rand.New(rand.NewPCG(1, 2))
		lo := time.Date(1925, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
		hi := time.Date(2125, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
		for range 5000 {
			at := time.Unix(lo+rng.Int64N(hi-lo), rng.Int64N(1e9))
			cur, next, h, ok := r.At(at)
			if !ok {
				t.Fatal("ok false")
			}
			lh := h.In(loc)
			if !h.After(at) || h.Sub(at) > 169*time.Hour {
				t.Fatalf("%s: At(%s) handoff %s", zone, at, h)
			}
			if lh.Weekday() != time.Monday || lh.Hour() != 9 || lh.Minute() != 0 || lh.Second() != 0 {
				t.Fatalf("%s: At(%s) handoff %s is not Monday 09:00 local", zone, at, lh)
			}
			if c, _, _, _ := r.At(h); c != next {
				t.Fatalf("%s: at the handoff %s: %s on call, want %s", zone, h, c.Name, next.Name)
			}
			if c, _, h2, _ := r.At(h.Add(-time.Nanosecond)); c != cur || !h2.Equal(h) {
				t.Fatalf("%s: just before the handoff %s: %s (handoff %s), want %s", zone, h, c.Name, h2, cur.Name)
			}
		}
	}
}

func TestNobody(t *testing.T) {
	tests := []struct {
		name string
		c    *config.Oncall
	}{
		{"no oncall section", nil},
		{"nobody in the rotation", &config.Oncall{Handoff: "Mon 09:00"}},
		{"a handoff config.Load refuses", &config.Oncall{Handoff: "Mon 9:00", Rotation: []config.Person{alice}}},
		{"a weekday config.Load refuses", &config.Oncall{Handoff: "Mo 09:00", Rotation: []config.Person{alice}}},
		{"a time zone that does not load", &config.Oncall{TimeZone: "Mars/Olympus", Handoff: "Mon 09:00", Rotation: []config.Person{alice}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := New(tt.c)
			if r != nil {
				t.Fatalf("New = %+v, want nil", r)
			}
			cur, next, h, ok := r.At(time.Now())
			if ok || cur != (config.Person{}) || next != (config.Person{}) || !h.IsZero() {
				t.Errorf("nil rotation: At = %+v %+v %s %v, want nobody", cur, next, h, ok)
			}
		})
	}
}

// TestNewCopies: a rotation does not change when the config it came from
// does (a reload builds a new one).
func TestNewCopies(t *testing.T) {
	c := &config.Oncall{Handoff: "Mon 09:00", Rotation: []config.Person{alice, bob}}
	r := New(c)
	c.Rotation[0] = carol
	c.Handoff = "Tue 10:00"
	at := time.Date(2024, 1, 1, 9, 0, 0, 0, time.UTC)
	if cur, _, h, _ := r.At(at); cur != alice || !h.Equal(at.AddDate(0, 0, 7)) {
		t.Errorf("At = %s, %s after the config changed", cur.Name, h)
	}
}
