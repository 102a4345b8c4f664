package config

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tocsin/tocsin/checks"
)

// Built-in target settings, for what neither `defaults:` nor the target
// sets. ping_interval is 200ms: short enough that a count of 3 fits well
// inside the default 5s timeout, long enough not to look like a flood.
const (
	defaultEvery         = 30 * time.Second
	defaultTimeout       = 5 * time.Second
	defaultFailAfter     = 3
	defaultRecoverAfter  = 1
	defaultRemindEvery   = 30 * time.Minute
	defaultEscalateAfter = 15 * time.Minute
	defaultGroupWait     = 10 * time.Second
	defaultFlapHigh      = 50
	defaultFlapLow       = 25
	defaultCount         = 1
	defaultPingInterval  = 200 * time.Millisecond
	defaultMethod        = "GET"
	maxCount             = 100
)

func builtinTarget() checks.Target {
	return checks.Target{
		Timeout:       defaultTimeout,
		Schedule:      "@every " + defaultEvery.String(),
		Every:         defaultEvery,
		FailAfter:     defaultFailAfter,
		RecoverAfter:  defaultRecoverAfter,
		RemindEvery:   defaultRemindEvery,
		EscalateAfter: defaultEscalateAfter,
		GroupWait:     defaultGroupWait,
		FlapHigh:      defaultFlapHigh,
		FlapLow:       defaultFlapLow,
		Ping:          checks.PingSpec{Count: defaultCount, Interval: defaultPingInterval},
		HTTP:          checks.HTTPSpec{Method: defaultMethod},
	}
}

// settingKeys are the per-target settings `defaults:` may also hold.
func settingKeys() []string {
	return []string{
		"every", "schedule", "timeout", "fail_after", "recover_after", "remind_every",
		"escalate_after", "ack_expires", "group_wait", "flap_high", "flap_low", "tags",
		"count", "ping_interval", "max_loss",
		"method", "headers", "body", "expect_status", "contains", "max_latency",
		"cert_days", "insecure_skip_verify", "ca_file",
	}
}

// perTargetKeys are the keys only a target itself may hold.
func perTargetKeys() []string {
	return []string{"name", "ping", "http", "tcp", "hosts_file", "depends_on"}
}

func cloneTarget(t checks.Target) checks.Target {
	t.Tags = slices.Clone(t.Tags)
	t.DependsOn = slices.Clone(t.DependsOn)
	t.HTTP.Headers = maps.Clone(t.HTTP.Headers)
	t.HTTP.ExpectStatus = slices.Clone(t.HTTP.ExpectStatus)
	return t
}

// defaults decodes `defaults:` over the built-in settings into the
// template every target starts from.
func (d *decoder) defaults(n *node) checks.Target {
	t := builtinTarget()
	allowed := append(settingKeys(), perTargetKeys()...)
	d.fields(n, "defaults", allowed, func(e entry, k string) {
		if contains(perTargetKeys(), e.key) {
			d.add(e.line, k, "only per target, not in defaults")
			return
		}
		d.setting(&t, e, k)
	})
	d.scheduleKeys(n, "defaults")
	d.flap(n, nil, "defaults", t)
	return t
}

// scheduleKeys reports `every` and `schedule` both set in one mapping.
func (d *decoder) scheduleKeys(n *node, key string) {
	if n.kind != mapNode || !n.has("every") || !n.has("schedule") {
		return
	}
	last := n.entries[0]
	for _, e := range n.entries {
		if e.key == "every" || e.key == "schedule" {
			last = e
		}
	}
	d.add(last.line, joinKey(key, last.key), "every and schedule are both set; use one")
}

// flap reports flap_low above flap_high in t, at own's flap_low (or
// flap_high) key, else at inherited's; nothing when neither mapping sets
// either (the problem was then reported for `defaults:` already).
func (d *decoder) flap(own, inherited *node, key string, t checks.Target) {
	if t.FlapLow <= t.FlapHigh {
		return
	}
	for _, n := range []*node{own, inherited} {
		if n == nil || n.kind != mapNode {
			continue
		}
		for _, name := range []string{"flap_low", "flap_high"} {
			for _, e := range n.entries {
				if e.key == name {
					k := key
					if n != own {
						k = "defaults"
					}
					d.add(e.line, joinKey(k, name), "flap_low %s%% is above flap_high %s%%",
						fmtFloat(t.FlapLow), fmtFloat(t.FlapHigh))
					return
				}
			}
		}
		if n == own {
			// The target sets neither: its values are all inherited.
			return
		}
	}
}

func fmtFloat(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// setting decodes one per-target setting e into t; on a problem t keeps its
// earlier value.
func (d *decoder) setting(t *checks.Target, e entry, k string) {
	n := e.val
	switch e.key {
	case "every":
		if v, ok := d.duration(n, k, positive); ok {
			// robfig/cron runs @every in whole seconds, at least 1s.
			if v < time.Second || v%time.Second != 0 {
				d.add(n.line, k, "must be a whole number of seconds, at least 1s")
				return
			}
			t.Schedule, t.Every = "@every "+v.String(), v
		}
	case "schedule":
		if spec, every, ok := d.cron(n, k); ok {
			t.Schedule, t.Every = spec, every
		}
	case "timeout":
		setIf(&t.Timeout)(d.duration(n, k, positive))
	case "fail_after":
		setIf(&t.FailAfter)(d.integer(n, k, 1, math.MaxInt))
	case "recover_after":
		setIf(&t.RecoverAfter)(d.integer(n, k, 1, math.MaxInt))
	case "remind_every":
		setIf(&t.RemindEvery)(d.duration(n, k, nonNegative))
	case "escalate_after":
		setIf(&t.EscalateAfter)(d.duration(n, k, nonNegative))
	case "ack_expires":
		setIf(&t.AckExpires)(d.duration(n, k, nonNegative))
	case "group_wait":
		setIf(&t.GroupWait)(d.duration(n, k, nonNegative))
	case "flap_high":
		setIf(&t.FlapHigh)(d.percent(n, k))
	case "flap_low":
		setIf(&t.FlapLow)(d.percent(n, k))
	case "tags":
		setIf(&t.Tags)(d.strList(n, k))
	case "count":
		setIf(&t.Ping.Count)(d.integer(n, k, 1, maxCount))
	case "ping_interval":
		setIf(&t.Ping.Interval)(d.duration(n, k, positive))
	case "max_loss":
		if v, ok := d.percent(n, k); ok {
			t.Ping.MaxLoss, t.Ping.HasMaxLoss = v, true
		}
	case "method":
		if s, ok := d.scalar(n, k); ok {
			if m, good := httpMethod(strings.TrimSpace(s.text)); good {
				t.HTTP.Method = m
			} else {
				d.add(n.line, k, "%s is not an HTTP method", s.q())
			}
		}
	case "headers":
		setIf(&t.HTTP.Headers)(d.headers(n, k))
	case "body":
		setIf(&t.HTTP.Body)(d.str(n, k))
	case "expect_status":
		setIf(&t.HTTP.ExpectStatus)(d.statuses(n, k))
	case "contains":
		setIf(&t.HTTP.Contains)(d.str(n, k))
	case "max_latency":
		setIf(&t.HTTP.MaxLatency)(d.duration(n, k, positive))
	case "cert_days":
		setIf(&t.HTTP.CertDays)(d.integer(n, k, 0, math.MaxInt))
	case "insecure_skip_verify":
		setIf(&t.HTTP.InsecureSkipVerify)(d.boolean(n, k))
	case "ca_file":
		setIf(&t.HTTP.CAFile)(d.readableFile(n, k))
	}
}

// setIf returns a func that stores v in dst when ok: the glue between the
// decoders' (value, ok) results and the fields they fill.
func setIf[T any](dst *T) func(v T, ok bool) {
	return func(v T, ok bool) {
		if ok {
			*dst = v
		}
	}
}

// cron decodes a cron spec and its @every interval.
func (d *decoder) cron(n *node, k string) (string, time.Duration, bool) {
	s, ok := d.scalar(n, k)
	if !ok {
		return "", 0, false
	}
	if strings.TrimSpace(s.text) == "" {
		d.add(n.line, k, "required")
		return "", 0, false
	}
	every, err := parseCron(s.text)
	if err != nil {
		d.add(n.line, k, "invalid cron spec %s: %v", s.q(), err)
		return "", 0, false
	}
	return s.text, every, true
}

// headers decodes a mapping of header names to values. Values are never
// quoted in messages: they often carry credentials.
func (d *decoder) headers(n *node, k string) (map[string]string, bool) {
	switch n.kind {
	case nullNode:
		return nil, true
	case mapNode:
	default:
		d.add(n.line, k, "must be a mapping of header names to values, not %s", n.kind)
		return nil, false
	}
	out := map[string]string{}
	ok := true
	for _, e := range n.entries {
		hk := joinKey(k, e.key)
		if !validHeaderName(e.key) {
			d.add(e.line, hk, "is not a valid header name")
			ok = false
			continue
		}
		v, good := d.str(e.val, hk)
		if !good {
			ok = false
			continue
		}
		if !validHeaderValue(v) {
			d.add(e.line, hk, "value holds a control character")
			ok = false
			continue
		}
		out[e.key] = v
	}
	return out, ok
}

// statuses decodes expect_status: a list of codes (or one code) 100–599.
func (d *decoder) statuses(n *node, k string) ([]int, bool) {
	if n.kind == scalarNode {
		v, ok := d.integer(n, k, 100, 599)
		return []int{v}, ok
	}
	var out []int
	ok := d.list(n, k, func(item *node, ik string, _ int) {
		if v, good := d.integer(item, ik, 100, 599); good {
			out = append(out, v)
		}
	})
	return out, ok
}

// readableFile decodes a path that must name a readable regular file; a
// relative path is taken from the config file's directory.
func (d *decoder) readableFile(n *node, k string) (string, bool) {
	s, ok := d.scalar(n, k)
	if !ok {
		return "", false
	}
	if s.text == "" {
		d.add(n.line, k, "required")
		return "", false
	}
	p := s.text
	if !filepath.IsAbs(p) {
		p = filepath.Join(d.dir, p)
	}
	f, err := os.Open(p)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		d.add(n.line, k, "cannot read %s: %v", s.q(), err)
		return "", false
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		d.add(n.line, k, "%s is a directory", s.q())
		return "", false
	}
	return p, true
}

// depRef is one name in a depends_on list.
type depRef struct {
	name string
	line int
}

// targetInfo is what resolving depends_on needs about a target.
type targetInfo struct {
	key  string // targets[i]
	deps []depRef
}

// targets decodes `targets:` over the template.
func (d *decoder) targets(n *node, tmpl checks.Target, defaults *node) []checks.Target {
	var (
		out   []checks.Target
		infos []targetInfo
		first = map[string]int{} // name → line of its first use
		// fromFile is where a name from a hosts_file was first used.
		fromFile = map[string]string{}
	)
	allowed := append(perTargetKeys(), settingKeys()...)
	d.list(n, "targets", func(item *node, k string, _ int) {
		if item.kind != mapNode {
			d.add(item.line, k, "must be a mapping, not %s", item.kind)
			return
		}
		var kinds []string
		for _, e := range item.entries {
			if contains(kindKeys(), e.key) {
				kinds = append(kinds, e.key)
			}
		}
		t := cloneTarget(tmpl)
		info := targetInfo{key: k}
		hasName := false
		var hosts []hostLine // from hosts_file
		hostsFile := false
		d.fields(item, k, allowed, func(e entry, ek string) {
			if want := kindOnly(e.key); want != "" && len(kinds) == 1 && want != kindOfKey(kinds[0]) {
				d.add(e.line, ek, "only for %s targets", want)
				return
			}
			switch e.key {
			case "name":
				hasName = true
				s, ok := d.scalar(e.val, ek)
				switch {
				case !ok:
				case s.text == "":
					d.add(e.line, ek, "required")
				case !validName(s.text):
					d.add(e.line, ek, "%s is not a valid name: letters, digits, '.', '_', '-', starting with a letter or digit, at most 100", s.q())
				default:
					if line, dup := first[s.text]; dup {
						d.add(e.line, ek, "duplicate name %s (first at line %d)", s.q(), line)
					} else {
						first[s.text] = e.line
					}
					t.Name = s.text
				}
			case "ping":
				t.Kind = checks.KindPing
				if s, ok := d.scalar(e.val, ek); ok {
					if h := strings.TrimSpace(s.text); validHost(h) {
						t.Ping.Host = h
					} else {
						d.add(e.line, ek, "%s is not a hostname or IP address%s", s.q(), hostHint(h))
					}
				}
			case "http":
				t.Kind = checks.KindHTTP
				if s, ok := d.scalar(e.val, ek); ok {
					if err := checkURL(strings.TrimSpace(s.text)); err != nil {
						d.add(e.line, ek, "URL %v", err)
					} else {
						t.HTTP.URL = strings.TrimSpace(s.text)
					}
				}
			case "hosts_file":
				t.Kind, hostsFile = checks.KindPing, true
				if p, ok := d.readableFile(e.val, ek); ok {
					hosts = d.hostsFile(p, ek)
				}
			case "tcp":
				t.Kind = checks.KindTCP
				if s, ok := d.scalar(e.val, ek); ok {
					if err := hostPort(strings.TrimSpace(s.text), 1, false); err != nil {
						d.add(e.line, ek, "%s %v", s.q(), err)
					} else {
						t.TCP.Address = strings.TrimSpace(s.text)
					}
				}
			case "group_wait":
				// DESIGN: grouping is one window for every alert.
				d.add(e.line, ek, "only in defaults")
			case "depends_on":
				d.list(e.val, ek, func(dn *node, dk string, _ int) {
					if s, ok := d.required(dn, dk); ok {
						info.deps = append(info.deps, depRef{name: s, line: dn.line})
					}
				})
			default:
				d.setting(&t, e, ek)
			}
		})
		switch {
		case hostsFile && hasName:
			d.add(item.line, joinKey(k, "name"), "not with hosts_file: each line of the file names its target")
		case !hasName && !hostsFile:
			d.add(item.line, joinKey(k, "name"), "required")
		}
		switch len(kinds) {
		case 0:
			d.add(item.line, k, "needs exactly one of ping, http, tcp")
		case 1:
		case 2:
			d.add(item.line, k, "has both %s and %s", kinds[0], kinds[1])
		default:
			d.add(item.line, k, "has %s; needs exactly one", strings.Join(kinds, ", "))
		}
		d.scheduleKeys(item, k)
		d.flap(item, defaults, k, t)
		d.coherent(item, k, t)
		// Only the spec of the target's own kind stays.
		if t.Kind != checks.KindPing {
			t.Ping = checks.PingSpec{}
		}
		if t.Kind != checks.KindHTTP {
			t.HTTP = checks.HTTPSpec{}
		}
		if t.Kind != checks.KindTCP {
			t.TCP = checks.TCPSpec{}
		}
		if !hostsFile {
			out = append(out, t)
			infos = append(infos, info)
			return
		}
		for _, h := range hosts {
			if line, dup := first[h.name]; dup {
				at, inFile := fromFile[h.name]
				if !inFile {
					at = fmt.Sprintf("line %d", line)
				}
				d.problems = append(d.problems, Problem{Path: h.path, Line: h.line, Key: joinKey(k, "hosts_file"),
					Message: fmt.Sprintf("duplicate name %q (first at %s)", h.name, at)})
				continue
			}
			first[h.name] = item.line
			fromFile[h.name] = fmt.Sprintf("%s:%d", filepath.Base(h.path), h.line)
			ht := cloneTarget(t)
			ht.Name, ht.Ping.Host = h.name, h.host
			out = append(out, ht)
			infos = append(infos, info)
		}
	})
	d.dependencies(out, infos)
	return out
}

// coherent reports settings that are each valid but cannot work together
// on target t (after defaults): a check that would silently do less than
// the config says.
func (d *decoder) coherent(item *node, k string, t checks.Target) {
	// at is the line of the first of keys the target itself sets, else the
	// target's: where to point the user.
	at := func(keys ...string) (int, string) {
		for _, key := range keys {
			for _, e := range item.entries {
				if e.key == key {
					return e.line, joinKey(k, key)
				}
			}
		}
		return item.line, joinKey(k, keys[0])
	}
	switch t.Kind {
	case checks.KindPing:
		if need := time.Duration(t.Ping.Count-1) * t.Ping.Interval; t.Ping.Count > 1 && need >= t.Timeout {
			line, key := at("count", "ping_interval", "timeout")
			d.add(line, key, "%d echoes %s apart take %s, not less than the %s timeout: later echoes would never be sent",
				t.Ping.Count, t.Ping.Interval, need, t.Timeout)
		}
	case checks.KindHTTP:
		// cert_days in defaults: for the https targets among many.
		if line, key := at("cert_days"); line != item.line && t.HTTP.CertDays > 0 &&
			strings.HasPrefix(strings.ToLower(t.HTTP.URL), "http://") {
			d.add(line, key, "needs an https URL: a plain http check has no certificate")
		}
		if t.HTTP.Method == "HEAD" && t.HTTP.Contains != "" {
			line, key := at("contains", "method")
			d.add(line, key, "a HEAD response has no body to search")
		}
	}
}

// kindKeys are the target keys that choose its kind, in DESIGN's order;
// hosts_file is a list of ping targets.
func kindKeys() []string { return []string{"ping", "http", "tcp", "hosts_file"} }

// kindOfKey is the kind a kind key gives its target.
func kindOfKey(key string) checks.Kind {
	if key == "hosts_file" {
		return checks.KindPing
	}
	return checks.Kind(key)
}

// hostLine is one target of a hosts_file.
type hostLine struct {
	path       string
	line       int
	host, name string
}

// maxHostsFile bounds a hosts_file's size.
const maxHostsFile = 64 << 20

// hostsFile reads a hosts_file, as fping -f does: one host per line, then
// optionally the target's name (else the host is the name); blank lines
// and '#' comments are skipped. Problems name the file and its line.
func (d *decoder) hostsFile(path, k string) []hostLine {
	add := func(line int, format string, args ...any) {
		d.problems = append(d.problems, Problem{Path: path, Line: line, Key: k, Message: fmt.Sprintf(format, args...)})
	}
	st, err := os.Stat(path)
	if err == nil && st.Size() > maxHostsFile {
		add(0, "larger than %d MiB", maxHostsFile>>20)
		return nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		add(0, "cannot read: %v", err)
		return nil
	}
	var out []hostLine
	for i, text := range strings.Split(string(data), "\n") {
		if c := strings.IndexByte(text, '#'); c >= 0 {
			text = text[:c]
		}
		f := strings.Fields(text)
		if len(f) == 0 {
			continue
		}
		h := hostLine{path: path, line: i + 1, host: f[0], name: f[0]}
		switch {
		case len(f) > 2:
			add(h.line, "want HOST [NAME], not %d fields", len(f))
			continue
		case !validHost(h.host):
			add(h.line, "%q is not a hostname or IP address%s", h.host, hostHint(h.host))
			continue
		case len(f) == 2:
			h.name = f[1]
		}
		if !validName(h.name) {
			hint := ""
			if len(f) == 1 {
				hint = "; give the target a name after the host"
			}
			add(h.line, "%q is not a valid name: letters, digits, '.', '_', '-', starting with a letter or digit, at most 100%s", h.name, hint)
			continue
		}
		out = append(out, h)
	}
	if len(out) == 0 && len(d.problems) == 0 {
		add(0, "no hosts in it")
	}
	return out
}

// hostHint explains the usual mistakes in a ping host.
func hostHint(h string) string {
	switch {
	case strings.Contains(h, "://"):
		return " (a ping target takes a host, not a URL)"
	case strings.Contains(h, ":") && !strings.Contains(h, "::"):
		return " (a ping target takes no port)"
	}
	return ""
}

// dependencies resolves depends_on: every parent must exist and not be the
// target itself, and the graph must have no cycle.
func (d *decoder) dependencies(ts []checks.Target, infos []targetInfo) {
	index := map[string]int{}
	for i, t := range ts {
		if _, dup := index[t.Name]; !dup && t.Name != "" {
			index[t.Name] = i
		}
	}
	edges := make([][]depRef, len(ts))
	for i, info := range infos {
		seen := map[string]bool{}
		for j, dep := range info.deps {
			k := indexKey(joinKey(info.key, "depends_on"), j)
			switch _, known := index[dep.name]; {
			case dep.name == ts[i].Name:
				d.add(dep.line, k, "a target cannot depend on itself")
			case !known:
				d.add(dep.line, k, "unknown target %q", dep.name)
			case !seen[dep.name]:
				seen[dep.name] = true
				ts[i].DependsOn = append(ts[i].DependsOn, dep.name)
				edges[i] = append(edges[i], dep)
			}
		}
	}
	// Depth-first search in file order; each edge back into the current
	// path closes a cycle, reported at the target whose edge closes it.
	const (
		white = iota
		grey
		black
	)
	color := make([]int, len(ts))
	var stack []int
	var visit func(u int)
	visit = func(u int) {
		color[u] = grey
		stack = append(stack, u)
		for _, dep := range edges[u] {
			v := index[dep.name]
			switch color[v] {
			case white:
				visit(v)
			case grey:
				at := slices.Index(stack, v)
				names := []string{ts[u].Name}
				for _, w := range stack[at:] {
					names = append(names, ts[w].Name)
				}
				// names reads u -> v -> … -> u.
				d.add(dep.line, joinKey(infos[u].key, "depends_on"), "cycle: %s", strings.Join(names, " -> "))
			}
		}
		stack = stack[:len(stack)-1]
		color[u] = black
	}
	for i := range ts {
		if color[i] == white {
			visit(i)
		}
	}
}
