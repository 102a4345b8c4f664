// Package state decides whether a target is up or down and remembers it:
// the per-target state machine (Tracker) with failure and success
// thresholds, incidents, acks, mutes and history, and the Store interface
// that keeps them on disk. It knows nothing of Slack or Discord: a transition
// becomes an Event written to the outbox in the same transaction, and the
// notify package drains the outbox.
package state

import (
	"time"

	"github.com/tocsin/tocsin/checks"
)

// Status is a target's decided state.
type Status string

// The statuses. The strings are part of the contract (/api/status).
const (
	StatusUnknown Status = "unknown" // not yet decided
	StatusUp      Status = "up"
	StatusDown    Status = "down"
)

// EventKind names what happened. The strings are the console's EVENT word.
type EventKind string

// The event kinds.
const (
	EventDown     EventKind = "DOWN"
	EventUp       EventKind = "UP"
	EventAck      EventKind = "ACK"
	EventUnack    EventKind = "UNACK"
	EventRemind   EventKind = "REMIND"
	EventEscalate EventKind = "ESCALATE"
	EventMute     EventKind = "MUTE"
	EventUnmute   EventKind = "UNMUTE"
	EventFlapping EventKind = "FLAPPING"
	// EventRemoved closes the open incident of a target that a reload
	// removed from the config, so its alert does not stay red forever.
	EventRemoved EventKind = "REMOVED"
)

// Event is one thing to tell people about, as stored in the outbox.
type Event struct {
	ID         int64
	Kind       EventKind
	Target     string
	TargetKind checks.Kind
	// Address is what the target's check aims at (URL, host, host:port).
	Address    string
	IncidentID int64
	Time       time.Time // when it happened
	Since      time.Time // when the incident began
	// Reason: for DOWN what failed ("HTTP 503"); for ACK the ack's reason;
	// for UP and REMOVED empty or a note.
	Reason string
	// Latency of the check that caused the event, if any.
	Latency time.Duration
	// Duration of the outage, for UP and REMOVED.
	Duration time.Duration
	// Actor is who acknowledged or muted, when someone did.
	Actor string
	// Note is appended to the console line, e.g. "(muted)" or
	// "(held: router)".
	Note string
	// Cause is what failed when the incident began (the DOWN's reason),
	// carried by every event of the incident so that an edit of the alert
	// can still show it.
	Cause string
	// AckedBy and AckedAt are the incident's acknowledgement as it stood
	// when the event happened ("" and zero when none), so an edit made for
	// a later event (a recovery, a mute) keeps showing who took it.
	AckedBy string
	AckedAt time.Time
	// Group is the id of the incident whose alert this event's incident
	// shares (its group's leader: the first DOWN of a storm, or a parent
	// that is down), 0 when the incident has an alert of its own. A DOWN
	// with Group set and not equal to IncidentID joins the leader's alert
	// (an edit) instead of posting a new one.
	Group int64
	// Phase is, for a FLAPPING event, which part of the episode it is:
	// FlapStart (the notice is posted), FlapUpdate (the notice is edited
	// with Count state changes so far), FlapEnd (the notice shows the end,
	// and its thread says so). "" for other kinds.
	Phase string
	// Count is the number of state changes of a flapping episode so far.
	Count int
	// Members is the group as it stood when the event happened, leader
	// first, when Group is set: what a grouped alert shows ("12 targets
	// down: …"). It may be long (a 500-target storm): renderers summarise.
	Members []GroupMember
}

// The phases of a FLAPPING event.
const (
	FlapStart  = "start"
	FlapUpdate = "update"
	FlapEnd    = "end"
)

// GroupMember is one target of a grouped alert.
type GroupMember struct {
	Target     string
	IncidentID int64
	// Status is StatusDown while its outage lasts, StatusUp once over.
	Status  Status
	Cause   string
	Since   time.Time
	AckedBy string
	// HeldBy names the parent (depends_on) that is down and explains this
	// member's outage; "" for a member of a storm.
	HeldBy string
}

// Delivery is one event waiting in the outbox for one notifier.
type Delivery struct {
	ID       int64
	Notifier string
	Event    Event
	// Attempts made so far.
	Attempts int
	// Step counts the steps of a multi-step delivery already done (for an
	// UP: the thread reply, then the edit of the alert), so a retry does not
	// repeat a step that succeeded.
	Step      int
	NextAt    time.Time
	LastError string
}

// Incident is one outage of one target.
type Incident struct {
	ID      int64
	Target  string
	Start   time.Time
	End     time.Time // zero while open
	Cause   string
	AckedBy string
	AckedAt time.Time
	// AckReason and AckPlatform say why and from where ("slack",
	// "discord", "console") it was acknowledged.
	AckReason   string
	AckPlatform string
	// Quiet: the incident began while its target was muted or in a
	// maintenance window, so its DOWN went to the console only, and so do
	// its other events until the mute or window ends (then the DOWN goes
	// out and Quiet is cleared).
	Quiet bool
	// ClockAt is when the current unacknowledged stretch of the announced
	// outage began (the DOWN in chat, an unack): reminders and escalation
	// count from it. Zero while quiet.
	ClockAt time.Time
	// LastRemind is when the last reminder of the stretch went out.
	LastRemind time.Time
	// Escalated: the stretch's escalation went out.
	Escalated bool
	// Group is the incident whose alert this one shares (its group's
	// leader; its own id for a leader), 0 for an incident alone.
	Group int64
	// HeldBy names the parent whose outage explains this one (depends_on).
	HeldBy string
	// WaitUntil, while the incident is quiet, is how long it waits for a
	// failing parent to go down (group_wait): it then joins the parent's
	// alert, or its own DOWN goes out.
	WaitUntil time.Time
	// EndReason is "recovered" or "removed" once closed.
	EndReason string
}

// TargetState is what tocsin knows of one target now; it survives restarts.
type TargetState struct {
	Name       string
	Kind       checks.Kind
	Status     Status
	Since      time.Time // when Status last changed
	ConsecFail int
	ConsecOK   int
	// FailingSince is the time of the first failure of the current streak of
	// failures (zero after a success). It survives restarts so that an
	// incident opened after one starts when the failures did.
	FailingSince time.Time
	LastCheck    time.Time
	LastError    string
	LastLatency  time.Duration
	// IncidentID is the open incident, 0 when none.
	IncidentID int64
	AckedBy    string
	AckedAt    time.Time
	// AckReason and AckPlatform describe the ack (kept with the incident;
	// the target's state row does not store them).
	AckReason   string
	AckPlatform string
	MutedUntil  time.Time
}
