package slack

import (
	"testing"

	"github.com/tocsin/tocsin/state"
)

func TestFlappingLines(t *testing.T) {
	tests := []struct {
		phase, reason, want string
	}{
		{state.FlapStart, "state changed in 52% of the last 21 checks", ":warning: shop is flapping: state changed in 52% of the last 21 checks"},
		{state.FlapUpdate, "7 state changes since 12:00:05 UTC; down now", ":warning: shop is flapping: 7 state changes since 12:00:05 UTC; down now"},
		{state.FlapEnd, "stopped flapping after 9 state changes; it is up", ":information_source: shop: stopped flapping after 9 state changes; it is up"},
	}
	for _, tc := range tests {
		ev := state.Event{Kind: state.EventFlapping, Target: "shop", Phase: tc.phase, Reason: tc.reason}
		if got := ReplyText(ev, false); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.phase, got, tc.want)
		}
	}
}
