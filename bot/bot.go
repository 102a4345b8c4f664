// Package bot answers chat commands the same way on every platform: a
// platform adapter (bot/slack, bot/discord) verifies and parses a request
// into a Command, the Handler decides, and the adapter renders the Reply in
// its platform's own form. The Handler holds the command logic (ping policy,
// rate limit, ack and unack, mute, status, who is on call); adapters hold
// none. It never posts alerts:
// an ack or mute goes to the state package, whose outbox edits the alerts.
package bot

import (
	"context"
	"time"

	"github.com/tocsin/tocsin/checks"
	"github.com/tocsin/tocsin/state"
)

// The command names a Command may carry.
const (
	CmdPing   = "ping"
	CmdStatus = "status"
	CmdAck    = "ack"
	CmdUnack  = "unack"
	CmdMute   = "mute"
	CmdUnmute = "unmute"
	CmdOncall = "oncall"
	CmdHelp   = "help"
)

// User is who gave a command.
type User struct {
	// ID is the platform's user id (Slack "U0123", a Discord snowflake).
	ID string
	// Name is what tocsin shows and records (the ack's "by").
	Name string
}

// Command is one chat command, parsed by an adapter.
type Command struct {
	// Platform is "slack" or "discord": recorded with acks, keys the rate
	// limit together with User.ID.
	Platform string
	// Name is one of the Cmd constants, or whatever the user typed when it
	// is none of them (the Handler answers with help).
	Name string
	// Args are the words after the name; for ack, Args[1:] is the reason.
	Args []string
	User User
	// Channel is where the command was given (platform id).
	Channel string
	// Allowed says the adapter found the user (and channel) permitted to
	// act: ping, ack, unack, mute and unmute are refused when it is false.
	// Status, oncall and help are open to everyone who can reach the bot.
	Allowed bool
	// Incident, when not 0, is the incident an Acknowledge button names:
	// the ack is for that incident only, not for whatever is open now.
	Incident int64
	// All, with Incident, acknowledges every member of that incident's
	// alert group (the Acknowledge all button of a grouped alert, whose
	// Incident is the group's leader) rather than that incident alone.
	All bool
}

// Reply is what the user sees. It carries no platform markup: adapters
// render Text as a paragraph and Block as preformatted (monospace) text.
type Reply struct {
	Text  string
	Block string
	// Ephemeral replies are shown only to the user who asked (refusals,
	// errors, help); the others are shown to the channel.
	Ephemeral bool
}

// Response is the Handler's answer to a Command: Now at once, and, when
// work remains that may outlast a platform's deadline (Slack and Discord
// give three seconds), Later, whose Reply the adapter sends as a
// follow-up (Slack's response_url, Discord's deferred response).
type Response struct {
	Now   Reply
	Later func(ctx context.Context) Reply
}

// State is what the Handler needs of the state package (*state.Tracker
// implements it).
type State interface {
	// Snapshot returns every target's state, in config order.
	Snapshot() []state.TargetState
	// Ack acknowledges the open incident of target (or, with incident not
	// 0, that incident only).
	Ack(ctx context.Context, target string, incident int64, ack state.Ack) (state.TargetState, error)
	// AckGroup acknowledges every unacknowledged open incident of the
	// alert group whose leader is incident leader, and returns the states
	// of the targets it acknowledged. Errors: state.ErrIncidentClosed
	// when no outage of the group is open, state.ErrAlreadyAcked (with
	// the group's states) when every member was acknowledged already, or
	// the store's.
	AckGroup(ctx context.Context, leader int64, ack state.Ack) ([]state.TargetState, error)
	// Unack withdraws the acknowledgement of target's open incident, by
	// by; reminders and escalation resume. Errors: state.ErrUnknownTarget,
	// state.ErrNotDown, state.ErrNotAcked, or the store's.
	Unack(ctx context.Context, target string, by string) (state.TargetState, error)
	// Mute holds target's alerts until until; Unmute ends a mute.
	Mute(ctx context.Context, target string, until time.Time, by string) (state.TargetState, error)
	Unmute(ctx context.Context, target string, by string) (state.TargetState, error)
}

// Pinger sends count ICMP echoes to host and calls onReply for each reply,
// as checks.PingHost does.
type Pinger func(ctx context.Context, host string, count int, onReply func(checks.Reply)) (checks.PingStats, error)
