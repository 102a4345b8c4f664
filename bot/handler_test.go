package bot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tocsin/tocsin/checks"
	"github.com/tocsin/tocsin/state"
)

// t0 is the fake clock's start.
var t0 = time.Date(2026, 11, 25, 14, 5, 0, 0, time.UTC)

// fakeState is a State of targets in memory; a nil function field answers
// with the first target of that name, or ErrUnknownTarget (AckGroup: with
// every target down and not acknowledged, ErrAlreadyAcked when all down
// are acknowledged, ErrIncidentClosed when none is down).
type fakeState struct {
	states   []state.TargetState
	ack      func(target string, incident int64, a state.Ack) (state.TargetState, error)
	ackGroup func(leader int64, a state.Ack) ([]state.TargetState, error)
	mute     func(target string, until time.Time, by string) (state.TargetState, error)
	unmute   func(target string, by string) (state.TargetState, error)
	unack    func(target string, by string) (state.TargetState, error)

	mu    sync.Mutex
	calls []string
}

var _ State = (*fakeState)(nil)

func (f *fakeState) record(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
}

func (f *fakeState) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *fakeState) find(name string) (state.TargetState, error) {
	for _, ts := range f.states {
		if ts.Name == name {
			return ts, nil
		}
	}
	return state.TargetState{}, state.ErrUnknownTarget
}

func (f *fakeState) Snapshot() []state.TargetState { return f.states }

func (f *fakeState) Ack(_ context.Context, target string, incident int64, a state.Ack) (state.TargetState, error) {
	f.record("ack %q %d %+v", target, incident, a)
	if f.ack != nil {
		return f.ack(target, incident, a)
	}
	return f.find(target)
}

func (f *fakeState) AckGroup(_ context.Context, leader int64, a state.Ack) ([]state.TargetState, error) {
	f.record("ackgroup %d %+v", leader, a)
	if f.ackGroup != nil {
		return f.ackGroup(leader, a)
	}
	var down, acked []state.TargetState
	for _, ts := range f.states {
		switch {
		case ts.Status != state.StatusDown:
		case ts.AckedBy != "":
			down = append(down, ts)
		default:
			ts.AckedBy, ts.AckedAt = a.By, t0
			acked = append(acked, ts)
			down = append(down, ts)
		}
	}
	switch {
	case len(down) == 0:
		return nil, state.ErrIncidentClosed
	case len(acked) == 0:
		return down, state.ErrAlreadyAcked
	}
	return acked, nil
}

func (f *fakeState) Mute(_ context.Context, target string, until time.Time, by string) (state.TargetState, error) {
	f.record("mute %q %s %q", target, until.Format(time.RFC3339), by)
	if f.mute != nil {
		return f.mute(target, until, by)
	}
	ts, err := f.find(target)
	ts.MutedUntil = until
	return ts, err
}

func (f *fakeState) Unack(_ context.Context, target string, by string) (state.TargetState, error) {
	f.record("unack %q %q", target, by)
	if f.unack != nil {
		return f.unack(target, by)
	}
	ts, err := f.find(target)
	ts.AckedBy, ts.AckedAt = "", time.Time{}
	return ts, err
}

func (f *fakeState) Unmute(_ context.Context, target string, by string) (state.TargetState, error) {
	f.record("unmute %q %q", target, by)
	if f.unmute != nil {
		return f.unmute(target, by)
	}
	return f.find(target)
}

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// logBuffer collects a Handler's log.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// fixture is a Handler with fakes around it.
type fixture struct {
	h     *Handler
	state *fakeState
	clock *clock
	log   *logBuffer
	// pings are the hosts the Pinger was asked to ping.
	mu    sync.Mutex
	pings []string
	// pinger answers; nil: three replies from 127.0.0.1.
	pinger Pinger
	set    Settings
}

func newFixture(t *testing.T, fs *fakeState) *fixture {
	t.Helper()
	if fs == nil {
		fs = &fakeState{}
	}
	f := &fixture{state: fs, clock: &clock{t: t0}, log: &logBuffer{}, set: policySettings()}
	f.set.RateLimit, f.set.RatePer = 5, time.Minute
	f.h = NewHandler(Options{
		State: fs,
		Ping: func(ctx context.Context, host string, count int, onReply func(checks.Reply)) (checks.PingStats, error) {
			f.mu.Lock()
			f.pings = append(f.pings, host)
			p := f.pinger
			f.mu.Unlock()
			if p == nil {
				p = fakePinger(3)
			}
			return p(ctx, host, count, onReply)
		},
		Settings: func() Settings { return f.set },
		Now:      f.clock.Now,
		Logger:   slog.New(slog.NewTextHandler(f.log, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	return f
}

func (f *fixture) Pings() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.pings...)
}

// fakePinger answers recv of count echoes, RTTs 0.045, 0.050, 0.055 ms…
func fakePinger(recv int) Pinger {
	return func(_ context.Context, host string, count int, onReply func(checks.Reply)) (checks.PingStats, error) {
		st := checks.PingStats{Host: host, Addr: "127.0.0.1", Sent: count, Received: recv,
			Loss: float64(count-recv) / float64(count) * 100}
		for i := range recv {
			rtt := 45*time.Microsecond + time.Duration(i)*5*time.Microsecond
			onReply(checks.Reply{Seq: i + 1, From: "127.0.0.1", TTL: 64, RTT: rtt, Size: 64})
			if i == 0 || rtt < st.MinRTT {
				st.MinRTT = rtt
			}
			st.MaxRTT = max(st.MaxRTT, rtt)
		}
		if recv > 0 {
			st.AvgRTT = (st.MinRTT + st.MaxRTT) / 2
			st.StdDevRTT = 4 * time.Microsecond
		}
		return st, nil
	}
}

func cmd(name string, args ...string) Command {
	return Command{Platform: "slack", Name: name, Args: args, User: User{ID: "U0ALICE", Name: "alice"},
		Channel: "C1", Allowed: true}
}

// wantRefusal fails unless r is an ephemeral refusal containing text.
func wantRefusal(t *testing.T, resp Response, text string) {
	t.Helper()
	if !resp.Now.Ephemeral || resp.Later != nil {
		t.Errorf("reply %+v (later %v): want an ephemeral refusal without Later", resp.Now, resp.Later != nil)
	}
	if !strings.Contains(resp.Now.Text, text) {
		t.Errorf("reply %q, want it to contain %q", resp.Now.Text, text)
	}
}

func TestPing(t *testing.T) {
	f := newFixture(t, nil)
	ctx := t.Context()
	resp := f.h.Handle(ctx, cmd(CmdPing, "web_2"))
	want := Reply{Text: "Pinging web_2 at 127.0.0.2 (3 echoes)…"}
	if resp.Now != want {
		t.Errorf("Now = %+v, want %+v", resp.Now, want)
	}
	if resp.Later == nil {
		t.Fatal("no Later")
	}
	if p := f.Pings(); len(p) != 0 {
		t.Fatalf("pinged before Later: %v", p)
	}
	later := resp.Later(ctx)
	wantBlock := `PING 127.0.0.2 (127.0.0.1): 3 echo requests
64 bytes from 127.0.0.1: icmp_seq=1 ttl=64 time=0.045 ms
64 bytes from 127.0.0.1: icmp_seq=2 ttl=64 time=0.050 ms
64 bytes from 127.0.0.1: icmp_seq=3 ttl=64 time=0.055 ms

--- 127.0.0.2 ping statistics ---
3 packets transmitted, 3 received, 0% packet loss
rtt min/avg/max/mdev = 0.045/0.050/0.055/0.004 ms`
	if later.Text != "web_2 at 127.0.0.2 is answering" || later.Block != wantBlock || later.Ephemeral {
		t.Errorf("Later = %q ephemeral %v\n%s\nwant block\n%s", later.Text, later.Ephemeral, later.Block, wantBlock)
	}
	if p := f.Pings(); len(p) != 1 || p[0] != "127.0.0.2" {
		t.Errorf("pinged %v, want [127.0.0.2]", p)
	}
}

func TestPingOutcomes(t *testing.T) {
	tests := []struct {
		name      string
		pinger    Pinger
		wantText  string
		wantBlock string // a part of it; "" means no block
		// notShown must not appear in the reply, and must be in the log.
		notShown string
	}{
		{name: "partial", pinger: fakePinger(1), wantText: "::1 is answering (1 of 3 replies)",
			wantBlock: "3 packets transmitted, 1 received, 66.6667% packet loss\nrtt"},
		{name: "no reply", pinger: fakePinger(0), wantText: "no reply from ::1",
			wantBlock: "3 packets transmitted, 0 received, 100% packet loss"},
		{name: "does not resolve",
			pinger: func(context.Context, string, int, func(checks.Reply)) (checks.PingStats, error) {
				return checks.PingStats{}, errors.New("lookup ::1: no such host")
			},
			wantText: "::1 does not resolve"},
		{name: "ICMP not permitted",
			pinger: func(context.Context, string, int, func(checks.Reply)) (checks.PingStats, error) {
				return checks.PingStats{}, fmt.Errorf("%w in raw mode: socket: operation not permitted (uid 1234)", checks.ErrICMPNotPermitted)
			},
			wantText: "tocsin may not send ICMP echoes on its host; see its log", notShown: "uid 1234"},
		{name: "internal error",
			pinger: func(context.Context, string, int, func(checks.Reply)) (checks.PingStats, error) {
				return checks.PingStats{}, errors.New("listen ip4:icmp /var/run/secret: bad things")
			},
			wantText: "the ping of ::1 failed; see tocsin's log", notShown: "/var/run/secret"},
		{name: "panic",
			pinger: func(context.Context, string, int, func(checks.Reply)) (checks.PingStats, error) {
				panic("pro-bing fell over")
			},
			wantText: "the ping of ::1 failed; see tocsin's log", notShown: "pro-bing fell over"},
		{name: "cut short",
			pinger: func(ctx context.Context, _ string, _ int, _ func(checks.Reply)) (checks.PingStats, error) {
				return checks.PingStats{}, context.Canceled
			},
			wantText: "the ping of ::1 was cut short"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)
			f.pinger = tt.pinger
			resp := f.h.Handle(t.Context(), cmd(CmdPing, "::1"))
			if resp.Now.Text != "Pinging ::1 (3 echoes)…" || resp.Later == nil {
				t.Fatalf("Now = %+v, Later %v", resp.Now, resp.Later != nil)
			}
			r := resp.Later(t.Context())
			if r.Text != tt.wantText {
				t.Errorf("Text = %q, want %q", r.Text, tt.wantText)
			}
			if tt.wantBlock == "" && r.Block != "" || !strings.Contains(r.Block, tt.wantBlock) {
				t.Errorf("Block = %q, want it to contain %q", r.Block, tt.wantBlock)
			}
			if tt.notShown != "" {
				if strings.Contains(r.Text+r.Block, tt.notShown) {
					t.Errorf("reply shows %q: %+v", tt.notShown, r)
				}
				if !strings.Contains(f.log.String(), tt.notShown) {
					t.Errorf("log lacks %q:\n%s", tt.notShown, f.log.String())
				}
			}
		})
	}
}

func TestPingRefused(t *testing.T) {
	notAllowed := cmd(CmdPing, "127.0.0.1")
	notAllowed.Allowed = false
	tests := []struct {
		name string
		cmd  Command
		want string
	}{
		{"not allowed", notAllowed, "you are not allowed to ping"},
		{"no argument", cmd(CmdPing), "usage: ping HOST"},
		{"empty argument", cmd(CmdPing, ""), "usage: ping HOST"},
		{"split shell command", cmd(CmdPing, "127.0.0.1;", "rm", "-rf", "/"), `"127.0.0.1; rm -rf /" is not a hostname or IP address: contains a space`},
		{"one-word shell command", cmd(CmdPing, "127.0.0.1; rm -rf /"), "contains a space"},
		{"command substitution", cmd(CmdPing, "$(id)"), "is not a hostname or IP address"},
		{"mention", cmd(CmdPing, "<@U123>"), "is not a hostname or IP address"},
		{"URL", cmd(CmdPing, "http://x"), "is a URL"},
		{"port", cmd(CmdPing, "host:80"), "is host:port"},
		{"over-long", cmd(CmdPing, strings.Repeat("a", 300)), "longer than 253 characters"},
		{"not allowed host", cmd(CmdPing, "127.1.0.1"), "not a configured target's host and not in bot.ping_allow"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)
			resp := f.h.Handle(t.Context(), tt.cmd)
			wantRefusal(t, resp, tt.want)
			if strings.ContainsAny(resp.Now.Text, "<>@") {
				t.Errorf("refusal %q carries markup", resp.Now.Text)
			}
			if p := f.Pings(); len(p) != 0 {
				t.Errorf("pinged %v", p)
			}
		})
	}
}

func TestPingRateLimit(t *testing.T) {
	f := newFixture(t, nil)
	ctx := t.Context()
	alice := cmd(CmdPing, "127.0.0.1")
	bob := cmd(CmdPing, "127.0.0.1")
	bob.User = User{ID: "U0BOB", Name: "bob"}
	aliceOnDiscord := alice
	aliceOnDiscord.Platform = "discord"

	for i := range 5 {
		if resp := f.h.Handle(ctx, alice); resp.Later == nil {
			t.Fatalf("ping %d refused: %+v", i+1, resp.Now)
		}
		f.clock.Advance(time.Second)
	}
	// A refusal by policy is not counted (and says nothing of the rate).
	wantRefusal(t, f.h.Handle(ctx, cmd(CmdPing, "127.1.0.1")), "not in bot.ping_allow")

	// The 6th within the minute: the first leaves the window at 60s.
	f.clock.Advance(10 * time.Second) // t0+15s
	wantRefusal(t, f.h.Handle(ctx, alice), "too many pings: at most 5 per 1m; try again in 45s")
	// Others are counted on their own.
	if resp := f.h.Handle(ctx, bob); resp.Later == nil {
		t.Errorf("bob refused: %+v", resp.Now)
	}
	if resp := f.h.Handle(ctx, aliceOnDiscord); resp.Later == nil {
		t.Errorf("alice on discord refused: %+v", resp.Now)
	}
	f.clock.Advance(44 * time.Second) // t0+59s
	wantRefusal(t, f.h.Handle(ctx, alice), "try again in 1s")
	f.clock.Advance(time.Second) // t0+60s
	if resp := f.h.Handle(ctx, alice); resp.Later == nil {
		t.Errorf("refused after the window: %+v", resp.Now)
	}

	// A reload applies at once.
	f.set.RateLimit, f.set.RatePer = 1, time.Hour
	wantRefusal(t, f.h.Handle(ctx, bob), "at most 1 per 1h; try again in")

	// No Later was run: nothing was pinged.
	if p := f.Pings(); len(p) != 0 {
		t.Errorf("pinged %v", p)
	}
}

// TestPingNoPinger: a Handler without a Pinger refuses /ping.
func TestPingNoPinger(t *testing.T) {
	h := NewHandler(Options{State: &fakeState{}, Settings: policySettings})
	wantRefusal(t, h.Handle(t.Context(), cmd(CmdPing, "127.0.0.1")), "ping is not available")
}

// statusStates: two down (one acked, one muted), one up and muted, one up,
// one unknown.
func statusStates() []state.TargetState {
	return []state.TargetState{
		{Name: "shop", Kind: checks.KindHTTP, Status: state.StatusDown, Since: t0.Add(-2*time.Hour - 5*time.Minute),
			LastCheck: t0.Add(-5 * time.Second), LastError: "HTTP 503", LastLatency: 12500 * time.Microsecond,
			IncidentID: 42, AckedBy: "bob", AckedAt: t0.Add(-time.Hour)},
		{Name: "db", Kind: checks.KindTCP, Status: state.StatusDown, Since: t0.Add(-90 * time.Second),
			LastCheck: t0.Add(-10 * time.Second), LastError: "dial tcp 127.0.0.1:5432: connection refused",
			IncidentID: 43, MutedUntil: t0.Add(22 * time.Hour)},
		{Name: "web-1", Kind: checks.KindPing, Status: state.StatusUp, Since: t0.Add(-49 * time.Hour),
			LastCheck: t0.Add(-time.Second), LastLatency: 45 * time.Microsecond, MutedUntil: t0.Add(time.Hour)},
		{Name: "loop6", Kind: checks.KindTCP, Status: state.StatusUp, Since: t0.Add(-time.Hour), LastCheck: t0.Add(-time.Second),
			MutedUntil: t0.Add(-time.Minute)}, // a mute that ended
		{Name: "web_2", Kind: checks.KindPing, Status: state.StatusUnknown},
	}
}

func TestStatus(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		states    []state.TargetState
		want      Reply
		wantError string // an ephemeral refusal containing this
	}{
		{name: "overview", states: statusStates(), want: Reply{
			Text: "5 targets: 2 up, 2 down, 1 unknown",
			Block: `shop: down since 2026-11-25 12:00:00 UTC (2h 5m)
  last error: HTTP 503
  acked by bob at 2026-11-25 13:05:00 UTC

db: down since 2026-11-25 14:03:30 UTC (1m 30s)
  last error: dial tcp 127.0.0.1:5432: connection refused
  not acknowledged
  muted until 2026-11-26 12:05:00 UTC (in 22h)

muted: web-1 until 2026-11-25 15:05:00 UTC (in 1h)`}},
		{name: "all up", states: []state.TargetState{{Name: "a", Status: state.StatusUp}}, want: Reply{
			Text: "1 target: 1 up, 0 down, 0 unknown"}},
		{name: "none", want: Reply{Text: "no targets configured"}},
		{name: "one down", args: []string{"shop"}, states: statusStates(), want: Reply{
			Text: "shop is down",
			Block: `status:     down since 2026-11-25 12:00:00 UTC (2h 5m)
check:      http, host shop.example.net
last check: 2026-11-25 14:04:55 UTC (5s ago)
last error: HTTP 503
latency:    12.500 ms
incident:   #42
ack:        bob at 2026-11-25 13:05:00 UTC
mute:       not muted`}},
		{name: "one down muted", args: []string{"db"}, states: statusStates(), want: Reply{
			Text: "db is down",
			Block: `status:     down since 2026-11-25 14:03:30 UTC (1m 30s)
check:      tcp, host db.internal
last check: 2026-11-25 14:04:50 UTC (10s ago)
last error: dial tcp 127.0.0.1:5432: connection refused
latency:    0.000 ms
incident:   #43
ack:        not acknowledged
mute:       until 2026-11-26 12:05:00 UTC (in 22h)`}},
		{name: "one up", args: []string{"web-1"}, states: statusStates(), want: Reply{
			Text: "web-1 is up",
			Block: `status:     up since 2026-11-23 13:05:00 UTC (2d 1h)
check:      ping, host WWW.Example.org
last check: 2026-11-25 14:04:59 UTC (1s ago)
last error: none
latency:    0.045 ms
incident:   none
mute:       until 2026-11-25 15:05:00 UTC (in 1h)`}},
		{name: "one unknown", args: []string{"web_2"}, states: statusStates(), want: Reply{
			Text: "web_2 is not decided yet (unknown)",
			Block: `status:     unknown
check:      ping, host 127.0.0.2
last check: never
incident:   none
mute:       not muted`}},
		{name: "unknown target", args: []string{"<!channel>"}, states: statusStates(), wantError: `tocsin has no target "\x3c!channel\x3e"`},
		{name: "too many words", args: []string{"a", "b"}, wantError: "usage: status [TARGET]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, &fakeState{states: tt.states})
			c := cmd(CmdStatus, tt.args...)
			c.Allowed = false // status is open to everyone
			resp := f.h.Handle(t.Context(), c)
			if tt.wantError != "" {
				wantRefusal(t, resp, tt.wantError)
				return
			}
			if resp.Now != tt.want || resp.Later != nil {
				t.Errorf("got  %q\n%s\nwant %q\n%s", resp.Now.Text, resp.Now.Block, tt.want.Text, tt.want.Block)
			}
		})
	}
}

func TestAck(t *testing.T) {
	down := state.TargetState{Name: "shop", Status: state.StatusDown, Since: t0.Add(-time.Hour),
		LastError: "HTTP 503", IncidentID: 42}
	acked := down
	acked.AckedBy, acked.AckedAt = "bob", t0.Add(-10*time.Minute)
	answer := func(ts state.TargetState, err error) func(string, int64, state.Ack) (state.TargetState, error) {
		return func(string, int64, state.Ack) (state.TargetState, error) { return ts, err }
	}
	button := cmd(CmdAck)
	button.Incident = 42
	notAllowed := cmd(CmdAck, "shop")
	notAllowed.Allowed = false
	tests := []struct {
		name      string
		cmd       Command
		ack       func(string, int64, state.Ack) (state.TargetState, error)
		want      Reply
		wantCall  string // "" means State.Ack is not called
		wantInLog string
	}{
		{name: "ack", cmd: cmd(CmdAck, "shop"), ack: answer(acked, nil),
			want:     Reply{Text: "alice acknowledged shop (HTTP 503, down since 2026-11-25 13:05:00 UTC)"},
			wantCall: `ack "shop" 0 {By:alice Reason: Platform:slack}`},
		{name: "ack with a reason", cmd: cmd(CmdAck, "shop", "deploying", "the", "fix", "@here"), ack: answer(acked, nil),
			want:     Reply{Text: `alice acknowledged shop (HTTP 503, down since 2026-11-25 13:05:00 UTC): "deploying the fix \x40here"`},
			wantCall: `ack "shop" 0 {By:alice Reason:deploying the fix @here Platform:slack}`},
		{name: "button", cmd: button, ack: answer(acked, nil),
			want:     Reply{Text: "alice acknowledged shop (HTTP 503, down since 2026-11-25 13:05:00 UTC)"},
			wantCall: `ack "" 42 {By:alice Reason: Platform:slack}`},
		{name: "already acknowledged", cmd: cmd(CmdAck, "shop"), ack: answer(acked, state.ErrAlreadyAcked),
			want:     Reply{Text: "shop is already acknowledged by bob at 2026-11-25 13:55:00 UTC", Ephemeral: true},
			wantCall: `ack "shop" 0 {By:alice Reason: Platform:slack}`},
		{name: "not down", cmd: cmd(CmdAck, "shop"), ack: answer(state.TargetState{Name: "shop", Status: state.StatusUp}, state.ErrNotDown),
			want:     Reply{Text: "shop is not down; there is nothing to acknowledge", Ephemeral: true},
			wantCall: `ack "shop" 0 {By:alice Reason: Platform:slack}`},
		{name: "unknown target", cmd: cmd(CmdAck, "nope"),
			want:     Reply{Text: `tocsin has no target "nope"`, Ephemeral: true},
			wantCall: `ack "nope" 0 {By:alice Reason: Platform:slack}`},
		{name: "button, incident over", cmd: button, ack: answer(state.TargetState{}, state.ErrIncidentClosed),
			want:     Reply{Text: "that incident is over (recovered, or replaced by a newer one)", Ephemeral: true},
			wantCall: `ack "" 42 {By:alice Reason: Platform:slack}`},
		{name: "button, incident over, target known", cmd: button, ack: answer(down, state.ErrIncidentClosed),
			want:     Reply{Text: "that incident of shop is over (recovered, or replaced by a newer one)", Ephemeral: true},
			wantCall: `ack "" 42 {By:alice Reason: Platform:slack}`},
		{name: "internal error", cmd: cmd(CmdAck, "shop"),
			ack:      answer(down, errors.New("state: ack shop: commit: database is locked")),
			want:     Reply{Text: "tocsin could not record that; see its log", Ephemeral: true},
			wantCall: `ack "shop" 0 {By:alice Reason: Platform:slack}`, wantInLog: "database is locked"},
		{name: "wrapped sentinel", cmd: cmd(CmdAck, "shop"), ack: answer(acked, fmt.Errorf("state: %w", state.ErrAlreadyAcked)),
			want:     Reply{Text: "shop is already acknowledged by bob at 2026-11-25 13:55:00 UTC", Ephemeral: true},
			wantCall: `ack "shop" 0 {By:alice Reason: Platform:slack}`},
		{name: "not allowed", cmd: notAllowed, want: Reply{Text: "you are not allowed to ack", Ephemeral: true}},
		{name: "no target", cmd: cmd(CmdAck), want: Reply{Text: "usage: ack TARGET [REASON…]", Ephemeral: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := &fakeState{states: []state.TargetState{down}, ack: tt.ack}
			f := newFixture(t, fs)
			resp := f.h.Handle(t.Context(), tt.cmd)
			if resp.Now != tt.want || resp.Later != nil {
				t.Errorf("got  %+v\nwant %+v", resp.Now, tt.want)
			}
			calls := fs.Calls()
			switch {
			case tt.wantCall == "" && len(calls) != 0:
				t.Errorf("State called: %v", calls)
			case tt.wantCall != "" && (len(calls) != 1 || calls[0] != tt.wantCall):
				t.Errorf("calls %q, want [%q]", calls, tt.wantCall)
			}
			if tt.wantInLog != "" && !strings.Contains(f.log.String(), tt.wantInLog) {
				t.Errorf("log lacks %q:\n%s", tt.wantInLog, f.log.String())
			}
		})
	}
}

func TestAckGroup(t *testing.T) {
	router := state.TargetState{Name: "router", Status: state.StatusDown, Since: t0.Add(-time.Hour),
		LastError: "timeout", IncidentID: 42}
	member := func(name string, id int64) state.TargetState {
		ts := router
		ts.Name, ts.IncidentID, ts.LastError = name, id, "held: router"
		return ts
	}
	ackedBy := func(ts state.TargetState, by string) state.TargetState {
		ts.AckedBy, ts.AckedAt = by, t0.Add(-5*time.Minute)
		return ts
	}
	answer := func(states []state.TargetState, err error) func(int64, state.Ack) ([]state.TargetState, error) {
		return func(int64, state.Ack) ([]state.TargetState, error) { return states, err }
	}
	many := []state.TargetState{router}
	for i := range 11 {
		many = append(many, member(fmt.Sprintf("sw-%d", i+1), int64(43+i)))
	}
	button := func(incident int64) Command {
		c := cmd(CmdAck)
		c.User.Name, c.Incident, c.All = "bob", incident, true
		return c
	}
	notAllowed := button(42)
	notAllowed.Allowed = false
	noIncident := button(0)
	const call = `ackgroup 42 {By:bob Reason: Platform:slack}`
	tests := []struct {
		name      string
		cmd       Command
		states    []state.TargetState // the fake's targets; nil: router and two members
		ackGroup  func(int64, state.Ack) ([]state.TargetState, error)
		want      Reply
		wantCall  string // "" means State is not called
		wantInLog string
	}{
		{name: "all twelve", cmd: button(42), ackGroup: answer(many, nil),
			want: Reply{Text: "bob acknowledged 12 targets (router's group)"}, wantCall: call,
			wantInLog: "bot: ack group"},
		{name: "the fake's own answer", cmd: button(42),
			want: Reply{Text: "bob acknowledged 3 targets (router's group)"}, wantCall: call},
		{name: "leader acknowledged before: named by the first acknowledged", cmd: button(42),
			states: []state.TargetState{ackedBy(router, "carol"), member("sw-1", 43), {Name: "web", Status: state.StatusUp}},
			want:   Reply{Text: "bob acknowledged 1 target (sw-1's group)"}, wantCall: call},
		{name: "leader not first: still named by the leader", cmd: button(42),
			ackGroup: answer([]state.TargetState{member("sw-1", 43), router}, nil),
			want:     Reply{Text: "bob acknowledged 2 targets (router's group)"}, wantCall: call},
		{name: "no states returned", cmd: button(42), ackGroup: answer(nil, nil),
			want: Reply{Text: "bob acknowledged the targets of that alert"}, wantCall: call},
		{name: "everyone acknowledged already", cmd: button(42),
			states: []state.TargetState{ackedBy(router, "carol"), ackedBy(member("sw-1", 43), "dave")},
			want:   Reply{Text: "every target of that alert is already acknowledged", Ephemeral: true}, wantCall: call},
		{name: "already acknowledged, wrapped", cmd: button(42),
			ackGroup: answer([]state.TargetState{ackedBy(router, "carol")}, fmt.Errorf("state: %w", state.ErrAlreadyAcked)),
			want:     Reply{Text: "every target of that alert is already acknowledged", Ephemeral: true}, wantCall: call},
		{name: "outage over", cmd: button(42), states: []state.TargetState{{Name: "router", Status: state.StatusUp}},
			want: Reply{Text: "that alert's outage is over", Ephemeral: true}, wantCall: call},
		{name: "outage over, wrapped", cmd: button(7), ackGroup: answer(nil, fmt.Errorf("state: %w", state.ErrIncidentClosed)),
			want:     Reply{Text: "that alert's outage is over", Ephemeral: true},
			wantCall: `ackgroup 7 {By:bob Reason: Platform:slack}`},
		{name: "internal error", cmd: button(42),
			ackGroup: answer(nil, errors.New("state: ack group 42: commit: database is locked")),
			want:     Reply{Text: "tocsin could not record that; see its log", Ephemeral: true},
			wantCall: call, wantInLog: "database is locked"},
		{name: "not allowed", cmd: notAllowed, want: Reply{Text: "you are not allowed to ack", Ephemeral: true}},
		{name: "all without an incident is a plain ack", cmd: noIncident,
			want: Reply{Text: "usage: ack TARGET [REASON…]", Ephemeral: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			states := tt.states
			if states == nil {
				states = []state.TargetState{router, member("sw-1", 43), member("sw-2", 44)}
			}
			fs := &fakeState{states: states, ackGroup: tt.ackGroup}
			f := newFixture(t, fs)
			resp := f.h.Handle(t.Context(), tt.cmd)
			if resp.Now != tt.want || resp.Later != nil {
				t.Errorf("got  %+v\nwant %+v", resp.Now, tt.want)
			}
			calls := fs.Calls()
			switch {
			case tt.wantCall == "" && len(calls) != 0:
				t.Errorf("State called: %v", calls)
			case tt.wantCall != "" && (len(calls) != 1 || calls[0] != tt.wantCall):
				t.Errorf("calls %q, want [%q]", calls, tt.wantCall)
			}
			if tt.wantInLog != "" && !strings.Contains(f.log.String(), tt.wantInLog) {
				t.Errorf("log lacks %q:\n%s", tt.wantInLog, f.log.String())
			}
		})
	}
}

func TestMute(t *testing.T) {
	states := []state.TargetState{{Name: "shop", Status: state.StatusDown}}
	notAllowed := cmd(CmdMute, "shop", "1h")
	notAllowed.Allowed = false
	unmuteNotAllowed := cmd(CmdUnmute, "shop")
	unmuteNotAllowed.Allowed = false
	failing := func(string, time.Time, string) (state.TargetState, error) {
		return state.TargetState{}, errors.New("state: mute shop: commit: disk I/O error")
	}
	tests := []struct {
		name      string
		cmd       Command
		mute      func(string, time.Time, string) (state.TargetState, error)
		unmute    func(string, string) (state.TargetState, error)
		want      Reply
		wantCall  string
		wantInLog string
	}{
		{name: "1d", cmd: cmd(CmdMute, "shop", "1d"),
			want:     Reply{Text: "alice muted shop until 2026-11-26 14:05:00 UTC (1d)"},
			wantCall: `mute "shop" 2026-11-26T14:05:00Z "alice"`},
		{name: "2h30m", cmd: cmd(CmdMute, "shop", "2h30m"),
			want:     Reply{Text: "alice muted shop until 2026-11-25 16:35:00 UTC (2h 30m)"},
			wantCall: `mute "shop" 2026-11-25T16:35:00Z "alice"`},
		{name: "30d, the longest", cmd: cmd(CmdMute, "shop", "30d"),
			want:     Reply{Text: "alice muted shop until 2026-12-25 14:05:00 UTC (30d)"},
			wantCall: `mute "shop" 2026-12-25T14:05:00Z "alice"`},
		{name: "0s", cmd: cmd(CmdMute, "shop", "0s"),
			want: Reply{Text: `"0s": a mute must last longer than 0s`, Ephemeral: true}},
		{name: "negative", cmd: cmd(CmdMute, "shop", "-1h"),
			want: Reply{Text: `"-1h": a mute must last longer than 0s`, Ephemeral: true}},
		{name: "31d", cmd: cmd(CmdMute, "shop", "31d"),
			want: Reply{Text: `"31d": a mute may last at most 30d`, Ephemeral: true}},
		{name: "soon", cmd: cmd(CmdMute, "shop", "soon"),
			want: Reply{Text: `"soon" is not a duration; write it like 30m, 2h30m or 1d`, Ephemeral: true}},
		{name: "no duration", cmd: cmd(CmdMute, "shop"),
			want: Reply{Text: "usage: mute TARGET DURATION", Ephemeral: true}},
		{name: "too many words", cmd: cmd(CmdMute, "shop", "2", "h"),
			want: Reply{Text: "usage: mute TARGET DURATION", Ephemeral: true}},
		{name: "not allowed", cmd: notAllowed,
			want: Reply{Text: "you are not allowed to mute", Ephemeral: true}},
		{name: "unknown target", cmd: cmd(CmdMute, "nope", "1h"),
			want:     Reply{Text: `tocsin has no target "nope"`, Ephemeral: true},
			wantCall: `mute "nope" 2026-11-25T15:05:00Z "alice"`},
		{name: "internal error", cmd: cmd(CmdMute, "shop", "1h"), mute: failing,
			want:     Reply{Text: "tocsin could not record that; see its log", Ephemeral: true},
			wantCall: `mute "shop" 2026-11-25T15:05:00Z "alice"`, wantInLog: "disk I/O error"},
		{name: "unmute", cmd: cmd(CmdUnmute, "shop"),
			want:     Reply{Text: "alice unmuted shop"},
			wantCall: `unmute "shop" "alice"`},
		{name: "unmute, not muted", cmd: cmd(CmdUnmute, "shop"),
			unmute: func(string, string) (state.TargetState, error) {
				return states[0], state.ErrNotMuted
			},
			want:     Reply{Text: "shop is not muted", Ephemeral: true},
			wantCall: `unmute "shop" "alice"`},
		{name: "unmute, unknown target", cmd: cmd(CmdUnmute, "nope"),
			want:     Reply{Text: `tocsin has no target "nope"`, Ephemeral: true},
			wantCall: `unmute "nope" "alice"`},
		{name: "unmute, internal error", cmd: cmd(CmdUnmute, "shop"),
			unmute: func(string, string) (state.TargetState, error) {
				return state.TargetState{}, errors.New("state: unmute shop: commit: disk I/O error")
			},
			want:     Reply{Text: "tocsin could not record that; see its log", Ephemeral: true},
			wantCall: `unmute "shop" "alice"`, wantInLog: "disk I/O error"},
		{name: "unmute, not allowed", cmd: unmuteNotAllowed,
			want: Reply{Text: "you are not allowed to unmute", Ephemeral: true}},
		{name: "unmute, no target", cmd: cmd(CmdUnmute),
			want: Reply{Text: "usage: unmute TARGET", Ephemeral: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := &fakeState{states: states, mute: tt.mute, unmute: tt.unmute}
			f := newFixture(t, fs)
			resp := f.h.Handle(t.Context(), tt.cmd)
			if resp.Now != tt.want || resp.Later != nil {
				t.Errorf("got  %+v\nwant %+v", resp.Now, tt.want)
			}
			calls := fs.Calls()
			switch {
			case tt.wantCall == "" && len(calls) != 0:
				t.Errorf("State called: %v", calls)
			case tt.wantCall != "" && (len(calls) != 1 || calls[0] != tt.wantCall):
				t.Errorf("calls %q, want [%q]", calls, tt.wantCall)
			}
			if tt.wantInLog != "" && !strings.Contains(f.log.String(), tt.wantInLog) {
				t.Errorf("log lacks %q:\n%s", tt.wantInLog, f.log.String())
			}
		})
	}
}

func TestHelp(t *testing.T) {
	tests := []struct {
		name     string
		wantText string
	}{
		{"", "tocsin commands:"},
		{"help", "tocsin commands:"},
		{"HELP", "tocsin commands:"},
		{"frobnicate", `tocsin has no command "frobnicate". tocsin commands:`},
		{"<!channel>", `tocsin has no command "\x3c!channel\x3e". tocsin commands:`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)
			c := cmd(tt.name, "x")
			c.Allowed = false
			resp := f.h.Handle(t.Context(), c)
			if resp.Now.Text != tt.wantText || !resp.Now.Ephemeral || resp.Later != nil {
				t.Errorf("got %+v, want ephemeral %q", resp.Now, tt.wantText)
			}
			for _, u := range []string{"ping HOST", "status [TARGET]", "ack TARGET [REASON…]", "unack TARGET",
				"mute TARGET DURATION", "unmute TARGET", "oncall", "help"} {
				if !strings.Contains(resp.Now.Block, "\n"+u+" ") && !strings.HasPrefix(resp.Now.Block, u+" ") {
					t.Errorf("help lacks %q:\n%s", u, resp.Now.Block)
				}
			}
		})
	}
}

// TestPanic: a panic below Handle is an internal error, logged.
func TestPanic(t *testing.T) {
	var log logBuffer
	h := NewHandler(Options{Logger: slog.New(slog.NewTextHandler(&log, nil))}) // no State
	resp := h.Handle(t.Context(), cmd(CmdStatus))
	if resp.Now != internalError() {
		t.Errorf("got %+v", resp.Now)
	}
	if !strings.Contains(log.String(), "panicked") {
		t.Errorf("log lacks the panic:\n%s", log.String())
	}
}

func TestFormatDuration(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"},
		{400 * time.Millisecond, "0s"},
		{600 * time.Millisecond, "1s"},
		{42 * time.Second, "42s"},
		{time.Minute, "1m"},
		{5*time.Minute + 3*time.Second, "5m 3s"},
		{2*time.Hour + 5*time.Minute + 59*time.Second, "2h 5m"},
		{2*time.Hour + 5*time.Second, "2h"},
		{49 * time.Hour, "2d 1h"},
		{30 * 24 * time.Hour, "30d"},
		{-90 * time.Second, "1m 30s"},
	}
	for _, tt := range tests {
		if got := formatDuration(tt.d); got != tt.want {
			t.Errorf("formatDuration(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}
