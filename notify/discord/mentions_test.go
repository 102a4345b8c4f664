package discord

import (
	"testing"
)

func TestMentionsFor(t *testing.T) {
	m := MentionsFor(map[string]string{"alice": "1111", "bob": " "}, "3333")
	if m.People["alice"] != "<@1111>" || m.People["bob"] != "" || m.Escalate != "<@&3333>" || m.Everyone != "@here" {
		t.Errorf("MentionsFor = %+v", m)
	}
	if got := MentionsFor(nil, "").Escalate; got != "" {
		t.Errorf("no escalation role = %q", got)
	}
}
