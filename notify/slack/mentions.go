package slack

import (
	"strings"

	"github.com/tocsin/tocsin/notify"
)

// MentionsFor returns how Slack mentions the on-call rotation: people maps
// a person's name to their Slack user id (U… or W…), escalate is
// oncall.escalate_to's Slack id, a user group (S…) or a user. The channel
// is mentioned with <!here>.
func MentionsFor(people map[string]string, escalate string) notify.Mentions {
	m := notify.Mentions{People: map[string]string{}, Everyone: "<!here>"}
	for name, id := range people {
		if id = strings.TrimSpace(id); id != "" {
			m.People[name] = mentionOf(id)
		}
	}
	if escalate = strings.TrimSpace(escalate); escalate != "" {
		m.Escalate = mentionOf(escalate)
	}
	return m
}

// mentionOf is the mention of a Slack id: a user group for S…, else a
// user.
func mentionOf(id string) string {
	if strings.HasPrefix(id, "S") {
		return "<!subteam^" + id + ">"
	}
	return "<@" + id + ">"
}
