package web

import (
	"time"

	"github.com/tocsin/tocsin/state"
)

// statusJSON is the body of GET /api/status. The field names are a
// contract (DESIGN.md "HTTP API"): extend, never rename.
type statusJSON struct {
	Targets   []targetJSON            `json:"targets"`
	Notifiers map[string]notifierJSON `json:"notifiers"`
}

// targetJSON is one target in /api/status and the body of
// /api/status/{name}. Optional values are pointers so that "none" is a
// literal null rather than "" or "0001-01-01T00:00:00Z".
type targetJSON struct {
	Name          string  `json:"name"`
	Kind          string  `json:"kind"`
	Status        string  `json:"status"`
	Since         *string `json:"since"`
	LastError     string  `json:"last_error"`
	LastLatencyMS float64 `json:"last_latency_ms"`
	AckedBy       *string `json:"acked_by"`
	MutedUntil    *string `json:"muted_until"`
	// Extensions.
	AckedAt     *string `json:"acked_at"`
	AckReason   *string `json:"ack_reason"`
	AckPlatform *string `json:"ack_platform"`
	IncidentID  *int64  `json:"incident_id"`
	LastCheck   *string `json:"last_check"`
}

type notifierJSON struct {
	Healthy bool   `json:"healthy"`
	Error   string `json:"error"`
}

type errorJSON struct {
	Error string `json:"error"`
}

// statusDoc builds the /api/status document; targets keep their order and
// both collections are empty (never null) when there is nothing.
func statusDoc(targets []state.TargetState, notifiers map[string]string) statusJSON {
	doc := statusJSON{
		Targets:   make([]targetJSON, 0, len(targets)),
		Notifiers: make(map[string]notifierJSON, len(notifiers)),
	}
	for _, t := range targets {
		doc.Targets = append(doc.Targets, targetDoc(t))
	}
	for name, msg := range notifiers {
		doc.Notifiers[name] = notifierJSON{Healthy: msg == "", Error: msg}
	}
	return doc
}

// targetDoc converts one target's state.
func targetDoc(t state.TargetState) targetJSON {
	status := t.Status
	if status != state.StatusUp && status != state.StatusDown {
		// The contract has three statuses; a zero Status is not decided.
		status = state.StatusUnknown
	}
	return targetJSON{
		Name:          t.Name,
		Kind:          string(t.Kind),
		Status:        string(status),
		Since:         rfc3339(t.Since),
		LastError:     t.LastError,
		LastLatencyMS: float64(t.LastLatency) / float64(time.Millisecond),
		AckedBy:       nonEmpty(t.AckedBy),
		MutedUntil:    rfc3339(t.MutedUntil),
		AckedAt:       rfc3339(t.AckedAt),
		AckReason:     nonEmpty(t.AckReason),
		AckPlatform:   nonEmpty(t.AckPlatform),
		IncidentID:    nonZero(t.IncidentID),
		LastCheck:     rfc3339(t.LastCheck),
	}
}

// rfc3339 formats t in UTC, or nil for the zero time.
func rfc3339(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format(time.RFC3339)
	return &s
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func nonZero(n int64) *int64 {
	if n == 0 {
		return nil
	}
	return &n
}
