package slack

import (
	"strings"
	"testing"

	"github.com/tocsin/tocsin/state"
)

func TestMentionsFor(t *testing.T) {
	m := MentionsFor(map[string]string{"alice": "U0ALICE", "bob": ""}, "S0ONCALL")
	if m.People["alice"] != "<@U0ALICE>" || m.People["bob"] != "" || m.Escalate != "<!subteam^S0ONCALL>" || m.Everyone != "<!here>" {
		t.Errorf("MentionsFor = %+v", m)
	}
	if got := MentionsFor(nil, "U0CAROL").Escalate; got != "<@U0CAROL>" {
		t.Errorf("escalation to a user = %q", got)
	}
	// The reminder line carries the mention as a live Slack token.
	ev := state.Event{Kind: state.EventRemind, Target: "shop", Actor: "alice", Cause: "HTTP 503"}
	ev.Reason = m.For(ev)
	if line := ReplyText(ev, true); !strings.HasPrefix(line, "<@U0ALICE> Reminder: shop") {
		t.Errorf("reminder line %q", line)
	}
}
