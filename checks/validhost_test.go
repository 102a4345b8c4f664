package checks

import (
	"strings"
	"testing"
)

func TestValidHost(t *testing.T) {
	long63 := strings.Repeat("a", 63)
	tests := []struct {
		in      string
		wantWhy string // "" = valid
	}{
		{in: "example.com"},
		{in: "db-1.internal"},
		{in: "localhost"},
		{in: "www.example.com."},
		{in: "A1.B2"},
		{in: "127.0.0.1"},
		{in: "127.3.4.5"},
		{in: "::1"},
		{in: "2001:db8::1"},
		{in: "::ffff:127.0.0.1"},
		{in: long63 + ".test"},
		{in: strings.Repeat(long63+".", 3) + strings.Repeat("a", 61)}, // 253

		{in: "", wantWhy: "empty"},
		{in: "-c 1000", wantWhy: `starts with "-"`},
		{in: "-f", wantWhy: `starts with "-"`},
		{in: "--help", wantWhy: `starts with "-"`},
		{in: "a b", wantWhy: "contains a space"},
		{in: " example.com", wantWhy: "contains a space"},
		{in: "example.com\n", wantWhy: "contains a space"},
		{in: "a\x00b", wantWhy: "contains a control character"},
		{in: "a;rm -rf /", wantWhy: "contains a space"},
		{in: "a;reboot", wantWhy: `contains ';'`},
		{in: "$(reboot)", wantWhy: `contains '$'`},
		{in: "`id`", wantWhy: "contains '`'"},
		{in: "a|b", wantWhy: `contains '|'`},
		{in: "a&b", wantWhy: `contains '&'`},
		{in: "a>b", wantWhy: `contains '>'`},
		{in: "host'name", wantWhy: `contains '\''`},
		{in: "under_score.test", wantWhy: `contains '_'`},
		{in: "bücher.de", wantWhy: `contains 'ü'`},
		{in: "https://example.com/", wantWhy: "is a URL; give the host alone"},
		{in: "example.com/path", wantWhy: `contains '/'`},
		{in: "example.com:80", wantWhy: "is host:port; give the host alone"},
		{in: "127.0.0.1:22", wantWhy: "is host:port; give the host alone"},
		{in: "[::1]:22", wantWhy: "is host:port; give the host alone"},
		{in: "[::1]", wantWhy: `contains '['`},
		{in: "fe80::1%eth0", wantWhy: "has a zone (%eth0); zones are not accepted"},
		{in: "a..b", wantWhy: "has an empty label"},
		{in: ".example.com", wantWhy: "has an empty label"},
		{in: "example.com..", wantWhy: "has an empty label"},
		{in: "-a.b", wantWhy: `starts with "-"`},
		{in: "a-.b", wantWhy: `label "a-" starts or ends with "-"`},
		{in: "a.-b", wantWhy: `label "-b" starts or ends with "-"`},
		{in: strings.Repeat("a", 64) + ".test", wantWhy: `label "aaaaaaaaaa…" longer than 63 characters`},
		{in: strings.Repeat(long63+".", 3) + strings.Repeat("a", 62), wantWhy: "longer than 253 characters (254)"},
		{in: "1.2.3.999", wantWhy: "not a valid IP address"},
		{in: "10.1", wantWhy: "not a valid IP address"},
		{in: "*.example.com", wantWhy: `contains '*'`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			err := ValidHost(tt.in)
			if tt.wantWhy == "" {
				if err != nil {
					t.Errorf("ValidHost(%q) = %v, want nil", tt.in, err)
				}
				return
			}
			want := strings.ReplaceAll(`"`+tt.in+`"`, "\n", `\n`)
			if tt.in == "a\x00b" {
				want = `"a\x00b"`
			}
			want += " is not a hostname or IP address: " + tt.wantWhy
			if err == nil || err.Error() != want {
				t.Errorf("ValidHost(%q) = %v, want %q", tt.in, err, want)
			}
		})
	}
}
