package bot

import "fmt"

// noRotation is the answer to `oncall` without an on-call rotation.
const noRotation = "No on-call rotation is configured (oncall: in config.yaml)."

// handoffLayout is how /oncall shows the next handoff: in the rotation's
// time zone, which is how the rotation is written ("Mon 09:00").
const handoffLayout = "Mon 2006-01-02 15:04 MST"

// handleOncall answers `oncall`, in the channel: "On call now: alice
// (until Mon 2026-12-07 09:00 CET); next: bob", or, without a rotation,
// noRotation.
func (h *Handler) handleOncall(cmd Command) Reply {
	if len(cmd.Args) > 0 {
		return usage(CmdOncall)
	}
	cur, next, handoff, ok := h.settings().Oncall.At(h.now())
	if !ok {
		return Reply{Text: noRotation}
	}
	return Reply{Text: fmt.Sprintf("On call now: %s (until %s); next: %s",
		personName(cur.Name), handoff.Format(handoffLayout), personName(next.Name))}
}

// withOncall adds "on call: alice" to the overview of `status` (no
// target given) when there is an on-call rotation.
func (h *Handler) withOncall(cmd Command, r Reply) Reply {
	if len(cmd.Args) != 0 || r.Ephemeral {
		return r
	}
	cur, _, _, ok := h.settings().Oncall.At(h.now())
	if !ok {
		return r
	}
	line := "on call: " + personName(cur.Name)
	if r.Block == "" {
		r.Block = line
	} else {
		r.Block += "\n" + line
	}
	return r
}

// personName is a rotation member's name as replies show it: from the
// config, yet escaped like every other name a reply echoes, so that it
// cannot turn into a mention.
func personName(name string) string {
	return escapeMarkup(name)
}
