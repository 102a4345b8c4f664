// Package metrics holds tocsin's Prometheus metrics on a registry passed in
// (never the default one): checks by kind and result, a latency histogram
// by kind, per-target up and last latency, alerts sent and failed by
// notifier, outbox depth and notifier health.
package metrics

import (
	"context"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/tocsin/tocsin/checks"
	"github.com/tocsin/tocsin/notify"
	"github.com/tocsin/tocsin/state"
)

// Sources are read at scrape time, so per-target series cost nothing
// between scrapes. Every field is optional: the series of a nil func are
// simply not exported.
type Sources struct {
	// Targets returns every target's state (per-target up, last latency,
	// counts by status).
	Targets func() []state.TargetState
	// OutboxDepth counts undelivered deliveries per notifier. An error makes
	// the scrape report an invalid metric (the rest of the scrape is still
	// gathered).
	OutboxDepth func(ctx context.Context) (map[string]int, error)
	// Skipped counts the scheduled checks skipped since start because the
	// previous run of the same target was still going or the concurrency
	// cap was reached (tocsin_checks_skipped_total).
	Skipped func() uint64
	// DepthTimeout bounds one OutboxDepth call during a scrape; 0 means 5s.
	DepthTimeout time.Duration
}

// Metrics records what the daemon does. Its methods are safe for
// concurrent use.
type Metrics struct {
	checks   *prometheus.CounterVec
	duration *prometheus.HistogramVec
	sent     *prometheus.CounterVec
	failed   *prometheus.CounterVec
	healthy  *prometheus.GaugeVec
}

// durationBuckets returns the buckets of tocsin_check_duration_seconds: a
// loopback TCP connect takes ~100µs, a slow HTTP check runs into its
// timeout (30s at most in practice). A func, not a var, so no caller can
// change them for everyone.
func durationBuckets() []float64 {
	return []float64{
		0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
		0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
	}
}

// Results of tocsin_checks_total.
const (
	resultOK   = "ok"
	resultFail = "fail"
)

// New registers tocsin's metrics on reg, together with the Go runtime and
// process collectors. Like reg.MustRegister it panics when reg already holds
// a metric of the same name (New called twice on one registry): that is a
// wiring bug, not a runtime condition.
func New(reg *prometheus.Registry, src Sources) *Metrics {
	m := &Metrics{
		checks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tocsin_checks_total",
			Help: "Checks run, by kind and result (ok or fail).",
		}, []string{"kind", "result"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tocsin_check_duration_seconds",
			Help:    "Latency of checks by kind: ping average RTT, HTTP time to full response, TCP connect time.",
			Buckets: durationBuckets(),
		}, []string{"kind"}),
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tocsin_alerts_sent_total",
			Help: "Outbox deliveries completed, by notifier.",
		}, []string{"notifier"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tocsin_alerts_failed_total",
			Help: "Failed delivery attempts, by notifier and whether the error was permanent.",
		}, []string{"notifier", "permanent"}),
		healthy: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tocsin_notifier_healthy",
			Help: "1 while the notifier delivers, 0 after a permanent error.",
		}, []string{"notifier"}),
	}
	// Initialise every kind's series so that rate() works from the first
	// check on, instead of a series appearing out of nowhere.
	for _, k := range []checks.Kind{checks.KindPing, checks.KindHTTP, checks.KindTCP} {
		m.checks.WithLabelValues(string(k), resultOK)
		m.checks.WithLabelValues(string(k), resultFail)
	}
	reg.MustRegister(
		m.checks, m.duration, m.sent, m.failed, m.healthy,
		newSourceCollector(src),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// Result counts one check result and observes its latency.
func (m *Metrics) Result(r checks.Result) {
	res := resultFail
	if r.OK {
		res = resultOK
	}
	m.checks.WithLabelValues(string(r.Kind), res).Inc()
	m.duration.WithLabelValues(string(r.Kind)).Observe(r.Latency.Seconds())
}

// Hooks returns the dispatcher hooks that count alerts and notifier health.
func (m *Metrics) Hooks() notify.Hooks {
	return notify.Hooks{
		Sent: func(notifier string) {
			m.sent.WithLabelValues(notifier).Inc()
		},
		Failed: func(notifier string, permanent bool) {
			m.failed.WithLabelValues(notifier, strconv.FormatBool(permanent)).Inc()
		},
		Healthy: func(notifier string, healthy bool) {
			v := 0.0
			if healthy {
				v = 1
			}
			m.healthy.WithLabelValues(notifier).Set(v)
		},
	}
}

// sourceCollector exports the series read from Sources at scrape time.
type sourceCollector struct {
	src Sources

	targetUp      *prometheus.Desc
	targetLatency *prometheus.Desc
	targets       *prometheus.Desc
	outboxDepth   *prometheus.Desc
	skipped       *prometheus.Desc
}

func newSourceCollector(src Sources) *sourceCollector {
	return &sourceCollector{
		src: src,
		targetUp: prometheus.NewDesc("tocsin_target_up",
			"1 while the target is up, 0 while down; absent while not yet decided.",
			[]string{"target", "kind"}, nil),
		targetLatency: prometheus.NewDesc("tocsin_target_last_latency_seconds",
			"Latency of the target's last check; absent before its first check.",
			[]string{"target"}, nil),
		targets: prometheus.NewDesc("tocsin_targets",
			"Targets by status (up, down, unknown).",
			[]string{"status"}, nil),
		outboxDepth: prometheus.NewDesc("tocsin_outbox_depth",
			"Undelivered outbox deliveries per notifier, held ones included.",
			[]string{"notifier"}, nil),
		skipped: prometheus.NewDesc("tocsin_checks_skipped_total",
			"Scheduled checks skipped because the previous run was still going or the concurrency cap was reached.",
			nil, nil),
	}
}

// Describe implements prometheus.Collector. Only the descs of configured
// sources are sent, so the registry checks exactly what Collect emits.
func (c *sourceCollector) Describe(ch chan<- *prometheus.Desc) {
	if c.src.Targets != nil {
		ch <- c.targetUp
		ch <- c.targetLatency
		ch <- c.targets
	}
	if c.src.OutboxDepth != nil {
		ch <- c.outboxDepth
	}
	if c.src.Skipped != nil {
		ch <- c.skipped
	}
}

// Collect implements prometheus.Collector.
func (c *sourceCollector) Collect(ch chan<- prometheus.Metric) {
	if c.src.Targets != nil {
		c.collectTargets(ch)
	}
	if c.src.OutboxDepth != nil {
		c.collectDepth(ch)
	}
	if c.src.Skipped != nil {
		ch <- prometheus.MustNewConstMetric(c.skipped, prometheus.CounterValue, float64(c.src.Skipped()))
	}
}

func (c *sourceCollector) collectTargets(ch chan<- prometheus.Metric) {
	counts := map[state.Status]int{
		state.StatusUp:      0,
		state.StatusDown:    0,
		state.StatusUnknown: 0,
	}
	for _, t := range c.src.Targets() {
		st := t.Status
		switch st {
		case state.StatusUp:
			ch <- prometheus.MustNewConstMetric(c.targetUp, prometheus.GaugeValue, 1, t.Name, string(t.Kind))
		case state.StatusDown:
			ch <- prometheus.MustNewConstMetric(c.targetUp, prometheus.GaugeValue, 0, t.Name, string(t.Kind))
		default:
			// Unknown (or anything unexpected) counts as unknown and has
			// no up series: a 0 would page someone for a target nobody
			// has decided on yet.
			st = state.StatusUnknown
		}
		counts[st]++
		if !t.LastCheck.IsZero() {
			ch <- prometheus.MustNewConstMetric(c.targetLatency, prometheus.GaugeValue, t.LastLatency.Seconds(), t.Name)
		}
	}
	for st, n := range counts {
		ch <- prometheus.MustNewConstMetric(c.targets, prometheus.GaugeValue, float64(n), string(st))
	}
}

func (c *sourceCollector) collectDepth(ch chan<- prometheus.Metric) {
	timeout := c.src.DepthTimeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	// Collect has no context of its own; bound the store call so a stuck
	// database cannot hang every scrape.
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	depth, err := c.src.OutboxDepth(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.outboxDepth, err)
		return
	}
	for n, d := range depth {
		ch <- prometheus.MustNewConstMetric(c.outboxDepth, prometheus.GaugeValue, float64(d), n)
	}
}
