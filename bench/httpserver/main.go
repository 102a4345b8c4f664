// Command httpserver is the benchmark's local HTTP target. It listens on a
// loopback address only and serves two paths:
//
//	/ok    200 "ok" at once
//	/hang  nothing for 60 s, or until the client goes away (a check that
//	       times out)
//
// With -addrfile it writes the address it listens on to that file once the
// listener is open, so bench/run.sh can start it on port 0 and wait for the
// file instead of guessing a free port.
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
	"syscall"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("httpserver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:0", "loopback `host:port` to listen on")
	addrFile := fs.String("addrfile", "", "write the address listened on to this `file`")
	hang := fs.Duration("hang", 60*time.Second, "how long /hang waits before answering")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	host, _, err := net.SplitHostPort(*addr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		// The benchmark must never listen beyond the machine.
		fmt.Fprintf(stderr, "httpserver: -addr %q is not a loopback host:port\n", *addr)
		return 2
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(stderr, "httpserver:", err)
		return 1
	}
	if *addrFile != "" {
		// Write to a temporary name and rename, so a reader polling for the
		// file never sees it half written.
		tmp := *addrFile + ".tmp"
		if err := os.WriteFile(tmp, []byte(ln.Addr().String()+"\n"), 0o644); err != nil {
			fmt.Fprintln(stderr, "httpserver:", err)
			return 1
		}
		if err := os.Rename(tmp, *addrFile); err != nil {
			fmt.Fprintln(stderr, "httpserver:", err)
			return 1
		}
	}

	srv := &http.Server{Handler: newMux(*hang), ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		fmt.Fprintln(stderr, "httpserver:", err)
		return 1
	case <-ctx.Done():
	}
	// Hanging requests would hold Shutdown for up to -hang; a benchmark
	// server has nothing worth draining, so close at once.
	if err := srv.Close(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(stderr, "httpserver:", err)
		return 1
	}
	return 0
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
