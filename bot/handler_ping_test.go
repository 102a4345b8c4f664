package bot

import (
	"os"
	"regexp"
	"testing"

	"github.com/tocsin/tocsin/checks"
)

// TestPingLoopback runs /ping through NewPinger, that is the real
// checks.PingHost, against 127.0.0.1.
func TestPingLoopback(t *testing.T) {
	mode, err := checks.DetectICMP()
	if err != nil {
		if os.Geteuid() != 0 {
			t.Skipf("no ICMP socket: not root and no ping sockets for this group (net.ipv4.ping_group_range): %v", err)
		}
		t.Fatalf("root, yet no ICMP socket: %v", err)
	}
	h := NewHandler(Options{
		State:    &fakeState{},
		Ping:     NewPinger(nil, mode),
		Settings: func() Settings { return Settings{PingAllow: []string{"127.0.0.0/8"}} },
	})
	resp := h.Handle(t.Context(), cmd(CmdPing, "127.0.0.1"))
	if resp.Now.Text != "Pinging 127.0.0.1 (3 echoes)…" || resp.Later == nil {
		t.Fatalf("Now = %+v, Later %v", resp.Now, resp.Later != nil)
	}
	r := resp.Later(t.Context())
	if r.Text != "127.0.0.1 is answering" {
		t.Errorf("Text = %q\n%s", r.Text, r.Block)
	}
	want := regexp.MustCompile(`^PING 127\.0\.0\.1 \(127\.0\.0\.1\): 3 echo requests
(\d+ bytes from 127\.0\.0\.1: icmp_seq=\d ttl=\d+ time=\d+\.\d{3} ms
){3}
--- 127\.0\.0\.1 ping statistics ---
3 packets transmitted, 3 received, 0% packet loss
rtt min/avg/max/mdev = \d+\.\d{3}/\d+\.\d{3}/\d+\.\d{3}/\d+\.\d{3} ms$`)
	if !want.MatchString(r.Block) {
		t.Errorf("Block does not read like `tocsin ping`:\n%s", r.Block)
	}
}
