// Command httpserver is the benchmark's local HTTP target. It listens on
// loopback addresses only and serves two paths:
//
//	/ok    200 "ok" at once
//	/hang  nothing for 60 s, or until the client goes away (a check that
//	       times out)
//
// -addr takes one loopback host:port or a comma-separated list of them, so
// one process can stand in for a fleet of hosts (127.3.0.1:0,127.3.0.2:0,…).
// With -addrfile it writes the addresses it listens on, one a line, to that
// file once every listener is open, so bench/run.sh can start it on port 0
// and wait for the file instead of guessing free ports.
//
// With -stats it counts the TCP connections it accepted, the requests it
// served, and the most connections open (and idle between requests) at one
// time, and writes them to that file on SIGINT or SIGTERM as one line:
//
//	CONNECTIONS REQUESTS PEAK_OPEN PEAK_IDLE
//
// Requests per connection tell whether a client reuses its connections;
// the peaks tell whether it keeps an unbounded number of them open.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

// parseAddrs splits a comma-separated list of host:port and refuses any
// whose host is not a loopback IP address.
func parseAddrs(list string) ([]string, error) {
	var out []string
	for _, a := range strings.Split(list, ",") {
		a = strings.TrimSpace(a)
		host, _, err := net.SplitHostPort(a)
		if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
			// The benchmark must never listen beyond the machine.
			return nil, fmt.Errorf("-addr %q is not a loopback host:port", a)
		}
		out = append(out, a)
	}
	return out, nil
}

func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("httpserver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addrList := fs.String("addr", "127.0.0.1:0", "loopback `host:port` to listen on, or a comma-separated list")
	addrFile := fs.String("addrfile", "", "write the addresses listened on to this `file`, one a line")
	statsFile := fs.String("stats", "", "on exit, write \"CONNECTIONS REQUESTS PEAK_OPEN PEAK_IDLE\" to this `file`")
	hang := fs.Duration("hang", 60*time.Second, "how long /hang waits before answering")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	addrs, err := parseAddrs(*addrList)
	if err != nil {
		fmt.Fprintln(stderr, "httpserver:", err)
		return 2
	}

	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	var bound strings.Builder
	for _, a := range addrs {
		ln, err := net.Listen("tcp", a)
		if err != nil {
			fmt.Fprintln(stderr, "httpserver:", err)
			return 1
		}
		lns = append(lns, ln)
		bound.WriteString(ln.Addr().String() + "\n")
	}
	if *addrFile != "" {
		if err := writeFileAtomic(*addrFile, bound.String()); err != nil {
			fmt.Fprintln(stderr, "httpserver:", err)
			return 1
		}
	}

	st := newStats()
	srv := &http.Server{
		Handler:           st.count(newMux(*hang)),
		ReadHeaderTimeout: 10 * time.Second,
		ConnState:         st.connState,
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, len(lns))
	for _, ln := range lns {
		go func() { errc <- srv.Serve(ln) }()
	}
	code := 0
	select {
	case err := <-errc:
		fmt.Fprintln(stderr, "httpserver:", err)
		code = 1
	case <-ctx.Done():
	}
	// Hanging requests would hold Shutdown for up to -hang; a benchmark
	// server has nothing worth draining, so close at once.
	if err := srv.Close(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(stderr, "httpserver:", err)
		code = 1
	}
	if *statsFile != "" {
		if err := writeFileAtomic(*statsFile, st.line()); err != nil {
			fmt.Fprintln(stderr, "httpserver:", err)
			code = 1
		}
	}
	return code
}

// writeFileAtomic writes to a temporary name and renames, so a reader
// polling for the file never sees it half written.
func writeFileAtomic(path, text string) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(text), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// stats counts connections and requests. The counters are atomic because
// handlers run on many goroutines; the open and idle sets need the lock
// only to tell, on each state change, what the connection was before.
type stats struct {
	conns, requests atomic.Int64

	mu                 sync.Mutex
	state              map[net.Conn]http.ConnState
	open, idle         int
	peakOpen, peakIdle int
}

func newStats() *stats {
	return &stats{state: map[net.Conn]http.ConnState{}}
}

// connState is the http.Server's ConnState hook.
func (s *stats) connState(c net.Conn, cs http.ConnState) {
	if cs == http.StateNew {
		s.conns.Add(1)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	prev, known := s.state[c]
	if known && prev == http.StateIdle {
		s.idle--
	}
	switch cs {
	case http.StateClosed, http.StateHijacked:
		if known {
			s.open--
			delete(s.state, c)
		}
		return
	case http.StateIdle:
		s.idle++
		s.peakIdle = max(s.peakIdle, s.idle)
	}
	if !known {
		s.open++
		s.peakOpen = max(s.peakOpen, s.open)
	}
	s.state[c] = cs
}

// count wraps h to count the requests it serves.
func (s *stats) count(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		h.ServeHTTP(w, r)
	})
}

// line is what -stats writes.
func (s *stats) line() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return fmt.Sprintf("%d %d %d %d\n", s.conns.Load(), s.requests.Load(), s.peakOpen, s.peakIdle)
}

// newMux returns the handler for /ok and /hang; /hang waits for hang or for
// the request's context (the client hung up, or the server closed).
func newMux(hang time.Duration) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "ok")
	})
	mux.HandleFunc("/hang", func(w http.ResponseWriter, r *http.Request) {
		t := time.NewTimer(hang)
		defer t.Stop()
		select {
		case <-t.C:
			_, _ = io.WriteString(w, "late")
		case <-r.Context().Done():
		}
	})
	return mux
}
