package discord

import (
	"strings"
	"testing"

	"github.com/tocsin/tocsin/state"
)

func TestFlappingLines(t *testing.T) {
	start := state.Event{Kind: state.EventFlapping, Target: "shop", Phase: state.FlapStart, Reason: "state changed in 52% of the last 21 checks"}
	if got := ReplyText(start, false); !strings.HasPrefix(got, "⚠️ shop is flapping: state changed in 52%") {
		t.Errorf("start: %q", got)
	}
	end := state.Event{Kind: state.EventFlapping, Target: "shop", Phase: state.FlapEnd, Reason: "stopped flapping after 9 state changes; it is up"}
	if got := ReplyText(end, false); !strings.HasPrefix(got, "ℹ️ shop: stopped flapping after 9 state changes") {
		t.Errorf("end: %q", got)
	}
}
