package discord

import (
	"strings"

	"github.com/tocsin/tocsin/notify"
)

// MentionsFor returns how Discord mentions the on-call rotation: people
// maps a person's name to their Discord user id, escalateRole is
// oncall.escalate_to's Discord role id. The channel is mentioned with
// @here.
func MentionsFor(people map[string]string, escalateRole string) notify.Mentions {
	m := notify.Mentions{People: map[string]string{}, Everyone: "@here"}
	for name, id := range people {
		if id = strings.TrimSpace(id); id != "" {
			m.People[name] = "<@" + id + ">"
		}
	}
	if escalateRole = strings.TrimSpace(escalateRole); escalateRole != "" {
		m.Escalate = "<@&" + escalateRole + ">"
	}
	return m
}
