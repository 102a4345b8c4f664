package sqlite

// applicationID marks a SQLite file as a tocsin state file ("tocs"), so
// Open refuses to migrate some other program's database into one.
const applicationID = 0x746f6373

// migrations are the schema steps in order; PRAGMA user_version counts how
// many of them a database has had. Each is applied in its own transaction
// together with the user_version bump, so a crash mid-migration leaves the
// previous version intact. Append only: never edit a step once released.
//
// Conventions: every time is INTEGER unix nanoseconds, 0 for the zero
// time.Time; every duration is INTEGER nanoseconds; booleans are 0/1.
// CHECK constraints reject rows no caller should write (an empty name, an
// incident id of 0), so a bad batch fails as a whole inside Commit.
var migrations = []string{
	// 1: the initial schema.
	`
CREATE TABLE target_states (
	name            TEXT    PRIMARY KEY CHECK (name <> ''),
	kind            TEXT    NOT NULL,
	status          TEXT    NOT NULL,
	since           INTEGER NOT NULL,
	consec_fail     INTEGER NOT NULL,
	consec_ok       INTEGER NOT NULL,
	failing_since   INTEGER NOT NULL,
	last_check      INTEGER NOT NULL,
	last_error      TEXT    NOT NULL,
	last_latency_ns INTEGER NOT NULL,
	incident_id     INTEGER NOT NULL,
	acked_by        TEXT    NOT NULL,
	acked_at        INTEGER NOT NULL,
	muted_until     INTEGER NOT NULL
) STRICT;

CREATE TABLE incidents (
	id         INTEGER PRIMARY KEY CHECK (id > 0),
	target     TEXT    NOT NULL CHECK (target <> ''),
	start      INTEGER NOT NULL,
	end_at     INTEGER NOT NULL,
	cause      TEXT    NOT NULL,
	acked_by   TEXT    NOT NULL,
	acked_at   INTEGER NOT NULL,
	end_reason TEXT    NOT NULL
) STRICT;
CREATE INDEX incidents_target ON incidents (target, id);

CREATE TABLE results (
	id          INTEGER PRIMARY KEY,
	target      TEXT    NOT NULL CHECK (target <> ''),
	kind        TEXT    NOT NULL,
	time        INTEGER NOT NULL,
	ok          INTEGER NOT NULL,
	latency_ns  INTEGER NOT NULL,
	reason      TEXT    NOT NULL,
	sent        INTEGER NOT NULL,
	received    INTEGER NOT NULL,
	loss        REAL    NOT NULL,
	min_rtt_ns  INTEGER NOT NULL,
	avg_rtt_ns  INTEGER NOT NULL,
	max_rtt_ns  INTEGER NOT NULL,
	status_code INTEGER NOT NULL,
	cert_expiry INTEGER NOT NULL
) STRICT;
CREATE INDEX results_target_time ON results (target, time);
CREATE INDEX results_time ON results (time);

CREATE TABLE hourly (
	target         TEXT    NOT NULL,
	hour           INTEGER NOT NULL,
	checks         INTEGER NOT NULL,
	failures       INTEGER NOT NULL,
	latency_sum_ns INTEGER NOT NULL,
	PRIMARY KEY (target, hour)
) STRICT, WITHOUT ROWID;
CREATE INDEX hourly_hour ON hourly (hour);

-- AUTOINCREMENT: an event id is never reused after Prune deletes the
-- newest events, so nothing keyed by an old id can meet a new event.
CREATE TABLE events (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	kind        TEXT    NOT NULL,
	target      TEXT    NOT NULL,
	target_kind TEXT    NOT NULL,
	address     TEXT    NOT NULL,
	incident_id INTEGER NOT NULL,
	time        INTEGER NOT NULL,
	since       INTEGER NOT NULL,
	reason      TEXT    NOT NULL,
	latency_ns  INTEGER NOT NULL,
	duration_ns INTEGER NOT NULL,
	actor       TEXT    NOT NULL,
	note        TEXT    NOT NULL
) STRICT;

CREATE TABLE deliveries (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	event_id     INTEGER NOT NULL REFERENCES events (id),
	notifier     TEXT    NOT NULL CHECK (notifier <> ''),
	attempts     INTEGER NOT NULL DEFAULT 0,
	step         INTEGER NOT NULL DEFAULT 0,
	next_at      INTEGER NOT NULL,
	held         INTEGER NOT NULL DEFAULT 0,
	last_error   TEXT    NOT NULL DEFAULT '',
	delivered_at INTEGER           -- NULL while in the queue
) STRICT;
CREATE INDEX deliveries_queue ON deliveries (notifier, event_id, id) WHERE delivered_at IS NULL;
CREATE INDEX deliveries_event ON deliveries (event_id);
CREATE INDEX deliveries_delivered ON deliveries (delivered_at) WHERE delivered_at IS NOT NULL;

CREATE TABLE message_refs (
	incident_id INTEGER NOT NULL,
	notifier    TEXT    NOT NULL,
	ref         TEXT    NOT NULL,
	PRIMARY KEY (incident_id, notifier)
) STRICT, WITHOUT ROWID;
`,
	// 2: the incident's cause and ack on every event (an edit of the alert
	// shows them), the ack's reason and platform, and quiet incidents (begun
	// while muted: never announced in chat).
	`
ALTER TABLE events ADD COLUMN cause TEXT NOT NULL DEFAULT '';
ALTER TABLE events ADD COLUMN acked_by TEXT NOT NULL DEFAULT '';
ALTER TABLE events ADD COLUMN acked_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE incidents ADD COLUMN ack_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE incidents ADD COLUMN ack_platform TEXT NOT NULL DEFAULT '';
ALTER TABLE incidents ADD COLUMN quiet INTEGER NOT NULL DEFAULT 0;
`,
	// 3: the clocks of reminders and escalation, kept across restarts;
	// alert groups (storms, dependencies): the incident whose alert an
	// incident shares, and each event's view of its group (JSON).
	`
ALTER TABLE incidents ADD COLUMN group_id INTEGER NOT NULL DEFAULT 0;
ALTER TABLE incidents ADD COLUMN held_by TEXT NOT NULL DEFAULT '';
ALTER TABLE incidents ADD COLUMN wait_until INTEGER NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN group_id INTEGER NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN members TEXT NOT NULL DEFAULT '';
ALTER TABLE events ADD COLUMN phase TEXT NOT NULL DEFAULT '';
ALTER TABLE events ADD COLUMN count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE incidents ADD COLUMN clock_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE incidents ADD COLUMN last_remind INTEGER NOT NULL DEFAULT 0;
ALTER TABLE incidents ADD COLUMN escalated INTEGER NOT NULL DEFAULT 0;
`,
}
