// Package resultslog appends one JSON line per check result to a file, as
// the cron script's log did, and reopens it on demand (SIGHUP, logrotate).
package resultslog

import (
	"github.com/tocsin/tocsin/checks"
)

// Log is an open results log. Safe for concurrent use.
type Log struct {
	path string
}

// Open opens (creating, appending) the log at path.
func Open(path string) (*Log, error) {
	panic("unimplemented")
}

// Write appends r as one line: {"time","name","kind","ok","latency_ms","error",...}.
func (l *Log) Write(r checks.Result) error {
	panic("unimplemented")
}

// Reopen closes and reopens the file at the same path (after a rotation).
func (l *Log) Reopen() error {
	panic("unimplemented")
}

// Close closes the file.
func (l *Log) Close() error {
	panic("unimplemented")
}
