package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tocsin/tocsin/checks"
	"github.com/tocsin/tocsin/config"
	"github.com/tocsin/tocsin/metrics"
	"github.com/tocsin/tocsin/notify"
	"github.com/tocsin/tocsin/notify/console"
	"github.com/tocsin/tocsin/resultslog"
	"github.com/tocsin/tocsin/scheduler"
	"github.com/tocsin/tocsin/state"
	"github.com/tocsin/tocsin/state/sqlite"
	"github.com/tocsin/tocsin/web"
)

// swapChecker lets a reload replace the checker (a new resolver) under a
// running scheduler.
type swapChecker struct {
	p atomic.Pointer[checks.Runner]
}

func (s *swapChecker) Check(ctx context.Context, t *checks.Target) checks.Result {
	return s.p.Load().Check(ctx, t)
}

// daemon is `tocsin run` wired together. It holds no logic of its own:
// every decision is in the packages it wires.
type daemon struct {
	e       *env
	path    string
	cfg     *config.Config
	checker swapChecker
	store   *sqlite.Store
	tracker *state.Tracker
	sched   *scheduler.Scheduler
	disp    *notify.Dispatcher
	metrics *metrics.Metrics
	rlog    atomic.Pointer[resultslog.Log]
	// rlogPath is the path of the open results log ("" when none); only
	// the signal loop's goroutine touches it.
	rlogPath string

	// ctx outlives the scheduler: results still being recorded at shutdown
	// are written before the store closes.
	ctx context.Context

	dispMu     sync.Mutex
	dispCancel context.CancelFunc
	dispDone   chan struct{}

	// cfgp is the config in force, for readers outside the signal loop
	// (chat commands); cfg is the same, owned by the signal loop.
	cfgp atomic.Pointer[config.Config]
	// slack and discord are the chat notifiers, nil when off.
	slack, discord *swapNotifier
	// rules are the on-call rotation and maintenance windows in force.
	rules atomic.Pointer[rules]
}

// config returns the config in force.
func (d *daemon) config() *config.Config { return d.cfgp.Load() }

func cmdRun(ctx context.Context, e *env, c *common, _ []string) int {
	cfg, ok := loadConfig(e, c)
	if !ok {
		return exitBad
	}
	d := &daemon{e: e, path: c.config, cfg: cfg}
	d.cfgp.Store(cfg)
	return d.run(ctx)
}

func (d *daemon) run(parent context.Context) int {
	log := d.e.log
	// Signals first: a SIGHUP from logrotate or a SIGTERM while the state
	// file is being checked must not kill the process with the default
	// action. They wait in the channel until the loop below.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)

	runner, err := newRunner(d.cfg, log)
	if err != nil {
		fmt.Fprintln(d.e.stderr, "tocsin run:", err)
		return exitBad
	}
	d.checker.p.Store(runner)
	defer func() { d.checker.p.Load().Close() }()

	ctx, cancel := context.WithCancel(context.WithoutCancel(parent))
	defer cancel()
	d.ctx = ctx

	// The port before the state: a port in use is found before anything
	// is written (a startup may commit REMOVED events).
	ln, err := net.Listen("tcp", d.cfg.Listen)
	if err != nil {
		fmt.Fprintf(d.e.stderr, "tocsin run: listen: %v\n", err)
		return exitBad
	}
	defer ln.Close()

	d.store, err = sqlite.Open(ctx, d.cfg.State, sqlite.Options{Logger: log})
	if err != nil {
		fmt.Fprintln(d.e.stderr, "tocsin run:", err)
		return exitBad
	}
	defer d.store.Close()

	if d.cfg.ResultsLog != "" {
		l, err := resultslog.Open(d.cfg.ResultsLog)
		if err != nil {
			fmt.Fprintln(d.e.stderr, "tocsin run:", err)
			return exitBad
		}
		d.rlog.Store(l)
		d.rlogPath = d.cfg.ResultsLog
	}
	defer func() {
		if l := d.rlog.Load(); l != nil {
			l.Close()
		}
	}()

	rs, err := newRules(d.cfg)
	if err != nil {
		fmt.Fprintln(d.e.stderr, "tocsin run:", err)
		return exitBad
	}
	d.rules.Store(rs)
	notifiers := []notify.Notifier{console.New(d.e.stdout)}
	if d.cfg.Slack != nil {
		sn, err := newSlackNotifier(d.cfg, log)
		if err != nil {
			fmt.Fprintln(d.e.stderr, "tocsin run: slack:", err)
			return exitBad
		}
		d.slack = newSwap(sn)
		notifiers = append(notifiers, d.slack)
	}
	if d.cfg.Discord != nil {
		dn, err := newDiscordNotifier(d.cfg, log)
		if err != nil {
			fmt.Fprintln(d.e.stderr, "tocsin run: discord:", err)
			return exitBad
		}
		d.discord = newSwap(dn)
		notifiers = append(notifiers, d.discord)
	}
	names := make([]string, len(notifiers))
	for i, n := range notifiers {
		names[i] = n.Name()
	}
	reg := prometheus.NewRegistry()
	d.metrics = metrics.New(reg, metrics.Sources{
		Targets: func() []state.TargetState { return d.tracker.Snapshot() },
		OutboxDepth: func(ctx context.Context) (map[string]int, error) {
			depth, err := d.store.Depth(ctx)
			if err != nil {
				return nil, err
			}
			for _, n := range names { // an empty queue reads 0, not absent
				depth[n] += 0
			}
			return depth, nil
		},
		Skipped: func() uint64 { return d.sched.Stats().Skipped },
	})
	d.disp = notify.NewDispatcher(notify.Options{
		Outbox:    d.store,
		Notifiers: notifiers,
		Logger:    log,
		Hooks:     d.metrics.Hooks(),
		Secrets:   secretsOf(d.cfg),
		// Discord allows about five messages in five seconds a channel;
		// the Slack notifier paces its channel itself.
		MinInterval: map[string]time.Duration{"discord": time.Second},
		Grouped:     map[string]bool{"slack": true, "discord": true},
	})
	d.tracker, err = state.NewTracker(ctx, state.TrackerOptions{
		Store:     d.store,
		Notifiers: names,
		Local:     []string{names[0]},
		Held:      d.held,
		Oncall:    d.oncallAt,
		Logger:    log,
		OnEvent:   d.disp.Wake,
	})
	if err != nil {
		fmt.Fprintln(d.e.stderr, "tocsin run:", err)
		return exitBad
	}
	if err := d.tracker.SetTargets(ctx, d.cfg.Targets); err != nil {
		fmt.Fprintln(d.e.stderr, "tocsin run:", err)
		return exitBad
	}

	d.sched = scheduler.New(scheduler.Options{
		Checker:       &d.checker,
		Sink:          d.record,
		MaxConcurrent: d.cfg.MaxConcurrent,
		Logger:        log,
		Epoch:         d.e.started,
	})
	if err := d.sched.SetTargets(d.cfg.Targets); err != nil {
		fmt.Fprintln(d.e.stderr, "tocsin run:", err)
		return exitBad
	}

	chatSide, err := d.newChat(d.cfg, log)
	if err != nil {
		fmt.Fprintln(d.e.stderr, "tocsin run:", err)
		return exitBad
	}
	srv := &http.Server{
		Handler: web.Handler(web.Options{
			Status:    d.tracker.Snapshot,
			Notifiers: d.disp.Health,
			Alive:     d.alive,
			Gatherer:  reg,
			Mount:     chatSide.mount,
			Logger:    log,
		}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	var bg sync.WaitGroup // the server and the pruner, waited for before the store closes
	defer bg.Wait()
	bg.Go(func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server", "err", err)
		}
	})

	trackerDone := make(chan struct{})
	trackerCtx, stopTracker := context.WithCancel(ctx)
	go func() {
		defer close(trackerDone)
		if err := d.tracker.Run(trackerCtx); err != nil {
			log.Error("state", "err", err)
		}
	}()
	pruneCtx, stopPruner := context.WithCancel(ctx)
	bg.Go(func() { d.store.RunPruner(pruneCtx, 10*time.Minute) })
	chatCtx, stopChat := context.WithCancel(ctx)
	chatSide.start(chatCtx, &bg, log)
	d.startDispatcher()
	d.sched.Start()
	log.Info("tocsin running", "version", tocsinVersion(), "config", d.path, "listen", ln.Addr().String(),
		"targets", len(d.cfg.Targets), "icmp", runner.Mode(), "icmp_socket", icmpSocketOf(runner), "state", d.cfg.State)

loop:
	for {
		select {
		case <-parent.Done():
			break loop
		case sig := <-sigs:
			if sig == syscall.SIGHUP {
				d.reload()
				continue
			}
			log.Info("stopping", "signal", sig.String())
			break loop
		}
	}

	// Stop in the order data flows: no new checks, record what ran,
	// deliver what was recorded (briefly), then close the doors.
	stopCtx, stopCancel := context.WithTimeout(ctx, 10*time.Second)
	defer stopCancel()
	if err := d.sched.Stop(stopCtx); err != nil {
		log.Warn("stopping checks", "err", err)
	}
	stopTracker()
	<-trackerDone
	d.drain(stopCtx, 2*time.Second)
	d.stopDispatcher()
	stopPruner()
	stopChat()
	_ = srv.Shutdown(stopCtx)
	return exitOK
}

// record is the scheduler's sink: metrics, the results log, then the state
// machine. It uses the daemon's context, not the check's, whose deadline
// may already have passed.
func (d *daemon) record(_ context.Context, r checks.Result) {
	d.metrics.Result(r)
	if l := d.rlog.Load(); l != nil {
		if err := l.Write(r); err != nil {
			d.e.log.Error("results log", "err", err)
		}
	}
	if err := d.tracker.Observe(d.ctx, r); err != nil {
		d.e.log.Error("recording result", "target", r.Target, "err", err)
	}
}

func (d *daemon) alive() error {
	if !d.sched.Alive() {
		return errors.New("scheduler stopped")
	}
	if err := d.tracker.Err(); err != nil {
		return fmt.Errorf("state store: %w", err)
	}
	return nil
}

func (d *daemon) startDispatcher() {
	d.dispMu.Lock()
	defer d.dispMu.Unlock()
	ctx, cancel := context.WithCancel(d.ctx)
	done := make(chan struct{})
	d.dispCancel, d.dispDone = cancel, done
	go func() {
		defer close(done)
		if err := d.disp.Run(ctx); err != nil {
			d.e.log.Error("dispatcher", "err", err)
		}
	}()
}

func (d *daemon) stopDispatcher() {
	d.dispMu.Lock()
	defer d.dispMu.Unlock()
	d.dispCancel()
	<-d.dispDone
}

// drain waits up to limit for the outbox to empty, so events of the last
// moments are delivered before exit; what remains is delivered after the
// next start.
func (d *daemon) drain(ctx context.Context, limit time.Duration) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		depth, err := d.store.Depth(ctx)
		if err != nil {
			return
		}
		pending := 0
		for _, n := range depth {
			pending += n
		}
		if pending == 0 {
			return
		}
		d.disp.Wake()
		time.Sleep(50 * time.Millisecond)
	}
}

// reload re-reads the config file (SIGHUP). A broken config is refused
// with its problems logged and the running one stays.
func (d *daemon) reload() {
	log := d.e.log
	// logrotate's SIGHUP must reopen the results log even when the config
	// on disk is broken and refused below.
	if l := d.rlog.Load(); l != nil {
		if err := l.Reopen(); err != nil {
			log.Error("results log reopen", "err", err)
		}
	}
	cfg, err := config.Load(d.path, d.e.getenv)
	if err != nil {
		var ce *config.Error
		if errors.As(err, &ce) {
			for _, p := range ce.Problems {
				log.Error("config reload refused", "problem", p.String())
			}
		} else {
			log.Error("config reload refused", "err", err)
		}
		return
	}
	old := d.cfg
	if cfg.Listen != old.Listen || cfg.State != old.State || cfg.MaxConcurrent != old.MaxConcurrent {
		log.Warn("listen, state and max_concurrent take effect at the next restart")
	}
	if cfg.Resolver != old.Resolver || cfg.ICMPSocket != old.ICMPSocket ||
		(hasPing(cfg) && d.checker.p.Load().Mode() == "") {
		// A new resolver or ICMP engine, or ping targets where none could
		// run before: a new checker, refused like at startup if ICMP is not
		// permitted. Closing the old one leaves its checks in flight their
		// sockets.
		runner, err := newRunner(cfg, log)
		if err != nil {
			log.Error("config reload refused", "err", err)
			return
		}
		prev := d.checker.p.Swap(runner)
		defer prev.Close()
	}
	if err := d.tracker.SetTargets(d.ctx, cfg.Targets); err != nil {
		log.Error("config reload: state", "err", err)
		return
	}
	if err := d.sched.SetTargets(cfg.Targets); err != nil {
		log.Error("config reload: schedule", "err", err)
	}
	d.reopenResultsLog(cfg.ResultsLog)
	if rs, err := newRules(cfg); err != nil {
		log.Error("config reload: on-call and maintenance kept as they were", "err", err)
	} else {
		d.rules.Store(rs)
	}
	d.reloadChat(old, cfg)
	d.cfg = cfg
	d.cfgp.Store(cfg)
	// A restart of the dispatcher retries deliveries held after a
	// permanent error: the reload may have fixed the token or channel.
	d.stopDispatcher()
	d.startDispatcher()
	log.Info("config reloaded", "targets", len(cfg.Targets))
}

// reloadChat applies what of a new chat config can change while running:
// the Slack notifier's token, channel and API URL. Turning a platform on or
// off, and the command side's settings, take a restart.
func (d *daemon) reloadChat(old, cfg *config.Config) {
	log := d.e.log
	if (old.Slack == nil) != (cfg.Slack == nil) || (old.Discord == nil) != (cfg.Discord == nil) {
		log.Warn("turning a chat platform on or off takes effect at the next restart")
	}
	if d.slack != nil && cfg.Slack != nil {
		sn, err := newSlackNotifier(cfg, log)
		if err != nil {
			log.Error("config reload: slack notifier kept as it was", "err", err)
		} else {
			d.slack.set(sn)
		}
	}
	if d.discord != nil && cfg.Discord != nil {
		dn, err := newDiscordNotifier(cfg, log)
		if err != nil {
			log.Error("config reload: discord notifier kept as it was", "err", err)
		} else {
			d.discord.set(dn)
		}
	}
}

func (d *daemon) reopenResultsLog(path string) {
	cur := d.rlog.Load()
	if path == d.rlogPath {
		return // reopened already
	}
	var next *resultslog.Log
	if path != "" {
		l, err := resultslog.Open(path)
		if err != nil {
			d.e.log.Error("results log", "err", err)
			return
		}
		next = l
	}
	d.rlog.Store(next)
	d.rlogPath = path
	if cur != nil {
		cur.Close()
	}
}
