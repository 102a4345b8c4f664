package checks

import (
	"net"
	"testing"
	"time"
)

func TestTCPCheck(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	up := l.Addr().String()
	_, port, _ := net.SplitHostPort(up)
	down := closedPort(t)

	tests := []struct {
		name       string
		addr       string
		timeout    time.Duration
		wantOK     bool
		wantReason string
	}{
		{name: "listening", addr: up, wantOK: true},
		{name: "name via stub DNS", addr: "loop.test:" + port, wantOK: true},
		{name: "closed port", addr: down, wantReason: "dial tcp " + down + ": connection refused"},
		{name: "unresolvable", addr: "nosuch.test:" + port, wantReason: "lookup nosuch.test: no such host"},
		{name: "no port", addr: "127.0.0.1", wantReason: "address 127.0.0.1: missing port in address"},
		{name: "deadline already passed", addr: up, timeout: time.Nanosecond, wantReason: "timeout after 1ns"},
	}
	r := newRunner(t, Options{ICMPMode: ICMPRaw})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tg := &Target{Name: "db", Kind: KindTCP, Timeout: 5 * time.Second, TCP: TCPSpec{Address: tt.addr}}
			if tt.timeout > 0 {
				tg.Timeout = tt.timeout
			}
			res := check(t, r, tg)
			if res.OK != tt.wantOK || res.Reason != tt.wantReason {
				t.Errorf("Check(%s) = OK %v, reason %q; want OK %v, reason %q", tt.addr, res.OK, res.Reason, tt.wantOK, tt.wantReason)
			}
			if res.OK && res.Latency <= 0 {
				t.Errorf("Latency = %v", res.Latency)
			}
			if res.Target != "db" || res.Kind != KindTCP || res.Time.IsZero() {
				t.Errorf("Target/Kind/Time = %q/%q/%v", res.Target, res.Kind, res.Time)
			}
		})
	}
}
