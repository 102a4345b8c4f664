// Package metrics holds tocsin's Prometheus metrics on a registry passed in
// (never the default one): checks by kind and result, a latency histogram
// by kind, per-target up and last latency, alerts sent and failed by
// notifier, outbox depth and notifier health.
package metrics

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tocsin/tocsin/checks"
	"github.com/tocsin/tocsin/notify"
	"github.com/tocsin/tocsin/state"
)

// Sources are read at scrape time, so per-target series cost nothing
// between scrapes.
type Sources struct {
	// Targets returns every target's state (per-target up, last latency).
	Targets func() []state.TargetState
	// OutboxDepth counts undelivered deliveries per notifier.
	OutboxDepth func(ctx context.Context) (map[string]int, error)
}

// Metrics records what the daemon does.
type Metrics struct {
	reg *prometheus.Registry
}

// New registers tocsin's metrics on reg.
func New(reg *prometheus.Registry, src Sources) *Metrics {
	panic("unimplemented")
}

// Result counts one check result and observes its latency.
func (m *Metrics) Result(r checks.Result) {
	panic("unimplemented")
}

// Hooks returns the dispatcher hooks that count alerts and notifier health.
func (m *Metrics) Hooks() notify.Hooks {
	panic("unimplemented")
}
