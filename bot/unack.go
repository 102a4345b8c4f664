package bot

import (
	"context"
	"errors"
	"fmt"

	"github.com/tocsin/tocsin/state"
)

// handleUnack answers `unack TARGET`: the acknowledgement of TARGET's
// open incident is withdrawn, and reminders and escalation resume. The
// success is shown to the channel; refusals (not allowed, no such
// target, not down, not acknowledged) only to the user.
func (h *Handler) handleUnack(ctx context.Context, cmd Command) Reply {
	if !cmd.Allowed {
		return notAllowed(CmdUnack)
	}
	if len(cmd.Args) != 1 || cmd.Args[0] == "" {
		return usage(CmdUnack)
	}
	target := cmd.Args[0]
	ts, err := h.state.Unack(ctx, target, who(cmd))
	name := ts.Name
	if name == "" {
		name = quoteInput(target)
	}
	switch {
	case err == nil:
		h.log.Info("bot: unack", "target", name, "by", who(cmd), "platform", cmd.Platform, "user", cmd.User.ID)
		return Reply{Text: fmt.Sprintf("%s withdrew the acknowledgement of %s; reminders resume", who(cmd), name)}
	case errors.Is(err, state.ErrNotAcked):
		return refuse(name + " is not acknowledged")
	case errors.Is(err, state.ErrNotDown):
		return refuse(name + " is not down; there is no acknowledgement to withdraw")
	case errors.Is(err, state.ErrUnknownTarget):
		return refuse("tocsin has no target " + quoteInput(target))
	}
	h.log.Error("bot: unack failed", "target", target, "by", who(cmd), "platform", cmd.Platform, "err", err)
	return internalError()
}
