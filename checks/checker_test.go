package checks

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tocsin/tocsin/internal/dnsstub"
)

func TestNew(t *testing.T) {
	tests := []struct {
		name     string
		opts     Options
		wantMode ICMPMode
		wantErr  string
	}{
		{name: "raw forced", opts: Options{ICMPMode: ICMPRaw}, wantMode: ICMPRaw},
		{name: "unprivileged forced", opts: Options{ICMPMode: ICMPUnprivileged}, wantMode: ICMPUnprivileged},
		{name: "unknown mode", opts: Options{ICMPMode: "magic"},
			wantErr: `unknown ICMP mode "magic" (want "unprivileged" or "raw")`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := New(tt.opts)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("New = %v, want error %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if r.Mode() != tt.wantMode {
				t.Errorf("Mode() = %q, want %q", r.Mode(), tt.wantMode)
			}
			if cap(r.icmpSlots) != 512 {
				t.Errorf("default MaxICMP: %d slots, want 512", cap(r.icmpSlots))
			}
		})
	}
}

func TestCheckAlwaysReturns(t *testing.T) {
	fixed := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	r := newRunner(t, Options{ICMPMode: ICMPRaw, Now: func() time.Time { return fixed }})
	r.kinds["boom"] = func(context.Context, *Target) Result {
		panic("boom")
	}
	tests := []struct {
		name       string
		target     *Target
		wantReason string
	}{
		{name: "nil target", target: nil, wantReason: "no target"},
		{name: "unknown kind", target: &Target{Name: "x", Kind: "smtp"}, wantReason: `unknown kind "smtp"`},
		{name: "panic", target: &Target{Name: "x", Kind: "boom"},
			wantReason: "internal error: boom"},
		{name: "empty ping host", target: &Target{Name: "x", Kind: KindPing},
			wantReason: `"" is not a hostname or IP address: empty`},
		{name: "empty URL", target: &Target{Name: "x", Kind: KindHTTP},
			wantReason: "unsupported protocol scheme \"\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := check(t, r, tt.target)
			if res.OK || !strings.HasPrefix(res.Reason, tt.wantReason) {
				t.Errorf("Check = OK %v, reason %q; want down, %q", res.OK, res.Reason, tt.wantReason)
			}
			if !res.Time.Equal(fixed) {
				t.Errorf("Time = %v, want the injected clock's %v", res.Time, fixed)
			}
			if tt.target != nil && (res.Target != tt.target.Name || res.Kind != tt.target.Kind) {
				t.Errorf("Target, Kind = %q, %q", res.Target, res.Kind)
			}
		})
	}
}

func TestCheckCanceled(t *testing.T) {
	r := newRunner(t, Options{ICMPMode: ICMPRaw})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	res := r.Check(ctx, &Target{Name: "db", Kind: KindTCP, TCP: TCPSpec{Address: closedPort(t)}})
	if want := "check canceled: context canceled"; res.OK || res.Reason != want {
		t.Errorf("Check = OK %v, reason %q; want %q", res.OK, res.Reason, want)
	}
}

func TestNewResolver(t *testing.T) {
	if NewResolver("") != nil {
		t.Error(`NewResolver("") is not nil`)
	}
	stub := dnsstub.Start(t, stubRecords)
	addrs, err := NewResolver(stub.Addr()).LookupHost(t.Context(), "other.test")
	if err != nil || len(addrs) != 1 || addrs[0] != "127.3.4.5" {
		t.Errorf("LookupHost(other.test) = %v, %v; want [127.3.4.5]", addrs, err)
	}
	if len(stub.Queries()) == 0 {
		t.Error("the stub was not asked")
	}
}

func TestReasonOf(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{name: "DNS error loses its server",
			err:  &net.DNSError{Err: "no such host", Name: "db.internal", Server: "127.0.0.1:53", IsNotFound: true},
			want: "lookup db.internal: no such host"},
		{name: "syscall name dropped",
			err: &net.OpError{Op: "dial", Net: "tcp", Addr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9},
				Err: os.NewSyscallError("connect", errors.New("connection refused"))},
			want: "dial tcp 127.0.0.1:9: connection refused"},
		{name: "other errors as they are", err: errors.New("x509: bad"), want: "x509: bad"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := reasonOf(tt.err); got != tt.want {
				t.Errorf("reasonOf = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRoundDuration(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want string
	}{
		{2400 * time.Millisecond, "2.4s"},
		{2437123456 * time.Nanosecond, "2.437s"},
		{12345678 * time.Nanosecond, "12ms"},
		{345678 * time.Nanosecond, "346µs"},
		{5 * time.Second, "5s"},
		{time.Nanosecond, "1ns"},
	}
	for _, tt := range tests {
		if got := roundDuration(tt.in).String(); got != tt.want {
			t.Errorf("roundDuration(%v) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

// TestCallerDeadlineIsATimeout: when the caller's deadline passes together
// with the target's own (the scheduler's belt and braces), the reason is
// still the timeout, not a cancellation.
func TestCallerDeadlineIsATimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	r := newRunner(t, Options{ICMPMode: ICMPRaw})
	tg := &Target{Name: "slow", Kind: KindHTTP, Timeout: 200 * time.Millisecond, HTTP: HTTPSpec{URL: srv.URL}}
	ctx, cancel := context.WithTimeout(t.Context(), tg.Timeout)
	defer cancel()
	res := r.Check(ctx, tg)
	if want := "timeout after 200ms"; res.OK || res.Reason != want {
		t.Errorf("Check = OK %v, reason %q; want %q", res.OK, res.Reason, want)
	}
}

func TestAddrContext(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 9*time.Second)
	defer cancel()
	tests := []struct {
		left     int
		min, max time.Duration
	}{
		{1, 8 * time.Second, 9 * time.Second},                       // the last address: all that is left
		{3, 2900 * time.Millisecond, 3 * time.Second},               // a third each
		{10, minAddrTimeout - time.Millisecond, minAddrTimeout + 1}, // never below the minimum
	}
	for _, tt := range tests {
		actx, cancel := addrContext(ctx, tt.left)
		dl, ok := actx.Deadline()
		cancel()
		if got := time.Until(dl); !ok || got < tt.min || got > tt.max {
			t.Errorf("left %d: deadline in %v, want %v to %v", tt.left, got, tt.min, tt.max)
		}
	}
}
