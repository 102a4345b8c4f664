package sqlite

import (
	"context"
	"fmt"
	"time"
)

// Prune applies the retention limits as of now, in one transaction: results
// older than KeepResults and beyond the KeepPerTarget newest of each target,
// hourly rollups of hours that began before now-KeepHourly, deliveries
// delivered before now-KeepDelivered, and then every event no delivery
// refers to any more, then incidents that ended before now-KeepIncidents
// and that no remaining event refers to, with their message refs.
// Undelivered deliveries (held or not), states and open incidents are
// never pruned. It returns how many rows it removed.
func (s *Store) Prune(ctx context.Context, now time.Time) (int, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("prune: %w", err)
	}
	defer tx.Rollback()
	total := 0
	exec := func(what, query string, args ...any) error {
		res, err := tx.ExecContext(ctx, query, args...)
		if err != nil {
			return fmt.Errorf("prune %s: %w", what, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("prune %s: %w", what, err)
		}
		total += int(n)
		return nil
	}

	if err := exec("old results", `DELETE FROM results WHERE time < ?`, now.Add(-s.opts.KeepResults).UnixNano()); err != nil {
		return 0, err
	}
	// Only the targets over the limit, each through its (target, time)
	// index, rather than numbering every row of the table.
	rows, err := tx.QueryContext(ctx, `SELECT target FROM results GROUP BY target HAVING count(*) > ?`, s.opts.KeepPerTarget)
	if err != nil {
		return 0, fmt.Errorf("prune results: %w", err)
	}
	var over []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return 0, fmt.Errorf("prune results: %w", err)
		}
		over = append(over, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("prune results: %w", err)
	}
	for _, t := range over {
		if err := exec("results of "+t, `DELETE FROM results WHERE target = ?1 AND id NOT IN
			(SELECT id FROM results WHERE target = ?1 ORDER BY time DESC, id DESC LIMIT ?2)`,
			t, s.opts.KeepPerTarget); err != nil {
			return 0, err
		}
	}

	if err := exec("rollups", `DELETE FROM hourly WHERE hour < ?`, now.Add(-s.opts.KeepHourly).UnixNano()); err != nil {
		return 0, err
	}
	if err := exec("deliveries", `DELETE FROM deliveries WHERE delivered_at IS NOT NULL AND delivered_at < ?`,
		now.Add(-s.opts.KeepDelivered).UnixNano()); err != nil {
		return 0, err
	}
	// Commit writes an event and its deliveries in one transaction, so an
	// event without deliveries is one whose deliveries all went above (or
	// one enqueued to no notifier at all).
	if err := exec("events", `DELETE FROM events
		WHERE NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = events.id)`); err != nil {
		return 0, err
	}
	// An incident with an event left still has a delivery to make or one
	// made recently: its ref may be needed (an UP edits the DOWN).
	if err := exec("incidents", `DELETE FROM incidents WHERE end_at != 0 AND end_at < ?
		AND NOT EXISTS (SELECT 1 FROM events e WHERE e.incident_id = incidents.id)`,
		now.Add(-s.opts.KeepIncidents).UnixNano()); err != nil {
		return 0, err
	}
	if err := exec("message refs", `DELETE FROM message_refs
		WHERE NOT EXISTS (SELECT 1 FROM incidents i WHERE i.id = message_refs.incident_id)`); err != nil {
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("prune: %w", err)
	}
	return total, nil
}

// RunPruner calls Prune with the store's clock once at the start and then
// every every (default 10 minutes), until ctx ends. Failures are logged and
// the loop goes on.
func (s *Store) RunPruner(ctx context.Context, every time.Duration) {
	if every <= 0 {
		every = 10 * time.Minute
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		n, err := s.Prune(ctx, s.opts.Now())
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			s.opts.Logger.Error("pruning the state file failed", "path", s.path, "err", err)
		case n > 0:
			s.opts.Logger.Debug("pruned the state file", "path", s.path, "rows", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
