package bot

import (
	"testing"
	"time"

	"github.com/tocsin/tocsin/state"
)

func TestAckText(t *testing.T) {
	at := time.Date(2026, 11, 25, 14, 5, 0, 0, time.UTC)
	tests := []struct {
		ts   state.TargetState
		want string
	}{
		{state.TargetState{}, "not acknowledged"},
		{state.TargetState{AckedBy: "alice"}, "acked by alice"},
		{state.TargetState{AckedBy: "alice", AckedAt: at, AckPlatform: "slack", AckReason: "on it"},
			`acked by alice at 2026-11-25 14:05:00 UTC on slack: "on it"`},
	}
	for _, tc := range tests {
		if got := ackText(tc.ts); got != tc.want {
			t.Errorf("ackText(%+v) = %q, want %q", tc.ts, got, tc.want)
		}
	}
}
