// Package web serves tocsin's HTTP side: /healthz, /metrics, /api/status and
// the status page, and mounts the chat adapters' handlers. It holds no state
// of its own: everything is read through Options at request time.
package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tocsin/tocsin/state"
)

// Options says where the handlers read from. Every func is called per
// request, never cached.
type Options struct {
	// Status returns every target's state in config order. Nil: no targets.
	Status func() []state.TargetState
	// Notifiers returns each notifier's health: "" healthy, else the error.
	// Nil: no notifiers.
	Notifiers func() map[string]string
	// Alive returns nil while the scheduler and the store work. Nil: always
	// alive.
	Alive func() error
	// Gatherer is what /metrics serves. Nil: /metrics is not served (404).
	Gatherer prometheus.Gatherer
	// Mount adds more handlers by pattern (chat endpoints), each registered
	// on the mux as is, e.g. "POST /slack/commands".
	Mount map[string]http.Handler
	// Logger gets errors that cannot reach the client. Nil: discarded.
	Logger *slog.Logger
}

// Handler returns the mux of every route:
//
//	GET /healthz            200 "ok", or 503 with Alive's error
//	GET /metrics            Prometheus exposition of Gatherer
//	GET /api/status         {"targets": [...], "notifiers": {...}}
//	GET /api/status/{name}  one target's object, or 404 {"error": "..."}
//	GET /{$}                the HTML status page
//
// plus every Options.Mount pattern. Other paths get 404 and a known path
// with the wrong method 405 (from http.ServeMux). Like http.ServeMux.Handle
// it panics when a Mount pattern is invalid or conflicts with a route: that
// is a wiring bug.
func Handler(opts Options) http.Handler {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &server{opts: opts, page: parsePage()}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz)
	if opts.Gatherer != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(opts.Gatherer, promhttp.HandlerOpts{
			ErrorLog: promLogger{opts.Logger},
			// A failing source (the outbox depth when the store is
			// locked) must not take the other series down with it.
			ErrorHandling: promhttp.ContinueOnError,
		}))
	}
	mux.HandleFunc("GET /api/status", s.apiStatus)
	mux.HandleFunc("GET /api/status/{name}", s.apiTarget)
	mux.HandleFunc("GET /{$}", s.statusPage)
	for pattern, h := range opts.Mount {
		mux.Handle(pattern, h)
	}
	return mux
}

// server holds the handlers' shared reading of Options; nothing mutable.
type server struct {
	opts Options
	page *template.Template
}

func (s *server) targets() []state.TargetState {
	if s.opts.Status == nil {
		return nil
	}
	return s.opts.Status()
}

func (s *server) notifiers() map[string]string {
	if s.opts.Notifiers == nil {
		return nil
	}
	return s.opts.Notifiers()
}

func (s *server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if s.opts.Alive != nil {
		if err := s.opts.Alive(); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, err.Error())
			return
		}
	}
	fmt.Fprintln(w, "ok")
}

func (s *server) apiStatus(w http.ResponseWriter, r *http.Request) {
	s.writeJSON(w, http.StatusOK, statusDoc(s.targets(), s.notifiers()))
}

func (s *server) apiTarget(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	for _, t := range s.targets() {
		if t.Name == name {
			s.writeJSON(w, http.StatusOK, targetDoc(t))
			return
		}
	}
	s.writeJSON(w, http.StatusNotFound, errorJSON{Error: fmt.Sprintf("unknown target %q", name)})
}

func (s *server) statusPage(w http.ResponseWriter, r *http.Request) {
	// Render into a buffer first so a template error becomes a clean 500
	// instead of half a page.
	var buf bytes.Buffer
	if err := s.page.Execute(&buf, pageData(s.targets(), s.notifiers())); err != nil {
		s.opts.Logger.Error("web: rendering the status page", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(buf.Bytes())
}

func (s *server) writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		s.opts.Logger.Error("web: encoding JSON", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write(append(b, '\n'))
}

// promLogger hands promhttp's errors to slog.
type promLogger struct{ l *slog.Logger }

func (p promLogger) Println(v ...any) {
	p.l.Error("web: serving /metrics", "err", fmt.Sprint(v...))
}
