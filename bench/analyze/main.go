// Command analyze is bench/run.sh's helper: it writes the host lists and
// configs the benchmark runs, reads what tocsin, fping and /proc report,
// and renders the report's tables. Each subcommand reads flags and files and
// prints one line (or a config, or the tables) to stdout:
//
//	analyze hosts -prefix 127.1 -n 1000           one address a line
//	analyze hosts6 -prefix fd00:0:0:1:: -n 1000   ::1, then PREFIX::1 … PREFIX::(n-1)
//	analyze sweep-config -hosts LIST -state DB    config.yaml: one ping target per host
//	analyze daemon-config -ping N -http N -hang N -urls FILE ...
//	analyze freeport                              a free loopback TCP port
//	analyze count-down -n N < check.json          targets not "up" (missing ones count)
//	analyze fping-lost -n N < fping.stderr        replies lost in fping's -c summary
//	analyze procstat -pid PID -hz 100             "CPU_SECONDS VMHWM_KB"
//	analyze missed -log F -names F -start T ...   "CHECKS MISSED MISSED_IN_GROUP LATE_START_ONLY"
//	analyze report -dir bench/out/raw             the markdown tables
//	analyze plot -dir bench/out/raw -every 30s    SVG: CPU and peak RSS against targets
//
// It holds no state between runs: everything lives in the files run.sh keeps
// under bench/out/.
package main

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run dispatches to a subcommand; it returns 2 on bad usage and 1 when the
// subcommand fails.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: analyze hosts|hosts6|sweep-config|daemon-config|freeport|count-down|fping-lost|procstat|missed|report|plot [flags]")
		return 2
	}
	cmds := map[string]func([]string, io.Reader, io.Writer) error{
		"hosts":         cmdHosts,
		"hosts6":        cmdHosts6,
		"sweep-config":  cmdSweepConfig,
		"daemon-config": cmdDaemonConfig,
		"freeport":      cmdFreePort,
		"count-down":    cmdCountDown,
		"fping-lost":    cmdFpingLost,
		"procstat":      cmdProcStat,
		"missed":        cmdMissed,
		"report":        cmdReport,
		"plot":          cmdPlot,
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "analyze: unknown subcommand %q\n", args[0])
		return 2
	}
	if err := cmd(args[1:], stdin, stdout); err != nil {
		fmt.Fprintf(stderr, "analyze %s: %v\n", args[0], err)
		var u usageError
		if errors.As(err, &u) {
			return 2
		}
		return 1
	}
	return 0
}

type usageError struct{ error }

func parseFlags(fs *flag.FlagSet, args []string) error {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected arguments %q", fs.Args())}
	}
	return nil
}

// maxHosts is how many addresses one /16 prefix yields: x 0–249, y 1–250.
const maxHosts = 250 * 250

// hostAddrs returns the first n addresses PREFIX.x.y with x 0–249, y 1–250,
// in order; n must be 0..62,500 so every address stays inside 127.0.0.0/8
// when the prefix does.
func hostAddrs(prefix string, n int) ([]string, error) {
	if n < 0 || n > maxHosts {
		return nil, fmt.Errorf("-n %d: want 0..%d", n, maxHosts)
	}
	if ip := net.ParseIP(prefix + ".0.1"); ip == nil || !ip.IsLoopback() {
		// Only loopback: the benchmark must not send a packet off the machine.
		return nil, fmt.Errorf("-prefix %q: want a loopback a.b prefix such as 127.1", prefix)
	}
	out := make([]string, 0, n)
	for i := range n {
		out = append(out, fmt.Sprintf("%s.%d.%d", prefix, i/250, i%250+1))
	}
	return out, nil
}

// xyName names a target after its address's last two octets: PFX-X-Y.
func xyName(pfx, addr string) string {
	v4 := net.ParseIP(addr).To4()
	return fmt.Sprintf("%s-%d-%d", pfx, v4[2], v4[3])
}

func cmdHosts(args []string, _ io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("hosts", flag.ContinueOnError)
	prefix := fs.String("prefix", "127.1", "loopback a.b prefix")
	n := fs.Int("n", 1000, "how many addresses")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	addrs, err := hostAddrs(*prefix, *n)
	if err != nil {
		return usageError{err}
	}
	w := bufio.NewWriter(stdout)
	for _, a := range addrs {
		fmt.Fprintln(w, a)
	}
	return w.Flush()
}

// ulaBench is the only non-loopback space the benchmark pings: fd00::/8,
// which bench/run.sh routes into a network namespace of its own.
var ulaBench = netip.MustParsePrefix("fd00::/8")

// hostAddrs6 returns n IPv6 addresses: ::1, then PREFIX::1, PREFIX::2, …
// PREFIX must be a /64 inside fd00::/8 (its last 64 bits zero).
func hostAddrs6(prefix string, n int) ([]string, error) {
	if n < 0 || n > maxHosts {
		return nil, fmt.Errorf("-n %d: want 0..%d", n, maxHosts)
	}
	p, err := netip.ParseAddr(prefix)
	if err != nil || !p.Is6() || p.Is4In6() || !ulaBench.Contains(p) {
		return nil, fmt.Errorf("-prefix %q: want an IPv6 /64 prefix inside fd00::/8 (fd00:0:0:1:: for one)", prefix)
	}
	b := p.As16()
	for _, x := range b[8:] {
		if x != 0 {
			return nil, fmt.Errorf("-prefix %q: the last 64 bits must be zero", prefix)
		}
	}
	out := make([]string, 0, n)
	if n > 0 {
		out = append(out, "::1")
	}
	for i := 1; i < n; i++ {
		binary.BigEndian.PutUint64(b[8:], uint64(i))
		out = append(out, netip.AddrFrom16(b).String())
	}
	return out, nil
}

func cmdHosts6(args []string, _ io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("hosts6", flag.ContinueOnError)
	prefix := fs.String("prefix", "fd00:0:0:1::", "IPv6 /64 prefix inside fd00::/8")
	n := fs.Int("n", 1000, "how many addresses, ::1 included")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	addrs, err := hostAddrs6(*prefix, *n)
	if err != nil {
		return usageError{err}
	}
	w := bufio.NewWriter(stdout)
	for _, a := range addrs {
		fmt.Fprintln(w, a)
	}
	return w.Flush()
}

// sweepTarget checks that a is an address the sweep may ping (loopback,
// or IPv6 in fd00::/8) and names its target: h-X-Y for IPv4, h6- and the
// 32 hex digits of the address for IPv6.
func sweepTarget(a string) (name string, err error) {
	ip, err := netip.ParseAddr(a)
	if err != nil {
		return "", fmt.Errorf("%q is not an IP address", a)
	}
	if ip.Is4In6() {
		ip = ip.Unmap()
	}
	switch {
	case ip.Is4() && ip.IsLoopback():
		return xyName("h", a), nil
	case ip.Is6() && (ip.IsLoopback() || ulaBench.Contains(ip)) && ip.Zone() == "":
		b := ip.As16()
		return "h6-" + hex.EncodeToString(b[:]), nil
	}
	return "", fmt.Errorf("%q is neither loopback nor in %s", a, ulaBench)
}

func readLines(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, l := range strings.Split(string(data), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out, nil
}

func cmdSweepConfig(args []string, _ io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("sweep-config", flag.ContinueOnError)
	hosts := fs.String("hosts", "", "host list `file`, one address a line")
	state := fs.String("state", "bench/out/sweep.db", "state `file`")
	listen := fs.String("listen", "127.0.0.1:0", "listen address (unused by check)")
	timeout := fs.String("timeout", "1s", "per-target timeout")
	list := fs.String("list", "", "write the hosts as a hosts_file (HOST NAME a line) to this `file` and use it, instead of one target entry per host")
	icmpSocket := fs.String("icmp-socket", "", "the config's icmp_socket (empty: tocsin's default)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	addrs, err := readLines(*hosts)
	if err != nil {
		return err
	}
	return writeSweepConfig(stdout, addrs, sweepForm{Hosts: *hosts, State: *state, Listen: *listen,
		Timeout: *timeout, List: *list, ICMPSocket: *icmpSocket})
}

// sweepForm is how sweep-config writes its config.
type sweepForm struct {
	Hosts, State, Listen, Timeout string
	List                          string // hosts_file path, or "" for one entry per host
	ICMPSocket                    string
}

func writeSweepConfig(stdout io.Writer, addrs []string, f sweepForm) error {
	w := bufio.NewWriter(stdout)
	fmt.Fprintf(w, "listen: %q\nstate: %q\n", f.Listen, f.State)
	if f.ICMPSocket != "" {
		fmt.Fprintf(w, "icmp_socket: %s\n", f.ICMPSocket)
	}
	fmt.Fprintf(w, "targets:\n")
	var lw *bufio.Writer
	if f.List != "" {
		lf, err := os.Create(f.List)
		if err != nil {
			return err
		}
		defer lf.Close()
		lw = bufio.NewWriter(lf)
		fmt.Fprintf(w, "  - hosts_file: %q\n    count: 1\n    timeout: %s\n", f.List, f.Timeout)
	}
	for _, a := range addrs {
		name, err := sweepTarget(a)
		if err != nil {
			return fmt.Errorf("%s: %w", f.Hosts, err)
		}
		if lw != nil {
			fmt.Fprintf(lw, "%s %s\n", a, name)
			continue
		}
		fmt.Fprintf(w, "  - name: %s\n    ping: %s\n    count: 1\n    timeout: %s\n", name, a, f.Timeout)
	}
	if lw != nil {
		if err := lw.Flush(); err != nil {
			return err
		}
	}
	return w.Flush()
}

// daemonSpec is what daemon-config writes: Ping ping targets on 127.2.x.y,
// HTTP http targets of which Hang (spread evenly) point at /hang.
type daemonSpec struct {
	Ping, HTTP, Hang int
	// URLs are the bases of bench/httpserver's listeners, e.g.
	// http://127.3.0.1:PORT; http target i goes to URLs[i % len(URLs)], so
	// the targets spread evenly over the hosts as over a fleet.
	URLs           []string
	Every, Timeout string
	Listen, State  string
	ResultsLog     string
}

// names of the daemon's targets: p-X-Y (ping), w-N (http /ok), hang-N
// (http /hang). The hang- prefix is what `missed -group hang-` counts.
func (s daemonSpec) write(w io.Writer, names io.Writer) error {
	if s.Hang > s.HTTP {
		return fmt.Errorf("-hang %d > -http %d", s.Hang, s.HTTP)
	}
	if s.HTTP > 0 && len(s.URLs) == 0 {
		return errors.New("http targets but no base URL")
	}
	addrs, err := hostAddrs("127.2", s.Ping)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	nw := bufio.NewWriter(names)
	fmt.Fprintf(bw, "listen: %q\nstate: %q\nresults_log: %q\ndefaults:\n  every: %s\n  timeout: %s\ntargets:\n",
		s.Listen, s.State, s.ResultsLog, s.Every, s.Timeout)
	for _, a := range addrs {
		name := xyName("p", a)
		fmt.Fprintf(bw, "  - name: %s\n    ping: %s\n", name, a)
		fmt.Fprintln(nw, name)
	}
	// Every step-th http target hangs, so the slow ones are spread across
	// the file (and the scheduler's start offsets) rather than bunched.
	step := 0
	if s.Hang > 0 {
		step = s.HTTP / s.Hang
	}
	hung := 0
	for i := range s.HTTP {
		name, path := fmt.Sprintf("w-%d", i), "ok"
		if step > 0 && i%step == 0 && hung < s.Hang {
			name, path = fmt.Sprintf("hang-%d", i), "hang"
			hung++
		}
		base := strings.TrimSuffix(s.URLs[i%len(s.URLs)], "/")
		fmt.Fprintf(bw, "  - name: %s\n    http: \"%s/%s?i=%d\"\n", name, base, path, i)
		fmt.Fprintln(nw, name)
	}
	if err := nw.Flush(); err != nil {
		return err
	}
	return bw.Flush()
}

func cmdDaemonConfig(args []string, _ io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("daemon-config", flag.ContinueOnError)
	var s daemonSpec
	fs.IntVar(&s.Ping, "ping", 5000, "ping targets (127.2.x.y)")
	fs.IntVar(&s.HTTP, "http", 5000, "http targets")
	fs.IntVar(&s.Hang, "hang", 0, "of the http targets, how many point at /hang")
	url := fs.String("url", "", "base URL of bench/httpserver")
	urlsPath := fs.String("urls", "", "`file` of bench/httpserver's addresses or base URLs, one a line (instead of -url)")
	fs.StringVar(&s.Every, "every", "30s", "interval")
	fs.StringVar(&s.Timeout, "timeout", "5s", "timeout")
	fs.StringVar(&s.Listen, "listen", "127.0.0.1:0", "tocsin's listen address")
	fs.StringVar(&s.State, "state", "", "state file")
	fs.StringVar(&s.ResultsLog, "results-log", "", "results log")
	namesPath := fs.String("names", "", "write the target names to this `file`")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if (*url == "") == (*urlsPath == "") || s.State == "" || s.ResultsLog == "" || *namesPath == "" {
		return usageError{errors.New("one of -url and -urls, and -state, -results-log and -names are required")}
	}
	if *url != "" {
		s.URLs = []string{*url}
	} else {
		lines, err := readLines(*urlsPath)
		if err != nil {
			return err
		}
		for _, l := range lines {
			if !strings.Contains(l, "://") {
				l = "http://" + l
			}
			s.URLs = append(s.URLs, l)
		}
	}
	f, err := os.Create(*namesPath)
	if err != nil {
		return err
	}
	if err := s.write(stdout, f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func cmdFreePort(args []string, _ io.Reader, stdout io.Writer) error {
	if err := parseFlags(flag.NewFlagSet("freeport", flag.ContinueOnError), args); err != nil {
		return err
	}
	// Racy by nature (the port is free now, not promised later), which is
	// fine for a benchmark on an otherwise idle box.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer ln.Close()
	_, err = fmt.Fprintln(stdout, ln.Addr().(*net.TCPAddr).Port)
	return err
}

// countDown returns how many of n targets in a `tocsin check --json` answer
// are not "up"; targets missing from the answer count as down, and an
// answer that is not JSON counts all n.
func countDown(data []byte, n int) (down int, err error) {
	var doc struct {
		Targets []struct {
			Name   string `json:"name"`
			Status string `json:"status"`
		} `json:"targets"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return n, fmt.Errorf("not tocsin check JSON: %w", err)
	}
	up := 0
	for _, t := range doc.Targets {
		if t.Status == "up" {
			up++
		}
	}
	if up > n {
		return 0, nil
	}
	return n - up, nil
}

func cmdCountDown(args []string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("count-down", flag.ContinueOnError)
	n := fs.Int("n", 0, "how many targets the config had")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	data, err := io.ReadAll(stdin)
	if err != nil {
		return err
	}
	down, perr := countDown(data, *n)
	// A broken answer still yields a figure (all lost) so the report shows
	// it; the reason goes to stderr.
	fmt.Fprintln(stdout, down)
	if perr != nil {
		fmt.Fprintln(os.Stderr, "analyze count-down:", perr)
	}
	return nil
}

// fpingSummary matches one host's line of fping -c's summary, e.g.
// "127.1.0.1 : xmt/rcv/%loss = 1/1/0%, min/avg/max = 0.03/0.03/0.03".
var fpingSummary = regexp.MustCompile(`^(\S+)\s+:\s+xmt/rcv/%loss\s+=\s+(\d+)/(\d+)/`)

// fpingLost returns the replies lost among n hosts pinged count times each,
// from fping's stderr: per summary line count-rcv, and count for every host
// missing from the summary.
func fpingLost(r io.Reader, n, count int) (int, error) {
	seen := map[string]bool{}
	lost := 0
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		m := fpingSummary.FindStringSubmatch(strings.TrimSpace(sc.Text()))
		if m == nil || seen[m[1]] {
			continue
		}
		seen[m[1]] = true
		rcv, _ := strconv.Atoi(m[3])
		if rcv < count {
			lost += count - rcv
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	if len(seen) < n {
		lost += (n - len(seen)) * count
	}
	return lost, nil
}

func cmdFpingLost(args []string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("fping-lost", flag.ContinueOnError)
	n := fs.Int("n", 0, "how many hosts were pinged")
	count := fs.Int("count", 1, "echoes per host (fping -c)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	lost, err := fpingLost(stdin, *n, *count)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, lost)
	return err
}

// procStat parses /proc/PID/stat and /proc/PID/status: CPU seconds used
// (utime+stime at hz ticks a second) and the peak resident set (VmHWM, kB).
func procStat(stat, status string, hz float64) (cpu float64, hwmKB int64, err error) {
	// comm (field 2) is in parentheses and may hold spaces: split after
	// the last ')'. Then state is field 3, utime 14, stime 15.
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, 0, errors.New("stat: no ')'")
	}
	f := strings.Fields(stat[i+1:])
	if len(f) < 13 {
		return 0, 0, fmt.Errorf("stat: %d fields after comm, want ≥ 13", len(f))
	}
	ut, err1 := strconv.ParseFloat(f[11], 64)
	st, err2 := strconv.ParseFloat(f[12], 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, 0, fmt.Errorf("stat: %w", err)
	}
	for _, l := range strings.Split(status, "\n") {
		if rest, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			v := strings.Fields(rest)
			if len(v) > 0 {
				hwmKB, err = strconv.ParseInt(v[0], 10, 64)
				if err != nil {
					return 0, 0, fmt.Errorf("status: VmHWM: %w", err)
				}
			}
		}
	}
	return (ut + st) / hz, hwmKB, nil
}

func cmdProcStat(args []string, _ io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("procstat", flag.ContinueOnError)
	pid := fs.Int("pid", 0, "process id")
	hz := fs.Float64("hz", 100, "clock ticks per second (getconf CLK_TCK)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", *pid))
	if err != nil {
		return err
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", *pid))
	if err != nil {
		return err
	}
	cpu, hwm, err := procStat(string(stat), string(status), *hz)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "%.2f %d\n", cpu, hwm)
	return err
}

// missedReport is what `missed` finds in a results log.
type missedReport struct {
	Checks        int // result lines of known targets
	Missed        int // targets that missed an interval
	MissedInGroup int // of them, names with the group prefix
	// LateStartOnly counts the missed targets whose only fault is a first
	// result at most a second later than every after start: launch
	// overhead, not a skipped run.
	LateStartOnly int
	// Why lists each target that missed with the reason, in names' order.
	Why []string
}

// findMissed applies the benchmark's rule: a target missed an interval if
// it has fewer than floor(runtime/every) results, its first result started
// more than every after start, or any two consecutive results are more than
// 1.5×every apart. Result lines of unknown names, and results started after
// start+runtime (while the daemon was being stopped), are ignored; a target
// with no result at all missed.
func findMissed(log io.Reader, names []string, start time.Time, runtime, every time.Duration, group string) (missedReport, error) {
	end := start.Add(runtime)
	times := make(map[string][]time.Time, len(names))
	for _, n := range names {
		times[n] = nil
	}
	var rep missedReport
	sc := bufio.NewScanner(log)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	line := 0
	for sc.Scan() {
		line++
		if len(strings.TrimSpace(sc.Text())) == 0 {
			continue
		}
		var r struct {
			Time string `json:"time"`
			Name string `json:"name"`
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return rep, fmt.Errorf("line %d: %w", line, err)
		}
		ts, ok := times[r.Name]
		if !ok {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, r.Time)
		if err != nil {
			return rep, fmt.Errorf("line %d: time: %w", line, err)
		}
		if t.After(end) {
			continue
		}
		times[r.Name] = append(ts, t)
		rep.Checks++
	}
	if err := sc.Err(); err != nil {
		return rep, err
	}
	want := int(runtime / every)
	for _, n := range names {
		why, lateOnly := missedWhy(times[n], start, want, every)
		if why == "" {
			continue
		}
		rep.Why = append(rep.Why, n+": "+why)
		rep.Missed++
		if lateOnly {
			rep.LateStartOnly++
		}
		if group != "" && strings.HasPrefix(n, group) {
			rep.MissedInGroup++
		}
	}
	return rep, nil
}

// missedWhy says why a target with results ts missed an interval, or ""
// when it did not; lateOnly is true when the only fault is a first result
// at most a second later than every after start.
func missedWhy(ts []time.Time, start time.Time, want int, every time.Duration) (why string, lateOnly bool) {
	if len(ts) < want || len(ts) == 0 {
		return fmt.Sprintf("%d results, want ≥ %d", len(ts), max(want, 1)), false
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) })
	maxGap := every + every/2
	for i := 1; i < len(ts); i++ {
		if d := ts[i].Sub(ts[i-1]); d > maxGap {
			return fmt.Sprintf("%.1fs between results at %s", d.Seconds(), ts[i-1].UTC().Format("15:04:05.000")), false
		}
	}
	if d := ts[0].Sub(start); d > every {
		return fmt.Sprintf("first result %.1fs after start", d.Seconds()), d <= every+time.Second
	}
	return "", false
}

func cmdMissed(args []string, _ io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("missed", flag.ContinueOnError)
	logPath := fs.String("log", "", "results log")
	namesPath := fs.String("names", "", "target names, one a line")
	startUnix := fs.Float64("start", 0, "when the daemon started, Unix seconds")
	runtime := fs.Float64("runtime", 0, "how long it ran, seconds")
	every := fs.Duration("every", 30*time.Second, "interval")
	group := fs.String("group", "hang-", "also count misses of names with this prefix")
	detail := fs.String("detail", "", "write each target that missed, and why, to this `file`")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *every <= 0 {
		return usageError{errors.New("-every must be > 0")}
	}
	names, err := readLines(*namesPath)
	if err != nil {
		return err
	}
	f, err := os.Open(*logPath)
	if err != nil {
		return err
	}
	defer f.Close()
	sec, frac := math.Modf(*startUnix)
	start := time.Unix(int64(sec), int64(frac*1e9))
	rep, err := findMissed(f, names, start, time.Duration(*runtime*float64(time.Second)), *every, *group)
	if err != nil {
		return fmt.Errorf("%s: %w", *logPath, err)
	}
	if *detail != "" {
		text := strings.Join(rep.Why, "\n")
		if text != "" {
			text += "\n"
		}
		if err := os.WriteFile(*detail, []byte(text), 0o644); err != nil {
			return err
		}
	}
	_, err = fmt.Fprintf(stdout, "%d %d %d %d\n", rep.Checks, rep.Missed, rep.MissedInGroup, rep.LateStartOnly)
	return err
}

// sweepRun is one line of raw/sweep-N-TOOL.tsv: wall, user and sys seconds,
// replies lost, and the command's exit code.
type sweepRun struct {
	Wall, User, Sys float64
	Lost, RC        int
}

func (r sweepRun) cpu() float64 { return r.User + r.Sys }

// daemonRun is raw/daemon-LABEL.tsv: one line,
//
//	TARGETS EVERY HANG WALL CPU HWM_KB CHECKS MISSED MISSED_HANG LATE_START_ONLY CONNS REQUESTS PEAK_OPEN PEAK_IDLE
//
// the last four from bench/httpserver's -stats, each -1 when unknown.
type daemonRun struct {
	Label                  string
	Targets                int
	Every                  time.Duration
	Hang                   int
	Wall, CPU              float64
	HWMKB                  int64
	Checks, Missed, MissHg int
	LateStartOnly          int
	Conns, Requests        int64
	PeakOpen, PeakIdle     int64
}

func parseSweep(r io.Reader) ([]sweepRun, error) {
	var out []sweepRun
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if len(f) != 5 {
			return nil, fmt.Errorf("%q: want wall user sys lost rc", sc.Text())
		}
		var s sweepRun
		var errs [5]error
		s.Wall, errs[0] = strconv.ParseFloat(f[0], 64)
		s.User, errs[1] = strconv.ParseFloat(f[1], 64)
		s.Sys, errs[2] = strconv.ParseFloat(f[2], 64)
		s.Lost, errs[3] = strconv.Atoi(f[3])
		s.RC, errs[4] = strconv.Atoi(f[4])
		if err := errors.Join(errs[:]...); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, sc.Err()
}

func parseDaemon(label string, data string) (daemonRun, error) {
	d := daemonRun{Label: label}
	var every string
	_, err := fmt.Sscan(data, &d.Targets, &every, &d.Hang, &d.Wall, &d.CPU, &d.HWMKB, &d.Checks, &d.Missed, &d.MissHg, &d.LateStartOnly,
		&d.Conns, &d.Requests, &d.PeakOpen, &d.PeakIdle)
	if err == nil {
		d.Every, err = time.ParseDuration(every)
		if err == nil && d.Every <= 0 {
			err = errors.New("every must be > 0")
		}
	}
	if err != nil {
		return d, fmt.Errorf("%q: want targets every hang wall cpu hwm_kb checks missed missed_hang late_start_only conns requests peak_open peak_idle: %w", strings.TrimSpace(data), err)
	}
	return d, nil
}

// cpuPerK is CPU milliseconds per 1,000 checks, NaN without checks.
func (d daemonRun) cpuPerK() float64 {
	if d.Checks <= 0 {
		return math.NaN()
	}
	return d.CPU * 1000 / (float64(d.Checks) / 1000)
}

// readDaemons reads every raw/daemon-*.tsv, sorted by targets, then the
// longer interval first, then the plain run before the one with hangs.
func readDaemons(dir string) ([]daemonRun, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "daemon-*.tsv"))
	if err != nil {
		return nil, err
	}
	var out []daemonRun
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		label := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(p), "daemon-"), ".tsv")
		d, err := parseDaemon(label, string(data))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Base(p), err)
		}
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Targets != b.Targets {
			return a.Targets < b.Targets
		}
		if a.Every != b.Every {
			return a.Every > b.Every
		}
		return a.Hang < b.Hang
	})
	return out, nil
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

type sweepSummary struct {
	Runs, Failed int
	Wall, CPU    float64 // medians
	Lost         int     // total
}

// summarize reduces runs to medians and totals; a run whose exit code is
// neither 0 nor 1 (both tools exit 1 when something is down) is failed.
func summarize(runs []sweepRun) sweepSummary {
	s := sweepSummary{Runs: len(runs)}
	var wall, cpu []float64
	for _, r := range runs {
		wall = append(wall, r.Wall)
		cpu = append(cpu, r.cpu())
		s.Lost += r.Lost
		if r.RC != 0 && r.RC != 1 {
			s.Failed++
		}
	}
	s.Wall, s.CPU = median(wall), median(cpu)
	return s
}

func ratio(a, b float64) string {
	if b == 0 || math.IsNaN(a) || math.IsNaN(b) {
		return "n/a"
	}
	return fmt.Sprintf("%.1f×", a/b)
}

// sweepVariants are the ways tocsin check is run in a sweep, each against
// the same fping runs: raw/sweep-LABEL-TOOL.tsv. The first is always there.
var sweepVariants = []struct{ tool, form string }{
	{"tocsin", "hosts_file, shared socket"},
	{"tocsin_targets", "one entry per host, shared socket"},
	{"tocsin_perchk", "hosts_file, `icmp_socket: per_check`"},
}

// sweepLabel reads the LABEL of raw/sweep-LABEL-TOOL.tsv: "v4-N" or
// "v6-N" (a bare "N" is IPv4).
func sweepLabel(label string) (family string, n int, ok bool) {
	family, nStr := "v4", label
	if f, rest, found := strings.Cut(label, "-"); found {
		family, nStr = f, rest
	}
	if family != "v4" && family != "v6" {
		return "", 0, false
	}
	n, err := strconv.Atoi(nStr)
	if err != nil || n < 0 {
		return "", 0, false
	}
	return family, n, true
}

// everyText is a whole-second interval as a config says it: 30s, 1m30s.
func everyText(d time.Duration) string {
	return strings.Replace(strings.Replace(d.String(), "m0s", "m", 1), "h0m", "h", 1)
}

// orDash formats v, or "–" when it is NaN or infinite.
func orDash(format string, v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "–"
	}
	return fmt.Sprintf(format, v)
}

// writeReport renders the sweep and daemon tables from raw/.
func writeReport(dir string, w io.Writer) error {
	sweeps, err := filepath.Glob(filepath.Join(dir, "sweep-*-fping.tsv"))
	if err != nil {
		return err
	}
	type row struct {
		family       string
		n            int
		form         string
		fping, tocsn sweepSummary
	}
	var rows []row
	for _, fp := range sweeps {
		label := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(fp), "sweep-"), "-fping.tsv")
		family, n, ok := sweepLabel(label)
		if !ok {
			continue
		}
		read := func(path string) (sweepSummary, error) {
			f, err := os.Open(path)
			if err != nil {
				return sweepSummary{}, err
			}
			defer f.Close()
			runs, err := parseSweep(f)
			if err != nil {
				return sweepSummary{}, fmt.Errorf("%s: %w", path, err)
			}
			return summarize(runs), nil
		}
		ref, err := read(fp)
		if err != nil {
			return err
		}
		for i, v := range sweepVariants {
			path := filepath.Join(dir, "sweep-"+label+"-"+v.tool+".tsv")
			if _, err := os.Stat(path); i > 0 && err != nil {
				continue // an optional variant not measured
			}
			sum, err := read(path)
			if err != nil {
				return err
			}
			rows = append(rows, row{family: family, n: n, form: v.form, fping: ref, tocsn: sum})
		}
	}
	sort.SliceStable(rows, func(i, j int) bool {
		if rows[i].family != rows[j].family {
			return rows[i].family < rows[j].family
		}
		return rows[i].n < rows[j].n
	})

	if len(rows) > 0 {
		fmt.Fprintln(w, "### ICMP sweep: every host once (fping -c1 vs tocsin check)")
		fmt.Fprintln(w)
		fmt.Fprintln(w, "| family | hosts | tocsin's config | runs | fping wall s | tocsin wall s | wall tocsin/fping | fping CPU s | tocsin CPU s | CPU tocsin/fping | fping lost (all runs) | tocsin lost (all runs) | failed runs fping/tocsin |")
		fmt.Fprintln(w, "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
		for _, r := range rows {
			fam := "IPv4"
			if r.family == "v6" {
				fam = "IPv6"
			}
			fmt.Fprintf(w, "| %s | %d | %s | %d | %.2f | %.2f | %s | %.2f | %.2f | %s | %d | %d | %d/%d |\n",
				fam, r.n, r.form, r.tocsn.Runs, r.fping.Wall, r.tocsn.Wall, ratio(r.tocsn.Wall, r.fping.Wall),
				r.fping.CPU, r.tocsn.CPU, ratio(r.tocsn.CPU, r.fping.CPU),
				r.fping.Lost, r.tocsn.Lost, r.fping.Failed, r.tocsn.Failed)
		}
		fmt.Fprintln(w)
		fmt.Fprintln(w, "Wall and CPU (user+sys) are medians; lost is the total of unanswered echoes over all runs.")
		fmt.Fprintln(w)
	}

	daemons, err := readDaemons(dir)
	if err != nil {
		return err
	}
	if len(daemons) > 0 {
		fmt.Fprintln(w, "### Daemon: tocsin run, half ping half HTTP")
		fmt.Fprintln(w)
		fmt.Fprintln(w, "| targets | every | of them /hang | wall s | CPU s | CPU % | checks | CPU ms / 1,000 checks | peak RSS MB | targets that missed an interval | of them /hang | of them only by a first result ≤ 1 s late | HTTP connections | requests per connection | peak open connections |")
		fmt.Fprintln(w, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
		everys := map[time.Duration]bool{}
		for _, d := range daemons {
			everys[d.Every] = true
			pct := math.NaN()
			if d.Wall > 0 {
				pct = d.CPU / d.Wall * 100
			}
			conns, perConn, peak := "–", "–", "–"
			if d.Conns >= 0 && d.Requests >= 0 {
				conns = strconv.FormatInt(d.Conns, 10)
				if d.Conns > 0 {
					perConn = fmt.Sprintf("%.1f", float64(d.Requests)/float64(d.Conns))
				}
			}
			if d.PeakOpen >= 0 {
				peak = strconv.FormatInt(d.PeakOpen, 10)
			}
			fmt.Fprintf(w, "| %d | %s | %d | %.0f | %.2f | %s | %d | %s | %.1f | %d | %d | %d | %s | %s | %s |\n",
				d.Targets, everyText(d.Every), d.Hang, d.Wall, d.CPU, orDash("%.1f", pct), d.Checks, orDash("%.1f", d.cpuPerK()),
				float64(d.HWMKB)/1024, d.Missed, d.MissHg, d.LateStartOnly, conns, perConn, peak)
		}
		var gaps []string
		for _, e := range sortedDurations(everys) {
			gaps = append(gaps, fmt.Sprintf("%s at %s", everyText(e+e/2), everyText(e)))
		}
		fmt.Fprintln(w)
		fmt.Fprintf(w, "A target missed an interval if it has fewer than floor(wall/every) results, its first result started more than `every` after launch, or two consecutive results are more than 1.5×every apart (%s). Launch is when run.sh started the process, so the column \"only by a first result ≤ 1 s late\" counts targets whose first run, spread over the first interval, landed just past it: process start-up, not a skipped run. CPU %% is of one core. HTTP connections and requests are counted by bench/httpserver (accepted TCP connections, requests served); peak open connections is the most it had open at one time.\n",
			strings.Join(gaps, ", "))
	}
	return nil
}

func sortedDurations(set map[time.Duration]bool) []time.Duration {
	out := make([]time.Duration, 0, len(set))
	for d := range set {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] > out[j] })
	return out
}

func cmdReport(args []string, _ io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	dir := fs.String("dir", "bench/out/raw", "raw measurements")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	return writeReport(*dir, stdout)
}
