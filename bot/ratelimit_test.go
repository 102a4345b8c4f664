package bot

import (
	"testing"
	"time"
)

func TestRateLimiter(t *testing.T) {
	l := newRateLimiter()
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	alice := rateKey{"slack", "U0ALICE"}
	bob := rateKey{"slack", "U0BOB"}
	aliceOnDiscord := rateKey{"discord", "U0ALICE"}

	type step struct {
		at        time.Duration // after t0
		key       rateKey
		wantOK    bool
		wantRetry time.Duration
	}
	steps := []step{
		{0, alice, true, 0},
		{10 * time.Second, alice, true, 0},
		{20 * time.Second, alice, true, 0},
		{30 * time.Second, alice, true, 0},
		{40 * time.Second, alice, true, 0},
		// The 6th within a minute.
		{50 * time.Second, alice, false, 10 * time.Second},
		// Others are counted on their own.
		{50 * time.Second, bob, true, 0},
		{50 * time.Second, aliceOnDiscord, true, 0},
		// A refusal is not counted: the first hit leaves at 60s.
		{59 * time.Second, alice, false, time.Second},
		{60 * time.Second, alice, true, 0},
		{61 * time.Second, alice, false, 9 * time.Second},
		{70 * time.Second, alice, true, 0},
		// Long after, the whole window is free again.
		{10 * time.Minute, alice, true, 0},
	}
	for i, s := range steps {
		ok, retry := l.allow(s.key, t0.Add(s.at), 5, time.Minute)
		if ok != s.wantOK || retry != s.wantRetry {
			t.Errorf("step %d (%v %s): allow = %v, %v; want %v, %v", i, s.at, s.key.User, ok, retry, s.wantOK, s.wantRetry)
		}
	}
	// The sweep at 10m dropped bob and alice on discord.
	if len(l.hits) != 1 {
		t.Errorf("%d keys kept after the sweep, want 1: %v", len(l.hits), l.hits)
	}
}

// TestRateLimiterLowered: a limit lowered by a config reload counts the
// hits already recorded.
func TestRateLimiterLowered(t *testing.T) {
	l := newRateLimiter()
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	k := rateKey{"slack", "U1"}
	for i := range 3 {
		if ok, _ := l.allow(k, t0.Add(time.Duration(i)*time.Second), 5, time.Minute); !ok {
			t.Fatalf("hit %d refused", i)
		}
	}
	ok, retry := l.allow(k, t0.Add(3*time.Second), 2, time.Minute)
	// Two of three must leave: the second, at 1s, leaves at 61s.
	if ok || retry != 58*time.Second {
		t.Errorf("allow = %v, %v; want false, 58s", ok, retry)
	}
}
