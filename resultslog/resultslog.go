// Package resultslog appends one JSON line per check result to a file, as
// the cron script's log did, and reopens it on demand (SIGHUP, logrotate).
package resultslog

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"sync"
	"time"

	"github.com/tocsin/tocsin/checks"
)

// TimeFormat is the layout of the "time" key: RFC 3339 in UTC with
// milliseconds, always the same width so the lines sort as text.
const TimeFormat = "2006-01-02T15:04:05.000Z07:00"

// Log is an open results log. Safe for concurrent use.
type Log struct {
	path string

	mu sync.Mutex
	f  *os.File // nil once closed
}

// Open opens (creating, appending) the log at path, mode 0644.
func Open(path string) (*Log, error) {
	f, err := open(path)
	if err != nil {
		return nil, err
	}
	return &Log{path: path, f: f}, nil
}

func open(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("results log: %w", err)
	}
	return f, nil
}

// line is one results-log line; the field order is the key order.
type line struct {
	Time       string  `json:"time"`
	Name       string  `json:"name"`
	Kind       string  `json:"kind"`
	OK         bool    `json:"ok"`
	LatencyMS  float64 `json:"latency_ms"`
	Error      string  `json:"error"`
	StatusCode int     `json:"status_code,omitempty"`
	// Ping detail: present when echoes were sent.
	Sent       *int     `json:"sent,omitempty"`
	Received   *int     `json:"received,omitempty"`
	Loss       *float64 `json:"loss,omitempty"`
	CertExpiry string   `json:"cert_expiry,omitempty"`
}

// Marshal renders r as its results-log line, with the newline: keys time,
// name, kind, ok, latency_ms (3 decimals), error ("" when ok), then
// status_code when there is one, sent, received and loss (percent, 3
// decimals) when echoes were sent, and cert_expiry (RFC 3339, UTC) when the
// check saw a TLS certificate.
func Marshal(r checks.Result) ([]byte, error) {
	l := line{
		Time:       r.Time.UTC().Format(TimeFormat),
		Name:       r.Target,
		Kind:       string(r.Kind),
		OK:         r.OK,
		LatencyMS:  round3(float64(r.Latency) / float64(time.Millisecond)),
		StatusCode: r.StatusCode,
	}
	if !r.OK {
		l.Error = r.Reason
	}
	if r.Sent > 0 {
		sent, received, loss := r.Sent, r.Received, round3(r.Loss)
		l.Sent, l.Received, l.Loss = &sent, &received, &loss
	}
	if !r.CertExpiry.IsZero() {
		l.CertExpiry = r.CertExpiry.UTC().Format(time.RFC3339)
	}
	b, err := json.Marshal(l)
	if err != nil {
		// Only a NaN or infinite float can get here.
		return nil, fmt.Errorf("results log: %w", err)
	}
	return append(b, '\n'), nil
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

// Write appends r as one line (see Marshal) in a single write call, so
// concurrent writers and readers never see half a line. It fails after
// Close, and with the file's error when the write fails.
func (l *Log) Write(r checks.Result) error {
	b, err := Marshal(r)
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return fmt.Errorf("results log %s: %w", l.path, os.ErrClosed)
	}
	if _, err := l.f.Write(b); err != nil {
		return fmt.Errorf("results log: %w", err)
	}
	return nil
}

// Reopen closes and reopens the file at the same path (after a rotation),
// creating it if it was moved away. The new file is opened before the old
// one is closed, so when opening fails the log keeps writing where it did
// and the error is returned. Reopen after Close opens the log again.
func (l *Log) Reopen() error {
	f, err := open(l.path)
	if err != nil {
		return err
	}
	l.mu.Lock()
	old := l.f
	l.f = f
	l.mu.Unlock()
	if old != nil {
		if err := old.Close(); err != nil {
			return fmt.Errorf("results log: closing the old file: %w", err)
		}
	}
	return nil
}

// Close closes the file. Closing a closed log does nothing.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	if err != nil && !errors.Is(err, os.ErrClosed) {
		return fmt.Errorf("results log: %w", err)
	}
	return nil
}
