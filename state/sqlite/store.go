package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/tocsin/tocsin/checks"
	"github.com/tocsin/tocsin/state"
)

const stateColumns = `name, kind, status, since, consec_fail, consec_ok, failing_since, last_check,
	last_error, last_latency_ns, incident_id, acked_by, acked_at, muted_until`

// Load returns every saved target state, by name, and the highest incident
// id in the store (0 when there is none).
func (s *Store) Load(ctx context.Context) (state.Loaded, error) {
	var l state.Loaded
	rows, err := s.r.QueryContext(ctx, `SELECT `+stateColumns+` FROM target_states ORDER BY name`)
	if err != nil {
		return l, fmt.Errorf("load states: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			ts                                  state.TargetState
			kind, status                        string
			since, lastCheck, ackedAt, mutedTil int64
			failing, latency                    int64
		)
		if err := rows.Scan(&ts.Name, &kind, &status, &since, &ts.ConsecFail, &ts.ConsecOK, &failing, &lastCheck,
			&ts.LastError, &latency, &ts.IncidentID, &ts.AckedBy, &ackedAt, &mutedTil); err != nil {
			return l, fmt.Errorf("load states: %w", err)
		}
		ts.Kind = checks.Kind(kind)
		ts.Status = state.Status(status)
		ts.Since = fromNanos(since)
		ts.FailingSince = fromNanos(failing)
		ts.LastCheck = fromNanos(lastCheck)
		ts.LastLatency = time.Duration(latency)
		ts.AckedAt = fromNanos(ackedAt)
		ts.MutedUntil = fromNanos(mutedTil)
		l.States = append(l.States, ts)
	}
	if err := rows.Err(); err != nil {
		return l, fmt.Errorf("load states: %w", err)
	}
	if err := s.r.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM incidents`).Scan(&l.LastIncidentID); err != nil {
		return l, fmt.Errorf("load last incident id: %w", err)
	}
	return l, nil
}

// Commit writes b in one transaction, all or nothing: States upserted by
// name, Removed states deleted, Results appended and added to their hourly
// rollups, Incidents upserted by id, and each Event inserted with one
// delivery per notifier in b.Notifiers (due at the event's time, or now when
// it has none). On success the events' IDs are set in b.Events; on error
// nothing is written and b is unchanged. A nil or empty batch is a no-op.
func (s *Store) Commit(ctx context.Context, b *state.Batch) error {
	if b == nil || b.Empty() {
		return nil
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	defer tx.Rollback()
	ids, err := s.write(ctx, tx, b)
	if err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	// Only now: a failed commit must not leave ids of rows that are not
	// there in the caller's events.
	for i, id := range ids {
		b.Events[i].ID = id
	}
	return nil
}

// write does Commit's statements in tx and returns the new event ids.
func (s *Store) write(ctx context.Context, tx *sql.Tx, b *state.Batch) ([]int64, error) {
	if len(b.States) > 0 {
		st, err := tx.PrepareContext(ctx, `INSERT INTO target_states (`+stateColumns+`)
			VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)
			ON CONFLICT (name) DO UPDATE SET kind=excluded.kind, status=excluded.status,
				since=excluded.since, consec_fail=excluded.consec_fail, consec_ok=excluded.consec_ok,
				failing_since=excluded.failing_since,
				last_check=excluded.last_check, last_error=excluded.last_error,
				last_latency_ns=excluded.last_latency_ns, incident_id=excluded.incident_id,
				acked_by=excluded.acked_by, acked_at=excluded.acked_at, muted_until=excluded.muted_until`)
		if err != nil {
			return nil, err
		}
		defer st.Close()
		for _, ts := range b.States {
			if _, err := st.ExecContext(ctx, ts.Name, string(ts.Kind), string(ts.Status), nanos(ts.Since),
				ts.ConsecFail, ts.ConsecOK, nanos(ts.FailingSince), nanos(ts.LastCheck), ts.LastError, int64(ts.LastLatency),
				ts.IncidentID, ts.AckedBy, nanos(ts.AckedAt), nanos(ts.MutedUntil)); err != nil {
				return nil, fmt.Errorf("state %q: %w", ts.Name, err)
			}
		}
	}
	if len(b.Removed) > 0 {
		st, err := tx.PrepareContext(ctx, `DELETE FROM target_states WHERE name = ?`)
		if err != nil {
			return nil, err
		}
		defer st.Close()
		for _, name := range b.Removed {
			if _, err := st.ExecContext(ctx, name); err != nil {
				return nil, fmt.Errorf("remove state %q: %w", name, err)
			}
		}
	}
	if len(b.Results) > 0 {
		if err := writeResults(ctx, tx, b.Results); err != nil {
			return nil, err
		}
	}
	if len(b.Incidents) > 0 {
		st, err := tx.PrepareContext(ctx, `INSERT INTO incidents
			(`+incidentColumns+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
			ON CONFLICT (id) DO UPDATE SET target=excluded.target, start=excluded.start,
				end_at=excluded.end_at, cause=excluded.cause, acked_by=excluded.acked_by,
				acked_at=excluded.acked_at, end_reason=excluded.end_reason,
				ack_reason=excluded.ack_reason, ack_platform=excluded.ack_platform, quiet=excluded.quiet,
				clock_at=excluded.clock_at, last_remind=excluded.last_remind, escalated=excluded.escalated,
				group_id=excluded.group_id, held_by=excluded.held_by, wait_until=excluded.wait_until`)
		if err != nil {
			return nil, err
		}
		defer st.Close()
		for _, in := range b.Incidents {
			if _, err := st.ExecContext(ctx, in.ID, in.Target, nanos(in.Start), nanos(in.End), in.Cause,
				in.AckedBy, nanos(in.AckedAt), in.EndReason, in.AckReason, in.AckPlatform, boolInt(in.Quiet),
				nanos(in.ClockAt), nanos(in.LastRemind), boolInt(in.Escalated),
				in.Group, in.HeldBy, nanos(in.WaitUntil)); err != nil {
				return nil, fmt.Errorf("incident %d: %w", in.ID, err)
			}
		}
	}
	if len(b.Events) == 0 {
		return nil, nil
	}
	ev, err := tx.PrepareContext(ctx, `INSERT INTO events
		(kind, target, target_kind, address, incident_id, time, since, reason, latency_ns, duration_ns, actor, note,
			cause, acked_by, acked_at, group_id, members, phase, count)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`)
	if err != nil {
		return nil, err
	}
	defer ev.Close()
	dl, err := tx.PrepareContext(ctx, `INSERT INTO deliveries (event_id, notifier, next_at) VALUES (?,?,?)`)
	if err != nil {
		return nil, err
	}
	defer dl.Close()
	now := s.opts.Now()
	ids := make([]int64, len(b.Events))
	for i, e := range b.Events {
		res, err := ev.ExecContext(ctx, string(e.Kind), e.Target, string(e.TargetKind), e.Address, e.IncidentID,
			nanos(e.Time), nanos(e.Since), e.Reason, int64(e.Latency), int64(e.Duration), e.Actor, e.Note,
			e.Cause, e.AckedBy, nanos(e.AckedAt), e.Group, membersJSON(e.Members), e.Phase, e.Count)
		if err != nil {
			return nil, fmt.Errorf("event %s %s: %w", e.Kind, e.Target, err)
		}
		if ids[i], err = res.LastInsertId(); err != nil {
			return nil, err
		}
		next := e.Time
		if next.IsZero() {
			next = now
		}
		for _, n := range b.Notifiers {
			if _, err := dl.ExecContext(ctx, ids[i], n, nanos(next)); err != nil {
				return nil, fmt.Errorf("delivery of event %s %s to %q: %w", e.Kind, e.Target, n, err)
			}
		}
	}
	return ids, nil
}

// membersJSON is an event's group as stored ("" for none).
func membersJSON(ms []state.GroupMember) string {
	if len(ms) == 0 {
		return ""
	}
	b, err := json.Marshal(ms)
	if err != nil {
		return "" // GroupMember holds nothing json cannot encode
	}
	return string(b)
}

// hourKey is a target's hour in the rollups.
type hourKey struct {
	target string
	hour   int64 // unix nanos of the hour's start
}

type hourSum struct{ checks, failures, latency int64 }

func hourOf(t time.Time) int64 { return t.Truncate(time.Hour).UnixNano() }

// writeResults appends rs and adds them to the hourly rollups, summed per
// target and hour first so a big batch makes few upserts.
func writeResults(ctx context.Context, tx *sql.Tx, rs []checks.Result) error {
	st, err := tx.PrepareContext(ctx, `INSERT INTO results (target, kind, time, ok, latency_ns, reason,
		sent, received, loss, min_rtt_ns, avg_rtt_ns, max_rtt_ns, status_code, cert_expiry)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)`)
	if err != nil {
		return err
	}
	defer st.Close()
	sums := make(map[hourKey]*hourSum)
	var order []hourKey // map order is random; keep the upserts deterministic
	for _, r := range rs {
		if _, err := st.ExecContext(ctx, r.Target, string(r.Kind), nanos(r.Time), boolInt(r.OK), int64(r.Latency),
			r.Reason, r.Sent, r.Received, r.Loss, int64(r.MinRTT), int64(r.AvgRTT), int64(r.MaxRTT),
			r.StatusCode, nanos(r.CertExpiry)); err != nil {
			return fmt.Errorf("result of %q: %w", r.Target, err)
		}
		k := hourKey{r.Target, hourOf(r.Time)}
		h := sums[k]
		if h == nil {
			h = &hourSum{}
			sums[k] = h
			order = append(order, k)
		}
		h.checks++
		if !r.OK {
			h.failures++
		}
		h.latency += int64(r.Latency)
	}
	up, err := tx.PrepareContext(ctx, `INSERT INTO hourly (target, hour, checks, failures, latency_sum_ns)
		VALUES (?,?,?,?,?)
		ON CONFLICT (target, hour) DO UPDATE SET checks = checks + excluded.checks,
			failures = failures + excluded.failures, latency_sum_ns = latency_sum_ns + excluded.latency_sum_ns`)
	if err != nil {
		return err
	}
	defer up.Close()
	for _, k := range order {
		h := sums[k]
		if _, err := up.ExecContext(ctx, k.target, k.hour, h.checks, h.failures, h.latency); err != nil {
			return fmt.Errorf("rollup of %q: %w", k.target, err)
		}
	}
	return nil
}

const incidentColumns = `id, target, start, end_at, cause, acked_by, acked_at, end_reason,
	ack_reason, ack_platform, quiet, clock_at, last_remind, escalated, group_id, held_by, wait_until`

func scanIncident(sc interface{ Scan(...any) error }) (state.Incident, error) {
	var (
		in                  state.Incident
		start, end, ackedAt int64
		quiet, lastRemind   int64
		escalated, clockAt  int64
		waitUntil           int64
	)
	err := sc.Scan(&in.ID, &in.Target, &start, &end, &in.Cause, &in.AckedBy, &ackedAt, &in.EndReason,
		&in.AckReason, &in.AckPlatform, &quiet, &clockAt, &lastRemind, &escalated,
		&in.Group, &in.HeldBy, &waitUntil)
	in.WaitUntil = fromNanos(waitUntil)
	in.Start, in.End, in.AckedAt = fromNanos(start), fromNanos(end), fromNanos(ackedAt)
	in.Quiet, in.LastRemind, in.Escalated = quiet != 0, fromNanos(lastRemind), escalated != 0
	in.ClockAt = fromNanos(clockAt)
	return in, err
}

// Incident returns incident id; ok is false when there is none.
func (s *Store) Incident(ctx context.Context, id int64) (state.Incident, bool, error) {
	in, err := scanIncident(s.r.QueryRowContext(ctx, `SELECT `+incidentColumns+` FROM incidents WHERE id = ?`, id))
	switch {
	case err == sql.ErrNoRows:
		return state.Incident{}, false, nil
	case err != nil:
		return state.Incident{}, false, fmt.Errorf("incident %d: %w", id, err)
	}
	return in, true, nil
}

// Incidents returns up to limit of target's incidents, newest (highest id)
// first. limit <= 0 means all.
func (s *Store) Incidents(ctx context.Context, target string, limit int) ([]state.Incident, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+incidentColumns+` FROM incidents
		WHERE target = ? ORDER BY id DESC LIMIT ?`, target, sqlLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("incidents of %q: %w", target, err)
	}
	defer rows.Close()
	var out []state.Incident
	for rows.Next() {
		in, err := scanIncident(rows)
		if err != nil {
			return nil, fmt.Errorf("incidents of %q: %w", target, err)
		}
		out = append(out, in)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("incidents of %q: %w", target, err)
	}
	return out, nil
}

// Recent returns up to limit of target's newest stored results, newest
// first, with every field the store keeps (all of checks.Result). limit <= 0
// means all.
func (s *Store) Recent(ctx context.Context, target string, limit int) ([]checks.Result, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT target, kind, time, ok, latency_ns, reason, sent, received,
		loss, min_rtt_ns, avg_rtt_ns, max_rtt_ns, status_code, cert_expiry
		FROM results WHERE target = ? ORDER BY time DESC, id DESC LIMIT ?`, target, sqlLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("results of %q: %w", target, err)
	}
	defer rows.Close()
	var out []checks.Result
	for rows.Next() {
		var (
			r                                   checks.Result
			kind                                string
			tm, lat, minR, avgR, maxR, certExpy int64
		)
		if err := rows.Scan(&r.Target, &kind, &tm, &r.OK, &lat, &r.Reason, &r.Sent, &r.Received,
			&r.Loss, &minR, &avgR, &maxR, &r.StatusCode, &certExpy); err != nil {
			return nil, fmt.Errorf("results of %q: %w", target, err)
		}
		r.Kind = checks.Kind(kind)
		r.Time = fromNanos(tm)
		r.Latency = time.Duration(lat)
		r.MinRTT, r.AvgRTT, r.MaxRTT = time.Duration(minR), time.Duration(avgR), time.Duration(maxR)
		r.CertExpiry = fromNanos(certExpy)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("results of %q: %w", target, err)
	}
	return out, nil
}

// Uptime counts target's checks and failures since since. Raw results are
// exact but pruned (by age and count), so the count is split at an hour
// boundary H: from H on, raw results, which cover everything after the
// oldest one kept; before H, the hourly rollups of whole hours that start at
// or after since. When since itself falls within the raw results' span the
// answer is exact; otherwise the hour in which since falls is left out
// (a partial hour is not counted whole).
func (s *Store) Uptime(ctx context.Context, target string, since time.Time) (checksRun, failures int, err error) {
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return 0, 0, fmt.Errorf("uptime of %q: %w", target, err)
	}
	// One read transaction: a Prune between the two queries must not make
	// rows vanish from both counts or neither.
	defer tx.Rollback()
	var oldest sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT min(time) FROM results WHERE target = ?`, target).Scan(&oldest); err != nil {
		return 0, 0, fmt.Errorf("uptime of %q: %w", target, err)
	}
	sinceN := nanos(since)
	if since.IsZero() {
		sinceN = -1 << 63
	}
	rawFrom := sinceN
	var rollTo int64 = -1 << 63 // rollups of hours before rollTo
	switch {
	case !oldest.Valid:
		rawFrom, rollTo = 1<<63-1, 1<<63-1 // no raw results: rollups only
	case sinceN < oldest.Int64:
		// H = the first hour boundary at or after the oldest raw result.
		h := time.Unix(0, oldest.Int64).Truncate(time.Hour)
		if h.UnixNano() < oldest.Int64 {
			h = h.Add(time.Hour)
		}
		rawFrom, rollTo = h.UnixNano(), h.UnixNano()
	}
	var raw, rawFail int
	if err := tx.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(ok = 0), 0) FROM results
		WHERE target = ? AND time >= ?`, target, rawFrom).Scan(&raw, &rawFail); err != nil {
		return 0, 0, fmt.Errorf("uptime of %q: %w", target, err)
	}
	var roll, rollFail int
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(sum(checks), 0), coalesce(sum(failures), 0) FROM hourly
		WHERE target = ? AND hour >= ? AND hour < ?`, target, sinceN, rollTo).Scan(&roll, &rollFail); err != nil {
		return 0, 0, fmt.Errorf("uptime of %q: %w", target, err)
	}
	return raw + roll, rawFail + rollFail, nil
}

// sqlLimit maps "no limit" (<= 0) to SQLite's LIMIT -1.
func sqlLimit(n int) int {
	if n <= 0 {
		return -1
	}
	return n
}
