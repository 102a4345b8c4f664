package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/tocsin/tocsin/checks"
	"github.com/tocsin/tocsin/state"
)

// Pending returns up to limit (<= 0: all) of notifier's deliveries that are
// neither delivered nor held, in queue order (event id, then delivery id),
// due or not, each with its event.
func (s *Store) Pending(ctx context.Context, notifier string, limit int) ([]state.Delivery, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT d.id, d.notifier, d.attempts, d.step, d.next_at, d.last_error,
			e.id, e.kind, e.target, e.target_kind, e.address, e.incident_id, e.time, e.since,
			e.reason, e.latency_ns, e.duration_ns, e.actor, e.note, e.cause, e.acked_by, e.acked_at, e.group_id, e.members, e.phase, e.count
		FROM deliveries d JOIN events e ON e.id = d.event_id
		WHERE d.notifier = ? AND d.delivered_at IS NULL AND d.held = 0
		ORDER BY d.event_id, d.id LIMIT ?`, notifier, sqlLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("pending for %q: %w", notifier, err)
	}
	defer rows.Close()
	var out []state.Delivery
	for rows.Next() {
		var (
			d                           state.Delivery
			e                           = &d.Event
			kind, tkind                 string
			next, tm, since, lat, durat int64
			ackedAt                     int64
			members                     string
		)
		if err := rows.Scan(&d.ID, &d.Notifier, &d.Attempts, &d.Step, &next, &d.LastError,
			&e.ID, &kind, &e.Target, &tkind, &e.Address, &e.IncidentID, &tm, &since,
			&e.Reason, &lat, &durat, &e.Actor, &e.Note, &e.Cause, &e.AckedBy, &ackedAt, &e.Group, &members, &e.Phase, &e.Count); err != nil {
			return nil, fmt.Errorf("pending for %q: %w", notifier, err)
		}
		d.NextAt = fromNanos(next)
		e.Kind = state.EventKind(kind)
		e.TargetKind = checks.Kind(tkind)
		e.Time, e.Since = fromNanos(tm), fromNanos(since)
		e.Latency, e.Duration = time.Duration(lat), time.Duration(durat)
		e.AckedAt = fromNanos(ackedAt)
		if members != "" {
			if err := json.Unmarshal([]byte(members), &e.Members); err != nil {
				return nil, fmt.Errorf("pending for %q: event %d: members: %w", notifier, e.ID, err)
			}
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pending for %q: %w", notifier, err)
	}
	return out, nil
}

// updateDelivery runs one UPDATE of delivery id (the last argument) and
// fails with ErrNotFound when there is no such delivery.
func (s *Store) updateDelivery(ctx context.Context, what string, query string, args ...any) error {
	id := args[len(args)-1]
	res, err := s.w.ExecContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("%s delivery %v: %w", what, id, err)
	}
	// SQLite counts every row the WHERE matched, changed or not, so 0 means
	// the row is not there.
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("%s delivery %v: %w", what, id, err)
	}
	if n == 0 {
		return fmt.Errorf("%s delivery %v: %w", what, id, ErrNotFound)
	}
	return nil
}

// StepDone records that the first step steps of delivery id are done. It
// fails with ErrNotFound for an unknown id.
func (s *Store) StepDone(ctx context.Context, id int64, step int) error {
	return s.updateDelivery(ctx, "step of", `UPDATE deliveries SET step = ? WHERE id = ?`, step, id)
}

// Delivered takes delivery id out of the queue, stamping it with the
// current time; the row stays as history until Prune. Delivering a delivered
// delivery again keeps its first time. It fails with ErrNotFound for an
// unknown id.
func (s *Store) Delivered(ctx context.Context, id int64) error {
	return s.updateDelivery(ctx, "mark delivered",
		`UPDATE deliveries SET delivered_at = coalesce(delivered_at, ?) WHERE id = ?`, nanos(s.opts.Now()), id)
}

// Retry schedules delivery id again at next, counting one attempt and
// keeping lastErr. It fails with ErrNotFound for an unknown id.
func (s *Store) Retry(ctx context.Context, id int64, next time.Time, lastErr string) error {
	return s.updateDelivery(ctx, "retry",
		`UPDATE deliveries SET attempts = attempts + 1, next_at = ?, last_error = ? WHERE id = ?`,
		nanos(next), lastErr, id)
}

// Hold keeps delivery id but hides it from Pending until Unhold, counting
// one attempt and keeping lastErr. It fails with ErrNotFound for an unknown
// id.
func (s *Store) Hold(ctx context.Context, id int64, lastErr string) error {
	return s.updateDelivery(ctx, "hold",
		`UPDATE deliveries SET held = 1, attempts = attempts + 1, last_error = ? WHERE id = ?`, lastErr, id)
}

// Unhold makes every held, undelivered delivery of notifier pending again.
func (s *Store) Unhold(ctx context.Context, notifier string) error {
	if _, err := s.w.ExecContext(ctx, `UPDATE deliveries SET held = 0
		WHERE notifier = ? AND held = 1 AND delivered_at IS NULL`, notifier); err != nil {
		return fmt.Errorf("unhold %q: %w", notifier, err)
	}
	return nil
}

// Ref returns the message reference notifier keeps for incident incidentID,
// "" when there is none.
func (s *Store) Ref(ctx context.Context, incidentID int64, notifier string) (string, error) {
	var ref string
	err := s.r.QueryRowContext(ctx, `SELECT ref FROM message_refs WHERE incident_id = ? AND notifier = ?`,
		incidentID, notifier).Scan(&ref)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("ref of incident %d on %q: %w", incidentID, notifier, err)
	}
	return ref, nil
}

// SetRef sets (replaces) the message reference of incident incidentID on
// notifier.
func (s *Store) SetRef(ctx context.Context, incidentID int64, notifier, ref string) error {
	if _, err := s.w.ExecContext(ctx, `INSERT INTO message_refs (incident_id, notifier, ref) VALUES (?,?,?)
		ON CONFLICT (incident_id, notifier) DO UPDATE SET ref = excluded.ref`, incidentID, notifier, ref); err != nil {
		return fmt.Errorf("set ref of incident %d on %q: %w", incidentID, notifier, err)
	}
	return nil
}

// Depth counts the undelivered deliveries of each notifier, held ones
// included. A notifier with an empty queue is absent from the map.
func (s *Store) Depth(ctx context.Context) (map[string]int, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT notifier, count(*) FROM deliveries
		WHERE delivered_at IS NULL GROUP BY notifier`)
	if err != nil {
		return nil, fmt.Errorf("outbox depth: %w", err)
	}
	defer rows.Close()
	out := make(map[string]int)
	for rows.Next() {
		var (
			n string
			c int
		)
		if err := rows.Scan(&n, &c); err != nil {
			return nil, fmt.Errorf("outbox depth: %w", err)
		}
		out[n] = c
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("outbox depth: %w", err)
	}
	return out, nil
}
