package bot

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/tocsin/tocsin/checks"
	"github.com/tocsin/tocsin/config"
	"github.com/tocsin/tocsin/state"
)

// handleStatus answers `status` (counts and every target down or muted)
// and `status TARGET` (that target's detail).
func (h *Handler) handleStatus(cmd Command) Reply {
	switch len(cmd.Args) {
	case 0:
		return statusAll(h.state.Snapshot(), h.now())
	case 1:
		name := cmd.Args[0]
		for _, ts := range h.state.Snapshot() {
			if ts.Name == name {
				return statusOne(ts, h.target(name), h.now())
			}
		}
		return refuse(fmt.Sprintf("tocsin has no target %s", quoteInput(name)))
	}
	return usage(CmdStatus)
}

// target is the configured target named name, or nil.
func (h *Handler) target(name string) *checks.Target {
	set := h.settings()
	for i := range set.Targets {
		if set.Targets[i].Name == name {
			return &set.Targets[i]
		}
	}
	return nil
}

// statusAll is the overview: "5 targets: 3 up, 1 down, 1 unknown" and a
// block on every target down, then a line on every other one muted.
func statusAll(states []state.TargetState, now time.Time) Reply {
	if len(states) == 0 {
		return Reply{Text: "no targets configured"}
	}
	var up, down, unknown int
	var b strings.Builder
	for _, ts := range states {
		switch ts.Status {
		case state.StatusUp:
			up++
		case state.StatusDown:
			down++
		default:
			unknown++
		}
		if ts.Status != state.StatusDown {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "%s: down since %s\n", ts.Name, sinceText(ts.Since, now))
		if ts.LastError != "" {
			fmt.Fprintf(&b, "  last error: %s\n", ts.LastError)
		}
		fmt.Fprintf(&b, "  %s\n", ackText(ts))
		if ts.MutedUntil.After(now) {
			fmt.Fprintf(&b, "  muted until %s\n", untilText(ts.MutedUntil, now))
		}
	}
	var muted []string
	for _, ts := range states {
		if ts.Status != state.StatusDown && ts.MutedUntil.After(now) {
			muted = append(muted, fmt.Sprintf("%s until %s", ts.Name, untilText(ts.MutedUntil, now)))
		}
	}
	if len(muted) > 0 {
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "muted: %s\n", strings.Join(muted, "; "))
	}
	text := fmt.Sprintf("%d %s: %d up, %d down, %d unknown", len(states), plural(len(states), "target"), up, down, unknown)
	return Reply{Text: text, Block: strings.TrimSuffix(b.String(), "\n")}
}

// statusOne is one target's detail; t is its config, nil if unknown.
func statusOne(ts state.TargetState, t *checks.Target, now time.Time) Reply {
	var text string
	switch ts.Status {
	case state.StatusUp, state.StatusDown:
		text = fmt.Sprintf("%s is %s", ts.Name, ts.Status)
	default:
		text = ts.Name + " is not decided yet (unknown)"
	}
	var b strings.Builder
	row := func(k, v string) { fmt.Fprintf(&b, "%-11s %s\n", k+":", v) }
	if ts.Since.IsZero() {
		row("status", string(ts.Status))
	} else {
		row("status", fmt.Sprintf("%s since %s", ts.Status, sinceText(ts.Since, now)))
	}
	if t != nil {
		kind := string(t.Kind)
		if h := t.Host(); h != "" {
			kind += ", host " + h
		}
		row("check", kind)
	}
	if ts.LastCheck.IsZero() {
		row("last check", "never")
	} else {
		row("last check", fmt.Sprintf("%s (%s ago)", formatTime(ts.LastCheck), formatDuration(now.Sub(ts.LastCheck))))
		if ts.LastError != "" {
			row("last error", ts.LastError)
		} else {
			row("last error", "none")
		}
		row("latency", formatMillis(ts.LastLatency))
	}
	if ts.IncidentID != 0 {
		row("incident", fmt.Sprintf("#%d", ts.IncidentID))
		row("ack", strings.TrimPrefix(ackText(ts), "acked by "))
	} else {
		row("incident", "none")
	}
	if ts.MutedUntil.After(now) {
		row("mute", "until "+untilText(ts.MutedUntil, now))
	} else {
		row("mute", "not muted")
	}
	return Reply{Text: text, Block: strings.TrimSuffix(b.String(), "\n")}
}

// sinceText is "2026-11-25 12:00:00 UTC (2h 5m)": a moment and how long
// ago it was.
func sinceText(t, now time.Time) string {
	if t.IsZero() {
		return "an unknown time"
	}
	return fmt.Sprintf("%s (%s)", formatTime(t), formatDuration(now.Sub(t)))
}

// untilText is "2026-11-26 12:00:00 UTC (in 22h)".
func untilText(t, now time.Time) string {
	return fmt.Sprintf("%s (in %s)", formatTime(t), formatDuration(t.Sub(now)))
}

// ackText is `acked by alice at 2026-… on slack: "reason"` or "not
// acknowledged".
func ackText(ts state.TargetState) string {
	if ts.AckedBy == "" {
		return "not acknowledged"
	}
	text := "acked by " + ts.AckedBy
	if !ts.AckedAt.IsZero() {
		text += " at " + formatTime(ts.AckedAt)
	}
	if ts.AckPlatform != "" {
		text += " on " + ts.AckPlatform
	}
	if ts.AckReason != "" {
		text += `: "` + escapeMarkup(ts.AckReason) + `"`
	}
	return text
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

// handleAck answers `ack TARGET [REASON…]`, the Acknowledge button
// (cmd.Incident not 0: that incident only, whichever target it is of) and
// the Acknowledge all button (cmd.All too: every member of the group).
func (h *Handler) handleAck(ctx context.Context, cmd Command) Reply {
	if !cmd.Allowed {
		return notAllowed(CmdAck)
	}
	if cmd.All && cmd.Incident != 0 {
		return h.handleAckGroup(ctx, cmd)
	}
	var target string
	if cmd.Incident == 0 {
		if len(cmd.Args) == 0 || cmd.Args[0] == "" {
			return usage(CmdAck)
		}
		target = cmd.Args[0]
	}
	var reason string
	if len(cmd.Args) > 1 {
		reason = cleanReason(strings.Join(cmd.Args[1:], " "))
	}
	ack := state.Ack{By: who(cmd), Reason: reason, Platform: cmd.Platform}
	ts, err := h.state.Ack(ctx, target, cmd.Incident, ack)
	name := ts.Name
	if name == "" {
		name = quoteInput(target)
	}
	switch {
	case err == nil:
		h.log.Info("bot: ack", "target", ts.Name, "incident", cmd.Incident, "by", ack.By,
			"platform", cmd.Platform, "user", cmd.User.ID)
		var detail []string
		if ts.LastError != "" {
			detail = append(detail, ts.LastError)
		}
		if !ts.Since.IsZero() && ts.Status == state.StatusDown {
			detail = append(detail, "down since "+formatTime(ts.Since))
		}
		text := ack.By + " acknowledged " + name
		if len(detail) > 0 {
			text += " (" + strings.Join(detail, ", ") + ")"
		}
		if reason != "" {
			text += `: "` + escapeMarkup(reason) + `"`
		}
		return Reply{Text: text}
	case errors.Is(err, state.ErrAlreadyAcked):
		text := name + " is already acknowledged"
		if ts.AckedBy != "" {
			text = fmt.Sprintf("%s is already acknowledged by %s", name, ts.AckedBy)
			if !ts.AckedAt.IsZero() {
				text += " at " + formatTime(ts.AckedAt)
			}
		}
		return refuse(text)
	case errors.Is(err, state.ErrNotDown):
		return refuse(name + " is not down; there is nothing to acknowledge")
	case errors.Is(err, state.ErrUnknownTarget):
		if cmd.Incident != 0 && target == "" {
			return refuse("the target of that incident is no longer configured")
		}
		return refuse("tocsin has no target " + quoteInput(target))
	case errors.Is(err, state.ErrIncidentClosed):
		if ts.Name != "" {
			return refuse("that incident of " + ts.Name + " is over (recovered, or replaced by a newer one)")
		}
		return refuse("that incident is over (recovered, or replaced by a newer one)")
	}
	h.log.Error("bot: ack failed", "target", target, "incident", cmd.Incident, "by", ack.By,
		"platform", cmd.Platform, "err", err)
	return internalError()
}

// handleAckGroup answers the Acknowledge all button of a grouped alert:
// every unacknowledged open incident of the group whose leader is
// cmd.Incident. cmd.Allowed has been checked.
func (h *Handler) handleAckGroup(ctx context.Context, cmd Command) Reply {
	var reason string
	if len(cmd.Args) > 1 {
		reason = cleanReason(strings.Join(cmd.Args[1:], " "))
	}
	ack := state.Ack{By: who(cmd), Reason: reason, Platform: cmd.Platform}
	states, err := h.state.AckGroup(ctx, cmd.Incident, ack)
	switch {
	case err == nil:
		h.log.Info("bot: ack group", "leader", cmd.Incident, "targets", len(states), "by", ack.By,
			"platform", cmd.Platform, "user", cmd.User.ID)
		text := ack.By + " acknowledged the targets of that alert"
		if len(states) > 0 {
			text = fmt.Sprintf("%s acknowledged %d %s", ack.By, len(states), plural(len(states), "target"))
			if name := groupName(states, cmd.Incident); name != "" {
				text += " (" + name + "'s group)"
			}
		}
		if reason != "" {
			text += `: "` + escapeMarkup(reason) + `"`
		}
		return Reply{Text: text}
	case errors.Is(err, state.ErrAlreadyAcked):
		return refuse("every target of that alert is already acknowledged")
	case errors.Is(err, state.ErrIncidentClosed):
		return refuse("that alert's outage is over")
	}
	h.log.Error("bot: ack group failed", "leader", cmd.Incident, "by", ack.By,
		"platform", cmd.Platform, "err", err)
	return internalError()
}

// groupName is the name a group is shown by: its leader's target when the
// leader is among states, else the first state's.
func groupName(states []state.TargetState, leader int64) string {
	for _, ts := range states {
		if ts.IncidentID == leader && ts.Name != "" {
			return ts.Name
		}
	}
	if len(states) > 0 {
		return states[0].Name
	}
	return ""
}

// cleanReason is an ack's reason as recorded: control characters as
// spaces, at most maxReason characters.
func cleanReason(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if r := []rune(s); len(r) > maxReason {
		s = string(r[:maxReason]) + "…"
	}
	return s
}

// handleMute answers `mute TARGET DURATION`.
func (h *Handler) handleMute(ctx context.Context, cmd Command) Reply {
	if !cmd.Allowed {
		return notAllowed(CmdMute)
	}
	if len(cmd.Args) != 2 || cmd.Args[0] == "" {
		return usage(CmdMute)
	}
	target, dur := cmd.Args[0], cmd.Args[1]
	d, err := config.ParseDuration(dur)
	switch {
	case err != nil:
		return refuse(fmt.Sprintf("%s is not a duration; write it like 30m, 2h30m or 1d", quoteInput(dur)))
	case d <= 0:
		return refuse(fmt.Sprintf("%s: a mute must last longer than 0s", quoteInput(dur)))
	case d > maxMute:
		return refuse(fmt.Sprintf("%s: a mute may last at most 30d", quoteInput(dur)))
	}
	until := h.now().Add(d)
	ts, err := h.state.Mute(ctx, target, until, who(cmd))
	switch {
	case err == nil:
		h.log.Info("bot: mute", "target", target, "until", until, "by", who(cmd),
			"platform", cmd.Platform, "user", cmd.User.ID)
		if !ts.MutedUntil.IsZero() {
			until = ts.MutedUntil
		}
		return Reply{Text: fmt.Sprintf("%s muted %s until %s (%s)", who(cmd), target, formatTime(until), formatDuration(d))}
	case errors.Is(err, state.ErrUnknownTarget):
		return refuse("tocsin has no target " + quoteInput(target))
	}
	h.log.Error("bot: mute failed", "target", target, "until", until, "by", who(cmd),
		"platform", cmd.Platform, "err", err)
	return internalError()
}

// handleUnmute answers `unmute TARGET`.
func (h *Handler) handleUnmute(ctx context.Context, cmd Command) Reply {
	if !cmd.Allowed {
		return notAllowed(CmdUnmute)
	}
	if len(cmd.Args) != 1 || cmd.Args[0] == "" {
		return usage(CmdUnmute)
	}
	target := cmd.Args[0]
	_, err := h.state.Unmute(ctx, target, who(cmd))
	switch {
	case err == nil:
		h.log.Info("bot: unmute", "target", target, "by", who(cmd), "platform", cmd.Platform, "user", cmd.User.ID)
		return Reply{Text: fmt.Sprintf("%s unmuted %s", who(cmd), target)}
	case errors.Is(err, state.ErrNotMuted):
		return refuse(target + " is not muted")
	case errors.Is(err, state.ErrUnknownTarget):
		return refuse("tocsin has no target " + quoteInput(target))
	}
	h.log.Error("bot: unmute failed", "target", target, "by", who(cmd), "platform", cmd.Platform, "err", err)
	return internalError()
}
