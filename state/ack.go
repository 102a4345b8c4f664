package state

import "errors"

// Ack is one acknowledgement of an incident: who took it, why, and from
// where ("slack", "discord", "console").
type Ack struct {
	By       string
	Reason   string
	Platform string
}

// Errors of Tracker.Ack, Mute and Unmute. Their texts are safe to show a
// chat user as they are.
var (
	// ErrUnknownTarget: no configured target has that name.
	ErrUnknownTarget = errors.New("no such target")
	// ErrNotDown: the target has no open incident to acknowledge.
	ErrNotDown = errors.New("target is not down")
	// ErrAlreadyAcked: the open incident is acknowledged already; the
	// returned TargetState says by whom and when.
	ErrAlreadyAcked = errors.New("already acknowledged")
	// ErrIncidentClosed: the incident an Acknowledge button names is over
	// (recovered, or replaced by a newer one).
	ErrIncidentClosed = errors.New("that incident is over")
	// ErrNotMuted: Unmute of a target that is not muted.
	ErrNotMuted = errors.New("target is not muted")
)
