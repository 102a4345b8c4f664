package main

import (
	"encoding/json"
	"errors"
	"math"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/tocsin/tocsin/checks"
	discordnotify "github.com/tocsin/tocsin/notify/discord"
	slacknotify "github.com/tocsin/tocsin/notify/slack"
	"github.com/tocsin/tocsin/resultslog"
	"github.com/tocsin/tocsin/state"
)

func TestPercentile(t *testing.T) {
	seq := func(n int) []float64 {
		xs := make([]float64, n)
		for i := range xs {
			xs[i] = float64(i + 1)
		}
		return xs
	}
	cases := []struct {
		xs   []float64
		p    float64
		want float64
	}{
		{seq(200), 50, 100},
		{seq(200), 90, 180},
		{seq(200), 99, 198}, // 99·200/100 is exactly 198, not 199
		{seq(200), 100, 200},
		{seq(100), 99, 99},
		{seq(20), 99, 20},
		{seq(20), 50, 10},
		{seq(1), 1, 1},
		{seq(1), 99, 1},
		{[]float64{3, 7}, 50, 3},
		{[]float64{3, 7}, 51, 7},
	}
	for _, c := range cases {
		if got := percentile(c.xs, c.p); got != c.want {
			t.Errorf("percentile(%d values, %v) = %v, want %v", len(c.xs), c.p, got, c.want)
		}
	}
	if got := percentile(nil, 50); !math.IsNaN(got) {
		t.Errorf("percentile of nothing = %v, want NaN", got)
	}
}

func TestMedianAndStats(t *testing.T) {
	if got := median([]float64{5, 1, 3}); got != 3 {
		t.Errorf("median odd = %v", got)
	}
	if got := median([]float64{4, 1, 3, 2}); got != 2.5 {
		t.Errorf("median even = %v", got)
	}
	if got := nanMedian([]float64{math.NaN(), 2, 4}); got != 3 {
		t.Errorf("nanMedian = %v", got)
	}
	s := stats([]float64{10, math.NaN(), 30, 20})
	if s.measured != 3 || s.missing != 1 || s.p50 != 20 || s.max != 30 || s.mean != 20 {
		t.Errorf("stats = %+v", s)
	}
	if got := maxOf([]float64{1, math.NaN()}); !math.IsInf(got, 1) {
		t.Errorf("maxOf with a missing value = %v, want +Inf", got)
	}
}

func TestParseResult(t *testing.T) {
	start := time.Date(2026, 11, 25, 12, 0, 0, 123_456_789, time.UTC)
	line, err := resultslog.Marshal(checks.Result{
		Target: "shop", Kind: checks.KindHTTP, OK: true, Latency: 12500 * time.Microsecond, Time: start, StatusCode: 200,
	})
	if err != nil {
		t.Fatal(err)
	}
	r, err := parseResult(line[:len(line)-1])
	if err != nil {
		t.Fatal(err)
	}
	// The log keeps milliseconds: the start is truncated to them.
	if want := start.Truncate(time.Millisecond); !r.Start.Equal(want) || r.Name != "shop" || !r.OK ||
		r.Latency != 12500*time.Microsecond {
		t.Errorf("parsed %+v from %s", r, line)
	}
	if want := start.Truncate(time.Millisecond).Add(12500 * time.Microsecond); !r.End().Equal(want) {
		t.Errorf("End = %v, want %v", r.End(), want)
	}

	// A refused connect: failed, latency 0, End is the start.
	line, _ = resultslog.Marshal(checks.Result{Target: "lat0001", Kind: checks.KindTCP, Time: start,
		Reason: "dial tcp 127.0.0.1:9: connect: connection refused"})
	r, err = parseResult(line)
	if err != nil || r.OK || r.Latency != 0 || !r.End().Equal(r.Start) {
		t.Errorf("failed line: %+v, %v", r, err)
	}

	for _, bad := range []string{`{"name":"x","ok":true}`, `{"time":"yesterday","name":"x","ok":true}`, `not json`, `{"time":"2026-11-25T12:00:00.000Z","ok":true}`} {
		if _, err := parseResult([]byte(bad)); err == nil {
			t.Errorf("parseResult(%s) took it", bad)
		}
	}
}

func TestTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "results.jsonl")
	tl, err := newTail(path, -1) // not there yet
	if err != nil {
		t.Fatal(err)
	}
	defer tl.close()
	if rs, err := tl.next(); err != nil || len(rs) != 0 {
		t.Fatalf("missing file: %v, %v", rs, err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	a := `{"time":"2026-11-25T12:00:00.000Z","name":"a","kind":"tcp","ok":true,"latency_ms":0.1,"error":""}`
	b := `{"time":"2026-11-25T12:00:01.000Z","name":"b","kind":"tcp","ok":false,"latency_ms":0,"error":"refused"}`
	// One whole line and half of the next.
	if _, err := f.WriteString(a + "\n" + b[:20]); err != nil {
		t.Fatal(err)
	}
	rs, err := tl.next()
	if err != nil || len(rs) != 1 || rs[0].Name != "a" {
		t.Fatalf("first read: %+v, %v", rs, err)
	}
	if _, err := f.WriteString(b[20:] + "\ngarbage\n"); err != nil {
		t.Fatal(err)
	}
	rs, err = tl.next()
	if err != nil || len(rs) != 1 || rs[0].Name != "b" || rs[0].OK {
		t.Fatalf("second read: %+v, %v", rs, err)
	}
	if tl.bad != 1 {
		t.Errorf("bad lines = %d, want 1", tl.bad)
	}

	// Started at the end of an existing file: only what comes later.
	tl2, err := newTail(path, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer tl2.close()
	if _, err := f.WriteString(a + "\n"); err != nil {
		t.Fatal(err)
	}
	if rs, err := tl2.next(); err != nil || len(rs) != 1 {
		t.Errorf("tail from the end: %+v, %v", rs, err)
	}
}

// down is the DOWN event of a tcp target as tocsin's tracker makes it.
func down(name string) state.Event {
	return state.Event{
		Kind: state.EventDown, Target: name, TargetKind: checks.KindTCP, Address: "127.0.0.1:40001",
		IncidentID: 7, Reason: "dial tcp 127.0.0.1:40001: connect: connection refused",
		Cause: "dial tcp 127.0.0.1:40001: connect: connection refused", Time: time.Now(), Since: time.Now(),
	}
}

func TestSlackAlertTarget(t *testing.T) {
	// The text tocsin's Slack notifier really renders.
	for _, name := range []string{"lat0001", "shop_db", "a.b-c"} {
		text := slacknotify.AlertMessage(down(name)).Text
		got, ok := slackAlertTarget(url.Values{"channel": {"C0"}, "text": {text}})
		if !ok || got != name {
			t.Errorf("from %q: %q, %v; want %q", text, got, ok, name)
		}
	}
	up := down("lat0002")
	up.Kind = state.EventUp
	for _, text := range []string{slacknotify.AlertMessage(up).Text, "", "DOWN", "12 targets down: a, b"} {
		if got, ok := slackAlertTarget(url.Values{"text": {text}}); ok {
			t.Errorf("from %q: %q, want nothing", text, got)
		}
	}
}

func TestDiscordAlertTarget(t *testing.T) {
	for _, name := range []string{"lat0001", "shop_db", "a.b-c"} {
		msg := discordnotify.AlertMessage(down(name))
		body, err := json.Marshal(map[string]any{
			"embeds": msg.Embeds, "components": msg.Components, "allowed_mentions": msg.AllowedMentions,
			"nonce": "tocsin-1-2", "enforce_nonce": true,
		})
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := discordAlertTarget(body); !ok || got != name {
			t.Errorf("embed for %s: %q, %v (%s)", name, got, ok, body)
		}
		// The text-only form, sent when Discord refuses the embed.
		text, _ := json.Marshal(discordnotify.PlainMessage(discordnotify.AlertText(down(name))))
		if got, ok := discordAlertTarget(text); !ok || got != name {
			t.Errorf("text for %s: %q, %v (%s)", name, got, ok, text)
		}
	}
	reply := []byte(`{"content":"DOWN lat0003: again","message_reference":{"message_id":"1"}}`)
	if got, ok := discordAlertTarget(reply); ok {
		t.Errorf("a reply taken as an alert of %q", got)
	}
	if !isReply(reply) || isReply([]byte(`{"content":"x","message_reference":null}`)) {
		t.Error("isReply")
	}
	for _, body := range []string{`not json`, `{"embeds":[{"title":"RESOLVED lat0001"}]}`, `{}`} {
		if got, ok := discordAlertTarget([]byte(body)); ok {
			t.Errorf("from %s: %q, want nothing", body, got)
		}
	}
}

func TestLoopbackAddr(t *testing.T) {
	cases := map[string]string{
		"127.0.0.1:8080": "127.0.0.1:8080",
		"0.0.0.0:8080":   "127.0.0.1:8080",
		":8080":          "127.0.0.1:8080",
		"localhost:9":    "127.0.0.1:9",
		"[::]:8080":      "[::1]:8080",
		"[::1]:8080":     "[::1]:8080",
		"127.0.0.1:0":    "",
		"10.0.0.1:8080":  "",
		"example.com:80": "",
		"nonsense":       "",
	}
	for in, want := range cases {
		got, ok := loopbackAddr(in)
		if got != want || ok != (want != "") {
			t.Errorf("loopbackAddr(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

func TestLogWatch(t *testing.T) {
	var sink discard
	lw := newLogWatch(&sink)
	lines := `{"time":"x","level":"INFO","msg":"state opened"}` + "\n" +
		`{"time":"x","level":"INFO","msg":"tocsin running","listen":"127.0.0.1:41234","targets":3}` + "\n"
	// In two writes, split inside a line.
	if _, err := lw.Write([]byte(lines[:70])); err != nil {
		t.Fatal(err)
	}
	if at, _ := lw.runningAt(); !at.IsZero() {
		t.Fatal("running before the line")
	}
	if _, err := lw.Write([]byte(lines[70:])); err != nil {
		t.Fatal(err)
	}
	at, listen := lw.runningAt()
	if at.IsZero() || listen != "127.0.0.1:41234" || sink.n != len(lines) {
		t.Errorf("runningAt = %v %q; %d bytes copied of %d", at, listen, sink.n, len(lines))
	}
}

type discard struct{ n int }

func (d *discard) Write(p []byte) (int, error) { d.n += len(p); return len(p), nil }

func TestStrayAlerts(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	rows := []transition{
		{Target: "a", Closed: at(1000), Decided: at(1500)},
		{Target: "b", Closed: at(3000), Decided: at(3200)},
	}
	fails := map[string][]time.Time{"a": {at(1500), at(2500)}, "b": {at(500), at(3200)}}
	slack := map[string][]time.Time{"a": {at(1504)}, "b": {at(600), at(3204)}}
	discord := map[string][]time.Time{"a": {at(1503), at(9000)}, "b": {at(3203)}}
	// b failed and alerted on Slack before its close (2), a's Discord twice (1).
	if got := strayAlerts(rows, fails, slack, discord); got != 3 {
		t.Errorf("strayAlerts = %d, want 3", got)
	}
	if got := firstFrom(slack["b"], at(3200)); !got.Equal(at(3204)) {
		t.Errorf("firstFrom = %v", got)
	}
	if got := firstFrom(slack["b"], time.Time{}); !got.IsZero() {
		t.Errorf("firstFrom a zero time = %v", got)
	}
}

func TestHoldPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	fd, err := holdPort(port)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	addr := ln.Addr().String()
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Fatal("a held port took a connection")
	} else if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("connect to a held port: %v, want refused", err)
	}
	if ln2, err := net.Listen("tcp", addr); err == nil {
		ln2.Close()
		t.Error("another listener took a held port")
	}
}
