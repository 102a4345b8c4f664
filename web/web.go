// Package web serves tocsin's HTTP side: /healthz, /metrics, /api/status and
// the status page, and mounts the chat adapters' handlers. It holds no state
// of its own: everything is read through Options at request time.
package web

import (
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tocsin/tocsin/state"
)

// Options says where the handlers read from.
type Options struct {
	// Status returns every target's state in config order.
	Status func() []state.TargetState
	// Notifiers returns each notifier's health: "" healthy, else the error.
	Notifiers func() map[string]string
	// Alive returns nil while the scheduler and the store work.
	Alive    func() error
	Gatherer prometheus.Gatherer
	// Mount adds more handlers by pattern (chat endpoints).
	Mount  map[string]http.Handler
	Logger *slog.Logger
}

// Handler returns the mux of every route.
func Handler(opts Options) http.Handler {
	panic("unimplemented")
}
