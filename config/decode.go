package config

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// decoder walks the tree and collects every problem instead of stopping at
// the first.
type decoder struct {
	path     string
	dir      string // the config file's directory, for relative paths
	getenv   func(string) string
	problems []Problem
}

func (d *decoder) add(line int, key, format string, args ...any) {
	d.problems = append(d.problems, Problem{Path: d.path, Line: line, Key: key, Message: fmt.Sprintf(format, args...)})
}

// sorted returns the problems in file order; problems on one line keep the
// order they were found in.
func (d *decoder) sorted() []Problem {
	sort.SliceStable(d.problems, func(i, j int) bool { return d.problems[i].Line < d.problems[j].Line })
	return d.problems
}

// joinKey appends key to the YAML path parent; a key that is not a plain
// word (a header name with a space, say) is quoted.
func joinKey(parent, key string) string {
	if !plainKey(key) {
		key = strconv.Quote(key)
	}
	if parent == "" {
		return key
	}
	return parent + "." + key
}

func plainKey(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func indexKey(parent string, i int) string {
	return fmt.Sprintf("%s[%d]", parent, i)
}

// fields calls fn for each entry of the mapping n in file order, after
// reporting keys not in allowed as unknown. A null n (`slack:` with nothing
// after it) is an empty mapping. It returns false when n is not a mapping.
func (d *decoder) fields(n *node, key string, allowed []string, fn func(e entry, k string)) bool {
	switch n.kind {
	case nullNode:
		return true
	case mapNode:
	default:
		d.add(n.line, key, "must be a mapping, not %s", n.kind)
		return false
	}
	for _, e := range n.entries {
		k := joinKey(key, e.key)
		if !contains(allowed, e.key) {
			d.unknown(e, k, allowed)
			continue
		}
		fn(e, k)
	}
	return true
}

func (d *decoder) unknown(e entry, k string, allowed []string) {
	if s := suggest(e.key, allowed); s != "" {
		d.add(e.line, k, "unknown key (did you mean %s?)", s)
		return
	}
	d.add(e.line, k, "unknown key")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// suggest returns the allowed key closest to key when it is close enough to
// be a typo, else "".
func suggest(key string, allowed []string) string {
	best, bestDist := "", 3
	for _, a := range allowed {
		if dist := editDistance(key, a); dist < bestDist {
			best, bestDist = a, dist
		}
	}
	if bestDist > len(key)/2 {
		return ""
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// scalar is one expanded scalar value.
type scalar struct {
	text     string // after ${} expansion
	raw      string // as written
	expanded bool
	line     int
}

// q quotes the value for a message: as written when it came (partly) from
// the environment, so an expanded value (perhaps a secret) is never shown.
func (s scalar) q() string {
	if s.expanded {
		return strconv.Quote(s.raw)
	}
	return strconv.Quote(s.text)
}

// scalar expands the single value n. A null n is "". It reports a problem
// and returns false when n is a mapping or list or its ${} fails.
func (d *decoder) scalar(n *node, key string) (scalar, bool) {
	switch n.kind {
	case nullNode:
		return scalar{line: n.line}, true
	case scalarNode:
	default:
		d.add(n.line, key, "must be a single value, not %s", n.kind)
		return scalar{}, false
	}
	out, expanded, err := expand(n.text, d.getenv)
	if err != nil {
		d.add(n.line, key, "%v", err)
		return scalar{}, false
	}
	return scalar{text: out, raw: n.text, expanded: expanded, line: n.line}, true
}

func (d *decoder) str(n *node, key string) (string, bool) {
	s, ok := d.scalar(n, key)
	return s.text, ok
}

// required is str that also insists on a non-empty value.
func (d *decoder) required(n *node, key string) (string, bool) {
	s, ok := d.scalar(n, key)
	if !ok {
		return "", false
	}
	if s.text == "" {
		d.add(n.line, key, "required")
		return "", false
	}
	return s.text, true
}

// integer decodes a whole number in [lo, hi].
func (d *decoder) integer(n *node, key string, lo, hi int) (int, bool) {
	s, ok := d.scalar(n, key)
	if !ok {
		return 0, false
	}
	v, err := strconv.Atoi(strings.TrimSpace(s.text))
	if err != nil {
		d.add(s.line, key, "%s is not a whole number", s.q())
		return 0, false
	}
	if v < lo || v > hi {
		if hi == math.MaxInt {
			d.add(s.line, key, "must be at least %d, not %d", lo, v)
		} else {
			d.add(s.line, key, "must be between %d and %d, not %d", lo, hi, v)
		}
		return 0, false
	}
	return v, true
}

func (d *decoder) boolean(n *node, key string) (bool, bool) {
	s, ok := d.scalar(n, key)
	if !ok {
		return false, false
	}
	switch strings.ToLower(strings.TrimSpace(s.text)) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	d.add(s.line, key, "%s is not true or false", s.q())
	return false, false
}

// durMin says what a duration may be: more than zero, or zero and more.
type durMin int

const (
	positive durMin = iota
	nonNegative
)

func (d *decoder) duration(n *node, key string, m durMin) (time.Duration, bool) {
	s, ok := d.scalar(n, key)
	if !ok {
		return 0, false
	}
	v, err := ParseDuration(strings.TrimSpace(s.text))
	if err != nil {
		d.add(s.line, key, "%s is not a duration", s.q())
		return 0, false
	}
	switch {
	case v < 0:
		d.add(s.line, key, "must not be negative, not %s", s.q())
		return 0, false
	case v == 0 && m == positive:
		d.add(s.line, key, "must be more than 0")
		return 0, false
	}
	return v, true
}

// ParseDuration is time.ParseDuration that also takes a `d` unit of 24h:
// "1d", "2d12h", "1.5d".
func ParseDuration(s string) (time.Duration, error) {
	if !strings.Contains(s, "d") {
		return time.ParseDuration(s)
	}
	// Rewrite every <number>d into hours, keep everything else as is and
	// let time.ParseDuration judge the result.
	var b strings.Builder
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && (s[j] >= '0' && s[j] <= '9' || s[j] == '.') {
			j++
		}
		if j > i && j < len(s) && s[j] == 'd' {
			days, err := strconv.ParseFloat(s[i:j], 64)
			if err != nil || days > 1e5 {
				return 0, fmt.Errorf("bad days in %q", s)
			}
			b.WriteString(strconv.FormatFloat(days*24, 'f', -1, 64))
			b.WriteString("h")
			i = j + 1
			continue
		}
		if j > i {
			b.WriteString(s[i:j])
			i = j
			continue
		}
		b.WriteByte(s[i])
		i++
	}
	return time.ParseDuration(b.String())
}

// percent decodes "50%" or 50 as a percentage in [0, 100].
func (d *decoder) percent(n *node, key string) (float64, bool) {
	s, ok := d.scalar(n, key)
	if !ok {
		return 0, false
	}
	t := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s.text), "%"))
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || math.IsNaN(v) {
		d.add(s.line, key, "%s is not a percentage", s.q())
		return 0, false
	}
	if v < 0 || v > 100 {
		d.add(s.line, key, "%s is not a percentage between 0 and 100", s.q())
		return 0, false
	}
	return v, true
}

// list calls fn for each item of the list n (null: none). A single value
// where a list belongs is a problem.
func (d *decoder) list(n *node, key string, fn func(item *node, k string, i int)) bool {
	switch n.kind {
	case nullNode:
		return true
	case seqNode:
	default:
		d.add(n.line, key, "must be a list, not %s", n.kind)
		return false
	}
	for i, item := range n.items {
		fn(item, indexKey(key, i), i)
	}
	return true
}

// strList decodes a list of non-empty single values.
func (d *decoder) strList(n *node, key string) ([]string, bool) {
	var out []string
	ok := d.list(n, key, func(item *node, k string, _ int) {
		s, good := d.required(item, k)
		if good {
			out = append(out, s)
		}
	})
	return out, ok
}
