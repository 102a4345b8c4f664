package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/tocsin/tocsin/internal/fakediscord"
	"github.com/tocsin/tocsin/internal/fakeslack"
)

// The fake platforms' identities in the generated config.
const (
	slackToken     = "xoxb-1-latency-bench"
	slackSecret    = "latency0bench0signing0secret"
	slackChannel   = "C0LATENCY"
	discordToken   = "latency.bench.discord-bot-token"
	discordApp     = "1000000000000000011"
	discordGuild   = "2000000000000000022"
	discordChannel = "3000000000000000033"
	discordRoute   = "POST /channels/{id}/messages"
)

// transition is one target's DOWN, as measured.
type transition struct {
	Target  string
	Closed  time.Time // its listener closed
	Decided time.Time // the deciding check's end (results log); zero if not seen
	Slack   time.Time // the alert's chat.postMessage arrived at the fake; zero if not
	Discord time.Time // the alert's message create arrived at the fake; zero if not
}

// latency of an arrival after the decision, in ms; NaN when either is missing.
func (t transition) latency(arrived time.Time) float64 {
	if t.Decided.IsZero() || arrived.IsZero() {
		return math.NaN()
	}
	return msOf(arrived.Sub(t.Decided))
}

func cmdAlerts(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("alerts", flag.ContinueOnError)
	fs.SetOutput(stderr)
	bin := fs.String("tocsin", "", "the tocsin `binary`")
	n := fs.Int("n", 200, "transitions (targets, each goes down once)")
	out := fs.String("out", "", "`dir` for the raw figures, the config, the state and tocsin's logs")
	gap := fs.Duration("gap", 1200*time.Millisecond, "least time from the last alert of one transition to the next transition")
	wait := fs.Duration("wait", 10*time.Second, "how long to wait for one transition's alerts")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	switch {
	case fs.NArg() > 0:
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	case *bin == "" || *out == "":
		return usageError{errors.New("-tocsin and -out are required")}
	case *n < 1 || *n > 5000:
		return usageError{errors.New("-n must be 1 to 5000")}
	case *gap < time.Second:
		return usageError{errors.New("-gap below 1s would measure the platforms' pacing")}
	case *wait <= 0 || *wait > time.Minute:
		return usageError{errors.New("-wait must be above 0 and at most 1m")}
	}
	dir, err := filepath.Abs(*out)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}

	// The fakes.
	slack := fakeslack.New()
	defer slack.Close()
	discord := fakediscord.New()
	defer discord.Close()
	discord.SetToken(discordToken)
	discord.SetApplicationID(discordApp)

	// One loopback listener per target, accepting and closing.
	targets := make([]string, *n)
	listeners := make([]net.Listener, *n)
	defer func() {
		for _, ln := range listeners {
			if ln != nil {
				ln.Close()
			}
		}
	}()
	for i := range listeners {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return fmt.Errorf("target listener: %w", err)
		}
		listeners[i] = ln
		targets[i] = fmt.Sprintf("lat%04d", i+1)
		go acceptAndClose(ln)
	}

	listen, err := freeLoopbackAddr()
	if err != nil {
		return err
	}
	state := filepath.Join(dir, "alerts.db")
	rlog := filepath.Join(dir, "alerts-results.jsonl")
	for _, p := range []string{state, state + "-wal", state + "-shm", state + ".lock", rlog} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	cfg := alertsConfig(listen, state, rlog, slack.APIURL(), discord.URL(), hex.EncodeToString(pub), targets, listeners)
	cfgPath := filepath.Join(dir, "alerts.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		return err
	}

	outf, err := os.Create(filepath.Join(dir, "alerts-tocsin.out"))
	if err != nil {
		return err
	}
	defer outf.Close()
	errf, err := os.Create(filepath.Join(dir, "alerts-tocsin.err"))
	if err != nil {
		return err
	}
	defer errf.Close()
	d, err := startChild(*bin, []string{"run", "--config", cfgPath, "--log-format", "json"}, outf, errf)
	if err != nil {
		return fmt.Errorf("starting tocsin: %w", err)
	}
	defer d.kill()

	if err := waitUntil(ctx, d, 30*time.Second, 20*time.Millisecond, "tocsin's /healthz to answer 200", func() bool {
		return healthy(ctx, listen)
	}); err != nil {
		return err
	}
	tl, err := newTail(rlog, 0)
	if err != nil {
		return err
	}
	defer tl.close()

	// Startup grace: every target checked fail_after (1) times while up,
	// and up in /api/status, before the first transition.
	okCount := map[string]int{}
	grace := 3*time.Second + time.Duration(*n)*10*time.Millisecond + 30*time.Second
	if err := waitUntil(ctx, d, grace, 50*time.Millisecond, "every target checked up", func() bool {
		rs, err := tl.next()
		if err != nil {
			return false
		}
		for _, r := range rs {
			if r.OK {
				okCount[r.Name]++
			}
		}
		for _, t := range targets {
			if okCount[t] < 1 {
				return false
			}
		}
		return allUp(ctx, listen, targets)
	}); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "latency alerts: %d targets up; %d transitions, about %s\n", *n, *n,
		(time.Duration(*n) * (*gap + 600*time.Millisecond)).Round(time.Second))

	// The transitions, one at a time. Everything seen is kept by target
	// and matched to a transition only when it comes after its close: a
	// failure or alert before it is not ours (and is reported).
	fails := map[string][]time.Time{} // failed checks' ends
	slackAt := map[string][]time.Time{}
	discordAt := map[string][]time.Time{}
	var slackSeen, discordSeen int
	var extra []string // alert posts that name no target as DOWN
	poll := func() error {
		rs, err := tl.next()
		if err != nil {
			return err
		}
		for _, r := range rs {
			if !r.OK {
				fails[r.Name] = append(fails[r.Name], r.End())
			}
		}
		calls := slack.Calls()
		for _, c := range calls[slackSeen:] {
			if c.Method != "chat.postMessage" || c.Form.Get("thread_ts") != "" {
				continue
			}
			name, ok := slackAlertTarget(c.Form)
			if !ok {
				extra = append(extra, "slack: "+c.Form.Get("text"))
				continue
			}
			slackAt[name] = append(slackAt[name], c.Time)
		}
		slackSeen = len(calls)
		dcalls := discord.Calls()
		for _, c := range dcalls[discordSeen:] {
			if c.Route != discordRoute || c.Status < 200 || c.Status > 299 {
				continue
			}
			name, ok := discordAlertTarget(c.Body)
			if !ok {
				if !isReply(c.Body) {
					extra = append(extra, "discord: "+string(c.Body))
				}
				continue
			}
			discordAt[name] = append(discordAt[name], c.Time)
		}
		discordSeen = len(dcalls)
		return nil
	}

	var held []int
	defer func() {
		for _, fd := range held {
			syscall.Close(fd)
		}
	}()
	rows := make([]transition, 0, *n)
	for i, name := range targets {
		if d.exited() {
			return fmt.Errorf("tocsin exited during the run (%v); see %s", d.err, errf.Name())
		}
		port := listeners[i].Addr().(*net.TCPAddr).Port
		tr := transition{Target: name, Closed: time.Now()}
		listeners[i].Close()
		listeners[i] = nil
		// Keep the port: another program listening on it would bring the
		// target back up (an UP, then a DOWN: alerts that are not ours).
		if fd, err := holdPort(port); err != nil {
			fmt.Fprintf(stderr, "latency alerts: %s: holding port %d: %v\n", name, port, err)
		} else {
			held = append(held, fd)
		}
		deadline := time.Now().Add(*wait)
		for time.Now().Before(deadline) {
			if err := poll(); err != nil {
				return err
			}
			tr.Decided = firstFrom(fails[name], tr.Closed.Add(-time.Millisecond))
			tr.Slack, tr.Discord = firstFrom(slackAt[name], tr.Decided), firstFrom(discordAt[name], tr.Decided)
			if !tr.Decided.IsZero() && !tr.Slack.IsZero() && !tr.Discord.IsZero() {
				break
			}
			if !sleepCtx(ctx, 5*time.Millisecond) {
				return ctx.Err()
			}
		}
		rows = append(rows, tr)
		if tr.Decided.IsZero() || tr.Slack.IsZero() || tr.Discord.IsZero() {
			fmt.Fprintf(stderr, "latency alerts: %s: decision %s, slack %s, discord %s after %s\n",
				name, stamp(tr.Decided), stamp(tr.Slack), stamp(tr.Discord), *wait)
		}
		// The next transition starts gap after this one's last post, so
		// neither platform's pacing (1 call/s) holds it back.
		last := time.Now()
		if !tr.Slack.IsZero() && !tr.Discord.IsZero() {
			last = tr.Slack
			if tr.Discord.After(last) {
				last = tr.Discord
			}
		}
		if !sleepCtx(ctx, time.Until(last.Add(*gap))) {
			return ctx.Err()
		}
		if (i+1)%50 == 0 {
			fmt.Fprintf(stderr, "latency alerts: %d/%d\n", i+1, *n)
		}
	}
	// Late posts of the last transitions, and anything unexpected.
	_ = sleepCtx(ctx, time.Second)
	if err := poll(); err != nil {
		return err
	}
	if err := d.stop(15 * time.Second); err != nil {
		fmt.Fprintln(stderr, "latency alerts:", err)
	}

	if err := writeTSV(filepath.Join(dir, "alerts.tsv"), alertRows(rows)); err != nil {
		return err
	}
	sum := summarize(rows)
	sum.stray = strayAlerts(rows, fails, slackAt, discordAt) + len(extra)
	writeAlertsReport(stdout, sum, *n, *gap)
	for _, e := range extra {
		fmt.Fprintln(stderr, "latency alerts: an unexpected alert post:", clipText(e, 200))
	}
	if sum.slack.measured == 0 || sum.discord.measured == 0 {
		return fmt.Errorf("no alert latency measured (slack %d, discord %d); see %s", sum.slack.measured,
			sum.discord.measured, errf.Name())
	}
	return nil
}

// holdPort binds a TCP socket to 127.0.0.1:port without listening: a
// connect to the port is refused, as to a closed one, and nobody else can
// take the port (no SO_REUSEADDR: with it a listener that sets it, as Go's
// do, may bind beside). Until the closed listener's last connections are
// gone the bind fails; it is tried for up to 100 ms. The caller closes the
// fd.
func holdPort(port int) (int, error) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	sa := &syscall.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}
	for range 20 {
		if err = syscall.Bind(fd, sa); !errors.Is(err, syscall.EADDRINUSE) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err != nil {
		syscall.Close(fd)
		return -1, err
	}
	return fd, nil
}

// firstFrom is the first of ts (in arrival order) at or after from; zero
// when none is, or from is zero.
func firstFrom(ts []time.Time, from time.Time) time.Time {
	if from.IsZero() {
		return time.Time{}
	}
	for _, t := range ts {
		if !t.Before(from) {
			return t
		}
	}
	return time.Time{}
}

// strayAlerts counts the failed checks and alert posts that belong to no
// transition: those of a target before its listener closed, and alert
// posts beyond the first after its close. Any is a sign that something
// else than the transitions made targets fail (the machine, the network
// stack) and spent the platforms' rate.
func strayAlerts(rows []transition, fails, slackAt, discordAt map[string][]time.Time) int {
	n := 0
	for _, r := range rows {
		for _, t := range fails[r.Target] {
			if t.Before(r.Closed.Add(-time.Millisecond)) {
				n++
			}
		}
		for _, ts := range [][]time.Time{slackAt[r.Target], discordAt[r.Target]} {
			n += len(ts)
			if !firstFrom(ts, r.Decided).IsZero() {
				n-- // the transition's own
			}
		}
	}
	return n
}

// acceptAndClose accepts connections on ln until ln is closed, and closes
// each once the checker has closed its end (or after 5 s). The checker
// closing first keeps TIME_WAIT on its side, where the kernel picks
// ephemeral ports around it; closing here first would leave hundreds a
// second on the listener's side, and a later SYN from a reused port that
// meets one stalls until the check times out: a DOWN of a listening target.
// (A reset instead of a close is no better: it can reach the dialer before
// it has looked at its connect, which then fails.)
func acceptAndClose(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, _ = io.Copy(io.Discard, io.LimitReader(c, 1<<16))
			c.Close()
		}()
	}
}

// alertsConfig is the config of the alerts run: one tcp target a listener,
// checked every second, DOWN at the first failure, no grouping (each DOWN
// its own alert), no reminders or escalations (they would spend the
// platforms' rate), Slack and Discord in HTTP-interactions mode against the
// fakes.
func alertsConfig(listen, state, rlog, slackURL, discordURL, publicKey string, names []string, lns []net.Listener) string {
	var b strings.Builder
	fmt.Fprintf(&b, "listen: %q\nstate: %q\nresults_log: %q\n", listen, state, rlog)
	b.WriteString("defaults:\n  every: 1s\n  timeout: 1s\n  fail_after: 1\n  recover_after: 1\n" +
		"  remind_every: 0\n  escalate_after: 0\n  group_wait: 0\ntargets:\n")
	for i, name := range names {
		fmt.Fprintf(&b, "  - name: %s\n    tcp: %q\n", name, lns[i].Addr().String())
	}
	fmt.Fprintf(&b, "slack:\n  bot_token: %q\n  signing_secret: %q\n  channel: %s\n  api_url: %q\n",
		slackToken, slackSecret, slackChannel, slackURL)
	fmt.Fprintf(&b, "discord:\n  bot_token: %q\n  application_id: %q\n  guild_id: %q\n  channel_id: %q\n  public_key: %s\n  api_url: %q\n",
		discordToken, discordApp, discordGuild, discordChannel, publicKey, discordURL)
	return b.String()
}

// waitUntil polls cond every step until it holds, limit passes, ctx ends
// or d exits.
func waitUntil(ctx context.Context, d *child, limit, step time.Duration, what string, cond func() bool) error {
	deadline := time.Now().Add(limit)
	for {
		if cond() {
			return nil
		}
		if d != nil && d.exited() {
			return fmt.Errorf("tocsin exited (%v) while waiting for %s", d.err, what)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s waiting for %s", limit, what)
		}
		if !sleepCtx(ctx, step) {
			return ctx.Err()
		}
	}
}

// allUp reports whether /api/status shows every one of names up.
func allUp(ctx context.Context, listen string, names []string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+listen+"/api/status", nil)
	if err != nil {
		return false
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var body struct {
		Targets []struct {
			Name   string `json:"name"`
			Status string `json:"status"`
		} `json:"targets"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&body) != nil {
		return false
	}
	up := map[string]bool{}
	for _, t := range body.Targets {
		up[t.Name] = t.Status == "up"
	}
	for _, n := range names {
		if !up[n] {
			return false
		}
	}
	return true
}

// --- which target an alert names -------------------------------------------

// slackAlertTarget returns the target a chat.postMessage names as DOWN: its
// text is "DOWN NAME: cause" (mrkdwn-escaped). ok is false for anything
// else (a reply, a grouped alert, another event).
func slackAlertTarget(form url.Values) (name string, ok bool) {
	text := form.Get("text")
	text = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(text)
	return downTarget(text)
}

// discordAlertTarget returns the target a message create names as DOWN:
// the embed's title "DOWN NAME", else the content "DOWN NAME: cause" (the
// text tocsin sends when Discord refuses the embed). A reply (one with a
// message_reference) is not an alert.
func discordAlertTarget(body []byte) (name string, ok bool) {
	var msg struct {
		Content string `json:"content"`
		Embeds  []struct {
			Title string `json:"title"`
		} `json:"embeds"`
	}
	if json.Unmarshal(body, &msg) != nil || isReply(body) {
		return "", false
	}
	if len(msg.Embeds) > 0 {
		if name, ok := downTarget(unescapeMarkdown(msg.Embeds[0].Title)); ok {
			return name, true
		}
	}
	return downTarget(unescapeMarkdown(msg.Content))
}

// isReply reports whether a Discord message create body replies to another
// message.
func isReply(body []byte) bool {
	var msg struct {
		Reference json.RawMessage `json:"message_reference"`
	}
	if json.Unmarshal(body, &msg) != nil {
		return false
	}
	r := strings.TrimSpace(string(msg.Reference))
	return r != "" && r != "null"
}

// downTarget reads "DOWN NAME" or "DOWN NAME: cause".
func downTarget(text string) (string, bool) {
	f := strings.Fields(text)
	if len(f) < 2 || f[0] != "DOWN" {
		return "", false
	}
	name := strings.TrimSuffix(f[1], ":")
	if name == "" {
		return "", false
	}
	return name, true
}

// unescapeMarkdown drops the backslash Discord markdown escaping puts
// before punctuation.
func unescapeMarkdown(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\\*_~`|<>[]", s[i+1]) >= 0 {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// --- the report ------------------------------------------------------------

// platformStats are one platform's latencies over the transitions.
type platformStats struct {
	measured, missing        int
	p50, p90, p99, max, mean float64
}

type alertsSummary struct {
	slack, discord platformStats
	undecided      int     // transitions whose deciding check was not in the results log
	stray          int     // failed checks and alert posts outside the transitions (strayAlerts)
	closeToDecide  float64 // median ms from closing a listener to the decision (the check phase)
}

func stats(xs []float64) platformStats {
	var ok []float64
	s := platformStats{}
	for _, x := range xs {
		if math.IsNaN(x) {
			s.missing++
			continue
		}
		ok = append(ok, x)
	}
	sort.Float64s(ok)
	s.measured = len(ok)
	s.p50, s.p90, s.p99 = percentile(ok, 50), percentile(ok, 90), percentile(ok, 99)
	s.max, s.mean = math.NaN(), math.NaN()
	if len(ok) > 0 {
		s.max = ok[len(ok)-1]
		sum := 0.0
		for _, x := range ok {
			sum += x
		}
		s.mean = sum / float64(len(ok))
	}
	return s
}

func summarize(rows []transition) alertsSummary {
	var sl, dc, cd []float64
	sum := alertsSummary{}
	for _, r := range rows {
		sl = append(sl, r.latency(r.Slack))
		dc = append(dc, r.latency(r.Discord))
		if r.Decided.IsZero() {
			sum.undecided++
		} else {
			cd = append(cd, msOf(r.Decided.Sub(r.Closed)))
		}
	}
	sum.slack, sum.discord = stats(sl), stats(dc)
	sum.closeToDecide = median(cd)
	return sum
}

func alertRows(rows []transition) [][]string {
	out := [][]string{{"i", "target", "closed", "decided", "slack_arrived", "discord_arrived", "slack_ms", "discord_ms", "close_to_decision_ms"}}
	for i, r := range rows {
		cd := math.NaN()
		if !r.Decided.IsZero() {
			cd = msOf(r.Decided.Sub(r.Closed))
		}
		out = append(out, []string{
			fmt.Sprint(i + 1), r.Target, stamp(r.Closed), stamp(r.Decided), stamp(r.Slack), stamp(r.Discord),
			fmt3(r.latency(r.Slack)), fmt3(r.latency(r.Discord)), fmt3(cd),
		})
	}
	return out
}

func fmt3(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	return fmt.Sprintf("%.3f", v)
}

func writeAlertsReport(w io.Writer, s alertsSummary, n int, gap time.Duration) {
	fmt.Fprintf(w, "### Alert latency: DOWN decided → request at the chat API (%d transitions)\n\n", n)
	fmt.Fprintln(w, "| platform | measured | missing | p50 ms | p90 ms | p99 ms | max ms | mean ms | p99 ≤ 100 ms |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---|")
	for _, p := range []struct {
		name string
		st   platformStats
	}{{"Slack (chat.postMessage)", s.slack}, {"Discord (create message)", s.discord}} {
		goal := "no"
		if p.st.measured > 0 && p.st.missing == 0 && p.st.p99 <= 100 {
			goal = "yes"
		}
		fmt.Fprintf(w, "| %s | %d | %d | %s | %s | %s | %s | %s | %s |\n", p.name, p.st.measured, p.st.missing,
			ms(p.st.p50), ms(p.st.p90), ms(p.st.p99), ms(p.st.max), ms(p.st.mean), goal)
	}
	fmt.Fprintf(w, "\nOne tcp target per transition (its loopback listener closed; `every: 1s`, `fail_after: 1`, "+
		"`group_wait: 0`), one at a time, %s after the previous alerts arrived, so neither platform's 1 call/s "+
		"pacing is measured. From the deciding check's end (results log: `time` + `latency_ms`, millisecond "+
		"resolution) to the fake API's handler seeing the request (in-repo fakes on 127.0.0.1). "+
		"Percentiles are nearest-rank. Closing a listener to the decision (the check's phase): median %s ms, not counted.",
		gap, ms(s.closeToDecide))
	if s.undecided > 0 {
		fmt.Fprintf(w, " %d transitions had no deciding check in the results log.", s.undecided)
	}
	if s.stray > 0 {
		fmt.Fprintf(w, " **Disturbed:** %d failed checks or alert posts outside the transitions (targets failing "+
			"while their listener was open); their alerts spent the platforms' rate.", s.stray)
	}
	fmt.Fprintln(w)
}

// clipText shortens s to at most n bytes for a log line.
func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
