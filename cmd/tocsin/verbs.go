package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/tocsin/tocsin/checks"
	"github.com/tocsin/tocsin/config"
	"github.com/tocsin/tocsin/resultslog"
)

// loadConfig loads the config named by the flags and prints every problem
// to stderr, one a line, as DESIGN.md gives them.
func loadConfig(e *env, c *common) (*config.Config, bool) {
	cfg, err := config.Load(c.config, e.getenv)
	if err != nil {
		printConfigError(e, err)
		return nil, false
	}
	return cfg, true
}

func printConfigError(e *env, err error) {
	var ce *config.Error
	if errors.As(err, &ce) {
		for _, p := range ce.Problems {
			fmt.Fprintln(e.stderr, p.String())
		}
		return
	}
	fmt.Fprintln(e.stderr, err)
}

func cmdValidate(_ context.Context, e *env, c *common, _ []string) int {
	cfg, ok := loadConfig(e, c)
	if !ok {
		return exitBad
	}
	fmt.Fprintf(e.stdout, "%s: ok (%d targets)\n", c.config, len(cfg.Targets))
	return exitOK
}

// healthURL is the /healthz URL of a listen address; an unspecified host
// (":8080", "0.0.0.0:8080") is asked on loopback.
func healthURL(listen string) (string, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", fmt.Errorf("listen %q: %w", listen, err)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		if ip != nil && ip.To4() == nil {
			host = "::1"
		} else {
			host = "127.0.0.1"
		}
	}
	return "http://" + net.JoinHostPort(host, port) + "/healthz", nil
}

func cmdHealth(ctx context.Context, e *env, c *common, _ []string) int {
	cfg, ok := loadConfig(e, c)
	if !ok {
		return exitBad
	}
	u, err := healthURL(cfg.Listen)
	if err != nil {
		fmt.Fprintln(e.stderr, "tocsin health:", err)
		return exitBad
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		fmt.Fprintln(e.stderr, "tocsin health:", err)
		return exitBad
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintln(e.stderr, "tocsin health: not healthy:", err)
		return exitDown
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(e.stderr, "tocsin health: not healthy: %s\n", resp.Status)
		return exitDown
	}
	fmt.Fprintln(e.stdout, "ok")
	return exitOK
}

// newRunner builds the checker for cfg; ICMP is required only when a ping
// target exists, so an HTTP-only config runs without ICMP permissions.
func newRunner(cfg *config.Config, log *slog.Logger) (*checks.Runner, error) {
	return checks.New(checks.Options{
		Resolver:     checks.NewResolver(cfg.Resolver),
		Version:      tocsinVersion(),
		MaxICMP:      cfg.MaxConcurrent,
		PerCheckICMP: cfg.ICMPSocket == config.ICMPPerCheck,
		RequireICMP:  hasPing(cfg),
		Logger:       log,
	})
}

// hasPing reports whether cfg has a ping target.
func hasPing(cfg *config.Config) bool {
	for i := range cfg.Targets {
		if cfg.Targets[i].Kind == checks.KindPing {
			return true
		}
	}
	return false
}

// checkRow is one line of `tocsin check --json`.
type checkRow struct {
	Name      string  `json:"name"`
	Kind      string  `json:"kind"`
	Status    string  `json:"status"`
	LatencyMS float64 `json:"latency_ms"`
	Error     string  `json:"error"`
}

func cmdCheck(ctx context.Context, e *env, c *common, jsonOut bool) int {
	cfg, ok := loadConfig(e, c)
	if !ok {
		return exitBad
	}
	runner, err := newRunner(cfg, e.log)
	if err != nil {
		fmt.Fprintln(e.stderr, "tocsin check:", err)
		return exitBad
	}
	defer runner.Close()
	var rlog *resultslog.Log
	if cfg.ResultsLog != "" {
		if rlog, err = resultslog.Open(cfg.ResultsLog); err != nil {
			fmt.Fprintln(e.stderr, "tocsin check:", err)
			return exitBad
		}
		defer rlog.Close()
	}

	results := make([]checks.Result, len(cfg.Targets))
	sem := make(chan struct{}, max(cfg.MaxConcurrent, 1))
	var wg sync.WaitGroup
	for i := range cfg.Targets {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			results[i] = runner.Check(ctx, &cfg.Targets[i])
			if rlog != nil {
				if err := rlog.Write(results[i]); err != nil {
					e.log.Error("results log", "err", err)
				}
			}
		}()
	}
	wg.Wait()

	code := exitOK
	rows := make([]checkRow, len(results))
	for i, r := range results {
		rows[i] = checkRow{Name: r.Target, Kind: string(r.Kind), Status: "up", LatencyMS: ms(r.Latency), Error: r.Reason}
		if !r.OK {
			rows[i].Status = "down"
			code = exitDown
		}
	}
	if jsonOut {
		enc := json.NewEncoder(e.stdout)
		if err := enc.Encode(struct {
			Targets []checkRow `json:"targets"`
		}{rows}); err != nil {
			e.log.Error("writing JSON", "err", err)
		}
		return code
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TARGET\tKIND\tSTATUS\tLATENCY\tREASON")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Name, r.Kind, r.Status, fmtMS(r.LatencyMS), r.Error)
	}
	tw.Flush()
	return code
}

// ms converts a duration to milliseconds with microsecond precision.
func ms(d time.Duration) float64 {
	return float64(d.Microseconds()) / 1000
}

func fmtMS(v float64) string {
	if v == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f ms", v)
}

// pingOptions are the flags of `tocsin ping`.
type pingOptions struct {
	count    int
	timeout  time.Duration
	interval time.Duration
	resolver string
}

func (o *pingOptions) register(fs *flag.FlagSet) {
	fs.IntVar(&o.count, "count", 3, "echo requests to send")
	fs.DurationVar(&o.timeout, "timeout", time.Second, "wait for each reply")
	fs.DurationVar(&o.interval, "interval", time.Second, "between requests")
	fs.StringVar(&o.resolver, "resolver", "", "DNS server host:port (default: the system's)")
}

func cmdPing(ctx context.Context, e *env, _ *common, host string, o pingOptions) int {
	if err := checks.ValidHost(host); err != nil {
		fmt.Fprintln(e.stderr, "tocsin ping:", err)
		return exitBad
	}
	if o.count < 1 || o.count > 1000 {
		fmt.Fprintln(e.stderr, "tocsin ping: --count must be 1 to 1000")
		return exitBad
	}
	if o.timeout <= 0 || o.interval <= 0 {
		fmt.Fprintln(e.stderr, "tocsin ping: --timeout and --interval must be positive")
		return exitBad
	}
	if o.resolver != "" {
		if _, _, err := net.SplitHostPort(o.resolver); err != nil {
			fmt.Fprintf(e.stderr, "tocsin ping: --resolver %q: want host:port\n", o.resolver)
			return exitBad
		}
	}
	mode, err := checks.DetectICMP()
	if err != nil {
		fmt.Fprintln(e.stderr, "tocsin ping:", err)
		return exitBad
	}
	// The header waits for the first reply or the end, so a refused host
	// prints nothing on stdout.
	headed := false
	header := func(addr string) {
		if !headed {
			headed = true
			fmt.Fprintf(e.stdout, "PING %s (%s): %d echo requests\n", host, addr, o.count)
		}
	}
	stats, err := checks.PingHost(ctx, checks.NewResolver(o.resolver), mode, host, o.count, o.interval, o.timeout,
		func(r checks.Reply) {
			header(r.From)
			fmt.Fprintf(e.stdout, "%d bytes from %s: icmp_seq=%d ttl=%d time=%.3f ms\n",
				r.Size, r.From, r.Seq, r.TTL, float64(r.RTT.Microseconds())/1000)
		})
	if err != nil {
		fmt.Fprintln(e.stderr, "tocsin ping:", err)
		return exitBad
	}
	header(stats.Addr)
	fmt.Fprintf(e.stdout, "\n--- %s ping statistics ---\n", host)
	fmt.Fprintf(e.stdout, "%d packets transmitted, %d received, %g%% packet loss\n", stats.Sent, stats.Received, stats.Loss)
	if stats.Received == 0 {
		return exitDown
	}
	fmt.Fprintf(e.stdout, "rtt min/avg/max/mdev = %.3f/%.3f/%.3f/%.3f ms\n",
		ms(stats.MinRTT), ms(stats.AvgRTT), ms(stats.MaxRTT), ms(stats.StdDevRTT))
	return exitOK
}

// icmpSocketOf names how runner's ping checks send echoes, for the log.
func icmpSocketOf(runner *checks.Runner) string {
	if runner.SharedICMP() {
		return config.ICMPShared
	}
	return config.ICMPPerCheck
}
