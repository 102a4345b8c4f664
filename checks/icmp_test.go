package checks

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tocsin/tocsin/internal/dnsstub"
)

func TestDetectICMP(t *testing.T) {
	tests := []struct {
		name       string
		groupRange string
		want       ICMPMode
	}{
		{name: "ping sockets closed: raw", groupRange: "1 0", want: ICMPRaw},
		{name: "ping sockets open: unprivileged", groupRange: "0 2147483647", want: ICMPUnprivileged},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setPingGroupRange(t, tt.groupRange)
			got, err := DetectICMP()
			if err != nil || got != tt.want {
				t.Errorf("DetectICMP() = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestICMPErrorExplains(t *testing.T) {
	err := icmpError(errors.New("socket: permission denied"), errors.New("socket: operation not permitted"))
	if !errors.Is(err, ErrICMPNotPermitted) {
		t.Errorf("icmpError does not wrap ErrICMPNotPermitted: %v", err)
	}
	for _, want := range []string{"root", "CAP_NET_RAW", "setcap cap_net_raw+ep tocsin",
		`sysctl -w net.ipv4.ping_group_range="0 2147483647"`, "permission denied", "operation not permitted"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("icmpError = %q; lacks %q", err, want)
		}
	}
}

func TestNewDetectsICMP(t *testing.T) {
	setPingGroupRange(t, "1 0")
	r := newRunner(t, Options{RequireICMP: true})
	if r.Mode() != ICMPRaw {
		t.Errorf("Mode() = %q, want %q", r.Mode(), ICMPRaw)
	}
}

func TestPingCheck(t *testing.T) {
	requireRoot(t)
	hosts := []struct {
		name string
		host string
		ipv6 bool
	}{
		{name: "127.0.0.1", host: "127.0.0.1"},
		{name: "127.3.4.5", host: "127.3.4.5"},
		{name: "::1", host: "::1", ipv6: true},
		{name: "name via stub DNS", host: "loop.test"},
	}
	modes := []struct {
		mode       ICMPMode
		groupRange string
	}{
		{ICMPRaw, "1 0"},
		{ICMPUnprivileged, "0 2147483647"},
	}
	for _, m := range modes {
		for _, perCheck := range []bool{false, true} {
			name := string(m.mode) + "/shared"
			if perCheck {
				name = string(m.mode) + "/per_check"
			}
			t.Run(name, func(t *testing.T) {
				setPingGroupRange(t, m.groupRange)
				r := newRunner(t, Options{ICMPMode: m.mode, PerCheckICMP: perCheck})
				pingHosts(t, r, hosts)
			})
		}
	}
}

// pingHosts checks each host through r and wants two replies of two.
func pingHosts(t *testing.T, r *Runner, hosts []struct {
	name string
	host string
	ipv6 bool
}) {
	t.Helper()
	for _, h := range hosts {
		t.Run(h.name, func(t *testing.T) {
			if h.ipv6 && !hasIPv6Loopback() {
				t.Skip("skipped: ::1 is not configured on this machine")
			}
			tg := &Target{Name: "p", Kind: KindPing, Timeout: 5 * time.Second,
				Ping: PingSpec{Host: h.host, Count: 2, Interval: 20 * time.Millisecond}}
			res := check(t, r, tg)
			if !res.OK || res.Reason != "" {
				t.Fatalf("Check(%s) = not OK, reason %q", h.host, res.Reason)
			}
			if res.Sent != 2 || res.Received != 2 || res.Loss != 0 {
				t.Errorf("sent/received/loss = %d/%d/%v, want 2/2/0", res.Sent, res.Received, res.Loss)
			}
			if res.Latency <= 0 || res.Latency != res.AvgRTT || res.MinRTT > res.AvgRTT || res.AvgRTT > res.MaxRTT {
				t.Errorf("latency %v, min/avg/max %v/%v/%v: inconsistent", res.Latency, res.MinRTT, res.AvgRTT, res.MaxRTT)
			}
			if res.Target != "p" || res.Kind != KindPing || res.Time.IsZero() {
				t.Errorf("Target/Kind/Time = %q/%q/%v", res.Target, res.Kind, res.Time)
			}
		})
	}
}

func TestPingCheckUnresolvable(t *testing.T) {
	r := newRunner(t, Options{ICMPMode: ICMPRaw})
	res := check(t, r, &Target{Name: "p", Kind: KindPing, Timeout: 5 * time.Second,
		Ping: PingSpec{Host: "nosuch.test", Count: 1}})
	if want := "lookup nosuch.test: no such host"; res.OK || res.Reason != want {
		t.Errorf("Check = OK %v, reason %q; want down, %q", res.OK, res.Reason, want)
	}
}

func TestPingCheckWithoutICMP(t *testing.T) {
	r := newRunner(t, Options{ICMPMode: ICMPRaw})
	r.mode = "" // as New leaves it when neither mode is permitted
	res := check(t, r, &Target{Name: "p", Kind: KindPing, Ping: PingSpec{Host: "127.0.0.1"}})
	if res.OK || !strings.Contains(res.Reason, "ICMP not permitted") {
		t.Errorf("Check = OK %v, reason %q; want down, ICMP not permitted", res.OK, res.Reason)
	}
}

// TestICMPSemaphore holds every ICMP slot and checks that a ping check
// waits for one rather than opening another socket.
func TestICMPSemaphore(t *testing.T) {
	r := newRunner(t, Options{ICMPMode: ICMPRaw, MaxICMP: 2, PerCheckICMP: true})
	if cap(r.icmpSlots) != 2 {
		t.Fatalf("MaxICMP 2: semaphore of %d", cap(r.icmpSlots))
	}
	r.icmpSlots <- struct{}{}
	r.icmpSlots <- struct{}{}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	res := r.Check(ctx, &Target{Name: "p", Kind: KindPing, Ping: PingSpec{Host: "127.0.0.1"}})
	if want := "check canceled: context canceled"; res.OK || res.Reason != want {
		t.Errorf("Check with all slots held = OK %v, %q; want %q", res.OK, res.Reason, want)
	}
	if len(r.icmpSlots) != 2 {
		t.Errorf("slots held after the check: %d, want the 2 the test holds", len(r.icmpSlots))
	}
}

func TestPingConcurrentWithinCap(t *testing.T) {
	requireRoot(t)
	r := newRunner(t, Options{ICMPMode: ICMPRaw, MaxICMP: 2, PerCheckICMP: true})
	var wg sync.WaitGroup
	results := make([]Result, 6)
	for i := range results {
		wg.Go(func() {
			results[i] = check(t, r, &Target{Name: "p", Kind: KindPing, Timeout: 5 * time.Second,
				Ping: PingSpec{Host: "127.0.0.1", Count: 1}})
		})
	}
	wg.Wait()
	for i, res := range results {
		if !res.OK {
			t.Errorf("check %d: %q", i, res.Reason)
		}
	}
	if len(r.icmpSlots) != 0 {
		t.Errorf("slots still held: %d", len(r.icmpSlots))
	}
}

func TestPingResult(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name       string
		sent, recv int
		rtts       []time.Duration
		spec       PingSpec
		wantOK     bool
		wantReason string
		wantLoss   float64
		wantAvg    time.Duration
	}{
		{name: "all back", sent: 3, recv: 3, rtts: []time.Duration{1 * ms, 2 * ms, 3 * ms},
			spec: PingSpec{Count: 3}, wantOK: true, wantAvg: 2 * ms},
		{name: "all lost", sent: 3, recv: 0, spec: PingSpec{Count: 3},
			wantReason: "100% packet loss (3/3)", wantLoss: 100},
		{name: "some lost, no max_loss", sent: 3, recv: 1, rtts: []time.Duration{4 * ms},
			spec: PingSpec{Count: 3}, wantOK: true, wantLoss: 200.0 / 3, wantAvg: 4 * ms},
		{name: "loss above max_loss", sent: 3, recv: 1, rtts: []time.Duration{4 * ms},
			spec:       PingSpec{Count: 3, MaxLoss: 50, HasMaxLoss: true},
			wantReason: "packet loss 67% > 50% (2/3)", wantLoss: 200.0 / 3, wantAvg: 4 * ms},
		{name: "loss at max_loss passes", sent: 4, recv: 2, rtts: []time.Duration{1 * ms, 3 * ms},
			spec: PingSpec{Count: 4, MaxLoss: 50, HasMaxLoss: true}, wantOK: true, wantLoss: 50, wantAvg: 2 * ms},
		{name: "max_loss 0 fails on any loss", sent: 10, recv: 9, rtts: make([]time.Duration, 9),
			spec:       PingSpec{Count: 10, MaxLoss: 0, HasMaxLoss: true},
			wantReason: "packet loss 10% > 0% (1/10)", wantLoss: 10},
		{name: "fractional max_loss", sent: 1000, recv: 874, rtts: nil,
			spec:       PingSpec{Count: 1000, MaxLoss: 12.5, HasMaxLoss: true},
			wantReason: "packet loss 13% > 12.5% (126/1000)", wantLoss: 12.6},
		{name: "rounding would hide the excess", sent: 1000, recv: 496, rtts: nil,
			spec:       PingSpec{Count: 1000, MaxLoss: 50, HasMaxLoss: true},
			wantReason: "packet loss 50.4% > 50% (504/1000)", wantLoss: 50.4},
		{name: "nothing sent", sent: 0, recv: 0, spec: PingSpec{Count: 3},
			wantReason: "no echo request sent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := pingResult(tt.sent, tt.recv, tt.rtts, tt.spec)
			if res.OK != tt.wantOK || res.Reason != tt.wantReason {
				t.Errorf("OK, Reason = %v, %q; want %v, %q", res.OK, res.Reason, tt.wantOK, tt.wantReason)
			}
			if diff := res.Loss - tt.wantLoss; diff > 1e-9 || diff < -1e-9 {
				t.Errorf("Loss = %v, want %v", res.Loss, tt.wantLoss)
			}
			if res.AvgRTT != tt.wantAvg || res.Latency != tt.wantAvg {
				t.Errorf("AvgRTT, Latency = %v, %v; want %v", res.AvgRTT, res.Latency, tt.wantAvg)
			}
			if res.Sent != tt.sent || res.Received != tt.recv {
				t.Errorf("Sent, Received = %d, %d; want %d, %d", res.Sent, res.Received, tt.sent, tt.recv)
			}
		})
	}
}

func TestPingHost(t *testing.T) {
	requireRoot(t)
	setPingGroupRange(t, "1 0")
	resolver := dnsstub.Start(t, stubRecords).Resolver()
	tests := []struct {
		name     string
		host     string
		count    int
		wantAddr string
		wantErr  string
	}{
		{name: "IP literal", host: "127.0.0.1", count: 2, wantAddr: "127.0.0.1"},
		{name: "name via stub", host: "other.test", count: 1, wantAddr: "127.3.4.5"},
		{name: "unresolvable", host: "nosuch.test", count: 1, wantErr: "lookup nosuch.test: no such host"},
		{name: "flag injection", host: "-c 1000", count: 1,
			wantErr: `"-c 1000" is not a hostname or IP address: starts with "-"`},
		{name: "count 0", host: "127.0.0.1", count: 0, wantErr: "count 0: must be at least 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var replies []Reply
			stats, err := PingHost(t.Context(), resolver, ICMPRaw, tt.host, tt.count,
				10*time.Millisecond, 2*time.Second, func(r Reply) { replies = append(replies, r) })
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("PingHost(%q) error = %v, want %q", tt.host, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("PingHost(%q): %v", tt.host, err)
			}
			if stats.Host != tt.host || stats.Addr != tt.wantAddr {
				t.Errorf("Host, Addr = %q, %q; want %q, %q", stats.Host, stats.Addr, tt.host, tt.wantAddr)
			}
			if stats.Sent != tt.count || stats.Received != tt.count || stats.Loss != 0 || len(replies) != tt.count {
				t.Errorf("sent %d received %d loss %v replies %d; want %d each, 0 loss",
					stats.Sent, stats.Received, stats.Loss, len(replies), tt.count)
			}
			for i, r := range replies {
				if r.From != tt.wantAddr || r.RTT <= 0 || r.Size <= 0 || r.Seq != i {
					t.Errorf("reply %d = %+v", i, r)
				}
			}
			if stats.MinRTT > stats.AvgRTT || stats.AvgRTT > stats.MaxRTT || stats.AvgRTT <= 0 {
				t.Errorf("min/avg/max = %v/%v/%v", stats.MinRTT, stats.AvgRTT, stats.MaxRTT)
			}
		})
	}
}

func TestPingSocketRefused(t *testing.T) {
	setPingGroupRange(t, "1 0") // ping sockets closed: unprivileged mode must fail
	r := newRunner(t, Options{ICMPMode: ICMPUnprivileged})
	res := check(t, r, &Target{Name: "p", Kind: KindPing, Timeout: 5 * time.Second,
		Ping: PingSpec{Host: "127.0.0.1", Count: 1}})
	want := "ICMP not permitted in unprivileged mode (widen net.ipv4.ping_group_range, or use raw mode): socket: permission denied"
	if res.OK || res.Reason != want {
		t.Errorf("Check = OK %v, reason %q; want %q", res.OK, res.Reason, want)
	}
	_, err := PingHost(t.Context(), nil, ICMPUnprivileged, "127.0.0.1", 1, time.Millisecond, time.Second, nil)
	if !errors.Is(err, ErrICMPNotPermitted) || err.Error() != want {
		t.Errorf("PingHost error = %v, want %q wrapping ErrICMPNotPermitted", err, want)
	}
}
