package bot

import (
	"strings"
	"testing"

	"github.com/tocsin/tocsin/checks"
)

// policySettings are targets of every kind and a ping_allow of every form.
// Nothing here is ever pinged or resolved: the policy decides on text.
func policySettings() Settings {
	return Settings{
		Targets: []checks.Target{
			{Name: "web-1", Kind: checks.KindPing, Ping: checks.PingSpec{Host: "WWW.Example.org"}},
			{Name: "shop", Kind: checks.KindHTTP, HTTP: checks.HTTPSpec{URL: "https://shop.example.net:8443/health"}},
			{Name: "db", Kind: checks.KindTCP, TCP: checks.TCPSpec{Address: "db.internal:5432"}},
			{Name: "loop6", Kind: checks.KindTCP, TCP: checks.TCPSpec{Address: "[::1]:9"}},
			{Name: "web_2", Kind: checks.KindPing, Ping: checks.PingSpec{Host: "127.0.0.2"}},
		},
		PingAllow: []string{"127.0.0.0/16", "::1/128", "127.9.9.9", "example.com", ".corp.test", "*.lab.test"},
	}
}

func TestPlanPing(t *testing.T) {
	set := policySettings()
	tests := []struct {
		name       string
		in         string
		wantHost   string
		wantTarget string
		// wantRefusal is a part of the refusal; "" means allowed.
		wantRefusal string
	}{
		// Targets, by name and by host.
		{name: "target name", in: "web-1", wantHost: "WWW.Example.org", wantTarget: "web-1"},
		{name: "target name that is no hostname", in: "web_2", wantHost: "127.0.0.2", wantTarget: "web_2"},
		{name: "ping target host", in: "WWW.Example.org", wantHost: "WWW.Example.org"},
		{name: "ping target host case and trailing dot", in: "www.example.ORG.", wantHost: "WWW.Example.org"},
		{name: "http target host", in: "shop.example.net", wantHost: "shop.example.net"},
		{name: "http target host upper case", in: "SHOP.EXAMPLE.NET", wantHost: "shop.example.net"},
		{name: "tcp target host", in: "db.internal", wantHost: "db.internal"},
		{name: "tcp target IPv6 host, other spelling", in: "0:0::1", wantHost: "::1"},

		// ping_allow: CIDRs and IPs.
		{name: "CIDR hit", in: "127.0.3.4", wantHost: "127.0.3.4"},
		{name: "CIDR miss", in: "127.1.0.1", wantRefusal: "not a configured target's host and not in bot.ping_allow"},
		{name: "IP entry", in: "127.9.9.9", wantHost: "127.9.9.9"},
		{name: "IPv4-mapped IPv6 in an IPv4 CIDR", in: "::ffff:127.0.0.9", wantHost: "::ffff:127.0.0.9"},
		{name: "IPv6 ::1 in ::1/128", in: "::1", wantHost: "::1"},
		{name: "IPv6 miss", in: "::2", wantRefusal: "not in bot.ping_allow"},

		// ping_allow: domain suffixes.
		{name: "suffix: name below", in: "api.example.com", wantHost: "api.example.com"},
		{name: "suffix: apex of a bare suffix", in: "example.com", wantHost: "example.com"},
		{name: "suffix: case and trailing dot", in: "API.Example.COM.", wantHost: "API.Example.COM."},
		{name: "suffix lookalike", in: "evilexample.com", wantRefusal: "not in bot.ping_allow"},
		{name: "suffix as a label inside", in: "example.com.evil.test", wantRefusal: "not in bot.ping_allow"},
		{name: "dot suffix: name below", in: "x.corp.test", wantHost: "x.corp.test"},
		{name: "dot suffix: not its apex", in: "corp.test", wantRefusal: "not in bot.ping_allow"},
		{name: "wildcard suffix: name below", in: "a.b.lab.test", wantHost: "a.b.lab.test"},
		{name: "wildcard suffix: not its apex", in: "lab.test", wantRefusal: "not in bot.ping_allow"},
		{name: "an IP never matches a suffix", in: "127.2.0.1", wantRefusal: "not in bot.ping_allow"},
		{name: "unknown name", in: "localhost", wantRefusal: `tocsin will not ping "localhost": it is not a configured target's host and not in bot.ping_allow`},

		// Not a host at all.
		{name: "shell command", in: "127.0.0.1; rm -rf /", wantRefusal: `"127.0.0.1; rm -rf /" is not a hostname or IP address: contains a space`},
		{name: "semicolon", in: "127.0.0.1;id", wantRefusal: "is not a hostname or IP address: contains ';'"},
		{name: "command substitution", in: "$(id)", wantRefusal: `"$(id)" is not a hostname or IP address: contains '$'`},
		{name: "mention", in: "<@U123>", wantRefusal: `"\x3c\x40U123\x3e" is not a hostname or IP address: contains '\x3c'`},
		{name: "URL", in: "http://x", wantRefusal: `"http://x" is not a hostname or IP address: is a URL; give the host alone`},
		{name: "host:port", in: "host:80", wantRefusal: `"host:80" is not a hostname or IP address: is host:port; give the host alone`},
		{name: "flag", in: "-c", wantRefusal: `starts with "-"`},
		{name: "zone with markup", in: "fe80::1%<!channel>", wantRefusal: `has a zone (%\x3c!channel\x3e)`},
		{name: "newline", in: "a\nb", wantRefusal: `"a\nb" is not a hostname or IP address`},
		{name: "bad IP", in: "127.0.0.999", wantRefusal: "not a valid IP address"},
		{name: "empty", in: "", wantRefusal: "is not a hostname or IP address: empty"},
		{name: "over-long", in: strings.Repeat("a", 300), wantRefusal: `"` + strings.Repeat("a", quoteMax) + `…" is not a hostname or IP address: longer than 253 characters`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, refusal := planPing(tt.in, set)
			if tt.wantRefusal != "" {
				if !strings.Contains(refusal, tt.wantRefusal) {
					t.Errorf("refusal %q, want it to contain %q", refusal, tt.wantRefusal)
				}
				if plan != (pingPlan{}) {
					t.Errorf("refused, yet plan %+v", plan)
				}
				if strings.ContainsAny(refusal, "<>@`") {
					t.Errorf("refusal %q carries markup", refusal)
				}
				if len(refusal) > 200 {
					t.Errorf("refusal is %d bytes long: %q", len(refusal), refusal)
				}
				return
			}
			if refusal != "" {
				t.Fatalf("refused: %s", refusal)
			}
			if plan.Host != tt.wantHost || plan.Target != tt.wantTarget {
				t.Errorf("plan %+v, want host %q target %q", plan, tt.wantHost, tt.wantTarget)
			}
		})
	}
}

// TestPlanPingEmptyConfig: with no targets and no ping_allow nothing may
// be pinged, loopback included.
func TestPlanPingEmptyConfig(t *testing.T) {
	for _, in := range []string{"127.0.0.1", "::1", "localhost"} {
		if _, refusal := planPing(in, Settings{}); refusal == "" {
			t.Errorf("%s allowed with an empty config", in)
		}
	}
}

func TestQuoteInput(t *testing.T) {
	tests := []struct{ in, want string }{
		{"web-1", `"web-1"`},
		{`a"b\c`, `"a\"b\\c"`},
		{"<!here> & @everyone `x`", `"\x3c!here\x3e \x26 \x40everyone \x60x\x60"`},
		{"é\u202e", `"\u00e9\u202e"`},
		{strings.Repeat("é", 50), `"` + strings.Repeat(`\u00e9`, quoteMax) + `…"`},
	}
	for _, tt := range tests {
		if got := quoteInput(tt.in); got != tt.want {
			t.Errorf("quoteInput(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
