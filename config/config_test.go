package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	// The binary embeds the time zone database; tests of CRON_TZ= and
	// oncall.time_zone must not depend on the machine's.
	_ "time/tzdata"

	"github.com/tocsin/tocsin/checks"
)

// env returns a getenv over m.
func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// problems returns err's problems as lines, failing t when err is not an
// *Error.
func problems(t *testing.T, err error) []string {
	t.Helper()
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("error %v (%T) is not a *config.Error", err, err)
	}
	lines := make([]string, len(ce.Problems))
	for i, p := range ce.Problems {
		lines[i] = p.String()
	}
	return lines
}

// TestLoadBadConfigs loads every testdata/bad/*.yaml and compares its
// problems with the lines of the .want file beside it.
func TestLoadBadConfigs(t *testing.T) {
	files, err := filepath.Glob("testdata/bad/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no bad configs: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			want, err := os.ReadFile(strings.TrimSuffix(f, ".yaml") + ".want")
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := Load(f, nil)
			if err == nil {
				t.Fatalf("Load(%s) = %+v, want an error", f, cfg)
			}
			got := strings.Join(problems(t, err), "\n")
			if w := strings.TrimRight(string(want), "\n"); got != w {
				t.Errorf("Load(%s) problems:\n%s\nwant:\n%s", f, got, w)
			}
			if got != err.Error() {
				t.Errorf("Error() = %q, want the problems one a line", err.Error())
			}
		})
	}
}

// TestLoadBadCoverage makes sure each case the brief names has its file.
func TestLoadBadCoverage(t *testing.T) {
	for _, name := range []string{
		"syntax", "unknown_top", "unknown_target_key", "bad_duration", "bad_cron",
		"cron_tz_panic", "threshold_zero", "bad_scheme", "bad_host", "bad_name",
		"duplicate_name", "ping_and_http", "no_kind", "every_and_schedule",
		"depends_unknown", "depends_cycle", "unset_var", "slack_no_token", "several",
	} {
		for _, ext := range []string{".yaml", ".want"} {
			if _, err := os.Stat(filepath.Join("testdata/bad", name+ext)); err != nil {
				t.Errorf("missing %s%s: %v", name, ext, err)
			}
		}
	}
}

func TestLoadMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.yaml")
	_, err := Load(path, nil)
	got := problems(t, err)
	want := []string{path + ":0: file: cannot read: no such file or directory"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("problems = %q, want %q", got, want)
	}
}

// goodEnv is what testdata/good.yaml expands with.
func goodEnv() map[string]string {
	return map[string]string{
		"SHOP_TOKEN":        "shop-secret",
		"SLACK_BOT_TOKEN":   "xoxb-1-2-3",
		"SLACK_APP_TOKEN":   "xapp-1-2-3",
		"DISCORD_BOT_TOKEN": "discord-secret",
	}
}

func TestLoadGood(t *testing.T) {
	cfg, err := Load("testdata/good.yaml", env(goodEnv()))
	if err != nil {
		t.Fatal(err)
	}
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	// inherited is what every target gets from good.yaml's defaults:.
	inherited := checks.Target{
		Timeout: 2 * time.Second, Schedule: "@every 1m0s", Every: time.Minute,
		FailAfter: 2, RecoverAfter: 2, RemindEvery: 24 * time.Hour, EscalateAfter: 0, AckExpires: 4 * time.Hour,
		GroupWait: 5 * time.Second, FlapHigh: 60, FlapLow: 20, Tags: []string{"prod"},
	}
	with := func(f func(t *checks.Target)) checks.Target {
		t := cloneTarget(inherited)
		f(&t)
		return t
	}
	wantTargets := []checks.Target{
		with(func(t *checks.Target) {
			t.Name, t.Kind = "web-1", checks.KindPing
			t.Ping = checks.PingSpec{Host: "localhost", Count: 3, Interval: 100 * time.Millisecond, MaxLoss: 50, HasMaxLoss: true}
			t.Tags = []string{"edge", "eu"}
		}),
		with(func(t *checks.Target) {
			t.Name, t.Kind = "shop", checks.KindHTTP
			t.Schedule, t.Every = "*/15 * * * * *", 0
			t.HTTP = checks.HTTPSpec{
				URL: "https://127.0.0.1:8443/health", Method: "POST",
				Headers: map[string]string{"Authorization": "Bearer shop-secret"},
				Body:    `{"ping": true}`, ExpectStatus: []int{200, 204}, Contains: "ok",
				MaxLatency: 2 * time.Second, CertDays: 14, InsecureSkipVerify: true,
				CAFile: filepath.Join("testdata", "ca.pem"),
			}
		}),
		with(func(t *checks.Target) {
			t.Name, t.Kind = "db", checks.KindTCP
			t.TCP = checks.TCPSpec{Address: "[::1]:5432"}
			t.Schedule, t.Every = "CRON_TZ=Europe/Berlin @every 10s", 10*time.Second
			t.DependsOn = []string{"web-1", "shop"}
			t.FailAfter, t.FlapHigh = 5, 70
		}),
		with(func(t *checks.Target) {
			t.Name, t.Kind = "plain", checks.KindHTTP
			t.Schedule, t.Every = "@every 60h0m0s", 60*time.Hour
			t.HTTP = checks.HTTPSpec{URL: "http://localhost/", Method: "HEAD", Headers: map[string]string{"User-Agent": "tocsin"}}
		}),
	}
	if len(cfg.Targets) != len(wantTargets) {
		t.Fatalf("got %d targets, want %d", len(cfg.Targets), len(wantTargets))
	}
	for i, want := range wantTargets {
		if got := cfg.Targets[i]; !reflect.DeepEqual(got, want) {
			t.Errorf("target %d:\n got %+v\nwant %+v", i, got, want)
		}
	}

	tests := []struct {
		name      string
		got, want any
	}{
		{"Path", cfg.Path, "testdata/good.yaml"},
		{"Listen", cfg.Listen, "127.0.0.1:0"},
		{"State (${VAR:-default})", cfg.State, "/var/lib/tocsin/tocsin.db"},
		{"ResultsLog", cfg.ResultsLog, "results.jsonl"},
		{"MaxConcurrent", cfg.MaxConcurrent, 64},
		{"Resolver", cfg.Resolver, "127.0.0.1:5353"},
		{"Bot", cfg.Bot, Bot{PingAllow: []string{"127.0.0.0/8", "::1", ".internal"}, RateLimit: 10, RatePer: time.Hour}},
		{"Oncall", *cfg.Oncall, Oncall{
			TimeZone: "Europe/Berlin", Location: berlin, Handoff: "Mon 09:00",
			Rotation: []Person{
				{Name: "alice", Slack: "U0ALICE", Discord: "1111"},
				{Name: "bob", Slack: "U0BOB", Discord: "2222"},
			},
			EscalateTo: EscalateTo{Slack: "S0ONCALL", DiscordRole: "3333"},
		}},
		{"Maintenance", cfg.Maintenance, []Maintenance{
			{Name: "nightly-backup", Schedule: "0 2 * * *", Duration: 30 * time.Minute, Targets: []string{"db"}},
			{Name: "edge-work", Schedule: "TZ=UTC 0 4 * * SUN", Duration: 2 * time.Hour, Tags: []string{"edge"}},
		}},
		{"Slack", *cfg.Slack, Slack{
			BotToken: "xoxb-1-2-3", AppToken: "xapp-1-2-3", Channel: "C0123456789",
			APIURL:       "http://127.0.0.1:9999/api/",
			AllowedUsers: []string{"U0ALICE", "bob"}, AllowedChannels: []string{"C0123456789"},
		}},
		{"Discord", *cfg.Discord, Discord{
			BotToken: "discord-secret", ApplicationID: "123", GuildID: "456", ChannelID: "789",
			PublicKey: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
			APIURL:    "http://127.0.0.1:9998", AckRoles: []string{"3333"},
		}},
	}
	for _, tt := range tests {
		if !reflect.DeepEqual(tt.got, tt.want) {
			t.Errorf("%s = %+v, want %+v", tt.name, tt.got, tt.want)
		}
	}
}

// TestBuiltinDefaults checks what a config that sets almost nothing gets.
func TestBuiltinDefaults(t *testing.T) {
	src := "targets:\n  - {name: p, ping: 127.0.0.1}\n  - {name: h, http: 'http://127.0.0.1/'}\n  - {name: t, tcp: '127.0.0.1:22'}\n"
	cfg, err := Parse("c.yaml", []byte(src), nil)
	if err != nil {
		t.Fatal(err)
	}
	base := checks.Target{
		Timeout: 5 * time.Second, Schedule: "@every 30s", Every: 30 * time.Second,
		FailAfter: 3, RecoverAfter: 1, RemindEvery: 30 * time.Minute,
		EscalateAfter: 15 * time.Minute, GroupWait: 10 * time.Second, FlapHigh: 50, FlapLow: 25,
	}
	p, h, tc := base, base, base
	p.Name, p.Kind, p.Ping = "p", checks.KindPing, checks.PingSpec{Host: "127.0.0.1", Count: 1, Interval: 200 * time.Millisecond}
	h.Name, h.Kind, h.HTTP = "h", checks.KindHTTP, checks.HTTPSpec{URL: "http://127.0.0.1/", Method: "GET"}
	tc.Name, tc.Kind, tc.TCP = "t", checks.KindTCP, checks.TCPSpec{Address: "127.0.0.1:22"}
	want := &Config{
		Path: "c.yaml", Listen: "127.0.0.1:8080", State: "tocsin.db", MaxConcurrent: 512, ICMPSocket: "shared",
		Targets: []checks.Target{p, h, tc},
		Bot:     Bot{RateLimit: 5, RatePer: time.Minute},
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("got  %+v\nwant %+v", cfg, want)
	}
}

func TestEmptyConfig(t *testing.T) {
	for _, src := range []string{"", "# nothing\n", "targets: []\n"} {
		cfg, err := Parse("c.yaml", []byte(src), nil)
		if err != nil {
			t.Errorf("Parse(%q): %v", src, err)
			continue
		}
		if len(cfg.Targets) != 0 || cfg.Listen != "127.0.0.1:8080" || cfg.Slack != nil || cfg.Discord != nil || cfg.Oncall != nil {
			t.Errorf("Parse(%q) = %+v, want built-ins and nothing on", src, cfg)
		}
	}
}

// TestSchedules checks every/schedule resolution and inheritance.
func TestSchedules(t *testing.T) {
	tests := []struct {
		name      string
		defaults  string
		target    string
		wantSpec  string
		wantEvery time.Duration
	}{
		{"built-in", "", "", "@every 30s", 30 * time.Second},
		{"own every", "", "every: 10s", "@every 10s", 10 * time.Second},
		{"days", "", "every: 1d", "@every 24h0m0s", 24 * time.Hour},
		{"own cron", "", `schedule: "*/5 * * * *"`, "*/5 * * * *", 0},
		{"own cron with seconds", "", `schedule: "*/10 * * * * *"`, "*/10 * * * * *", 0},
		{"own @every", "", `schedule: "@every 1m"`, "@every 1m", time.Minute},
		{"descriptor", "", `schedule: "@hourly"`, "@hourly", 0},
		{"time zone", "", `schedule: "CRON_TZ=Asia/Tokyo 0 9 * * MON-FRI"`, "CRON_TZ=Asia/Tokyo 0 9 * * MON-FRI", 0},
		{"inherited every", "every: 45s", "", "@every 45s", 45 * time.Second},
		{"inherited schedule", `schedule: "0 * * * *"`, "", "0 * * * *", 0},
		{"own schedule replaces inherited every", "every: 45s", `schedule: "0 * * * *"`, "0 * * * *", 0},
		{"own every replaces inherited schedule", `schedule: "0 * * * *"`, "every: 2m", "@every 2m0s", 2 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "defaults:\n  " + tt.defaults + "\ntargets:\n  - name: a\n    ping: 127.0.0.1\n    " + tt.target + "\n"
			cfg, err := Parse("c.yaml", []byte(src), nil)
			if err != nil {
				t.Fatalf("Parse:\n%s\n%v", src, err)
			}
			got := cfg.Targets[0]
			if got.Schedule != tt.wantSpec || got.Every != tt.wantEvery {
				t.Errorf("Schedule, Every = %q, %v; want %q, %v", got.Schedule, got.Every, tt.wantSpec, tt.wantEvery)
			}
		})
	}
}

// TestInheritance checks that a target's own value wins over defaults:,
// and kind-specific defaults reach only targets of that kind.
func TestInheritance(t *testing.T) {
	src := `defaults:
  timeout: 3s
  count: 4
  method: PUT
  expect_status: [201]
  tags: [a]
  max_loss: 10%
targets:
  - {name: p1, ping: 127.0.0.1}
  - {name: p2, ping: 127.0.0.1, count: 1, timeout: 9s, tags: []}
  - {name: h1, http: "http://127.0.0.1/"}
  - {name: h2, http: "http://127.0.0.1/", method: GET, expect_status: [200, 301]}
  - {name: t1, tcp: "127.0.0.1:1"}
`
	cfg, err := Parse("c.yaml", []byte(src), nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		target string
		field  string
		got    func(t *checks.Target) any
		want   any
	}{
		{"p1", "Timeout", func(t *checks.Target) any { return t.Timeout }, 3 * time.Second},
		{"p1", "Count", func(t *checks.Target) any { return t.Ping.Count }, 4},
		{"p1", "MaxLoss", func(t *checks.Target) any { return [2]any{t.Ping.MaxLoss, t.Ping.HasMaxLoss} }, [2]any{10.0, true}},
		{"p1", "Tags", func(t *checks.Target) any { return t.Tags }, []string{"a"}},
		{"p2", "Count", func(t *checks.Target) any { return t.Ping.Count }, 1},
		{"p2", "Timeout", func(t *checks.Target) any { return t.Timeout }, 9 * time.Second},
		{"p2", "Tags", func(t *checks.Target) any { return len(t.Tags) }, 0},
		{"p2", "HTTP (not its kind)", func(t *checks.Target) any { return t.HTTP.Method }, ""},
		{"h1", "Method", func(t *checks.Target) any { return t.HTTP.Method }, "PUT"},
		{"h1", "ExpectStatus", func(t *checks.Target) any { return t.HTTP.ExpectStatus }, []int{201}},
		{"h1", "Ping (not its kind)", func(t *checks.Target) any { return t.Ping.Count }, 0},
		{"h2", "Method", func(t *checks.Target) any { return t.HTTP.Method }, "GET"},
		{"h2", "ExpectStatus", func(t *checks.Target) any { return t.HTTP.ExpectStatus }, []int{200, 301}},
		{"t1", "Timeout", func(t *checks.Target) any { return t.Timeout }, 3 * time.Second},
	}
	for _, tt := range tests {
		tg, ok := cfg.Target(tt.target)
		if !ok {
			t.Fatalf("no target %s", tt.target)
		}
		if got := tt.got(tg); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s.%s = %v, want %v", tt.target, tt.field, got, tt.want)
		}
	}
	// Targets must not share the defaults' slices.
	p1, _ := cfg.Target("p1")
	p1.Tags[0] = "changed"
	if t1, _ := cfg.Target("t1"); t1.Tags[0] != "a" {
		t.Errorf("targets share the defaults' tags slice")
	}
}

func TestTargetLookup(t *testing.T) {
	cfg := &Config{Targets: []checks.Target{{Name: "a"}, {Name: "b"}}}
	if tg, ok := cfg.Target("b"); !ok || tg != &cfg.Targets[1] {
		t.Errorf("Target(b) = %v, %v; want a pointer to Targets[1]", tg, ok)
	}
	if tg, ok := cfg.Target("c"); ok || tg != nil {
		t.Errorf("Target(c) = %v, %v; want nil, false", tg, ok)
	}
}

func TestExpand(t *testing.T) {
	vars := map[string]string{"HOST": "db", "PORT": "5432", "EMPTY": ""}
	tests := []struct {
		in       string
		getenv   func(string) string
		want     string
		expanded bool
		wantErr  string
	}{
		{"plain", env(vars), "plain", false, ""},
		{"${HOST}", env(vars), "db", true, ""},
		{"${HOST}:${PORT}", env(vars), "db:5432", true, ""},
		{"x-${HOST}-y", env(vars), "x-db-y", true, ""},
		{"${MISSING:-fallback}", env(vars), "fallback", true, ""},
		{"${EMPTY:-fallback}", env(vars), "fallback", true, ""},
		{"${HOST:-fallback}", env(vars), "db", true, ""},
		{"${MISSING:-}", env(vars), "", true, ""},
		{"${MISSING:-a:-b}", env(vars), "a:-b", true, ""},
		{"$${HOST}", env(vars), "${HOST}", false, ""},
		{"a$${b}c", env(vars), "a${b}c", false, ""},
		{"$$${HOST}", env(vars), "$${HOST}", false, ""},
		{"$HOST", env(vars), "$HOST", false, ""},
		{"cost: $5", env(vars), "cost: $5", false, ""},
		{"${HOST}", nil, "", false, "environment variable HOST is not set"},
		{"${HOST:-d}", nil, "d", true, ""},
		{"${MISSING}", env(vars), "", false, "environment variable MISSING is not set"},
		{"${EMPTY}", env(vars), "", false, "environment variable EMPTY is not set"},
		{"${HOST", env(vars), "", false, "unterminated ${"},
		{"${}", env(vars), "", false, "bad ${...}: a variable name is letters, digits and _, not starting with a digit"},
		{"${1X}", env(vars), "", false, "bad ${...}: a variable name is letters, digits and _, not starting with a digit"},
		{"${A B}", env(vars), "", false, "bad ${...}: a variable name is letters, digits and _, not starting with a digit"},
	}
	for _, tt := range tests {
		got, expanded, err := expand(tt.in, tt.getenv)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("expand(%q) error = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want || expanded != tt.expanded {
			t.Errorf("expand(%q) = %q, %v, %v; want %q, %v", tt.in, got, expanded, err, tt.want, tt.expanded)
		}
	}
}

// TestExpandValuesOnly checks that ${} is expanded in values, never in keys
// or comments.
func TestExpandValuesOnly(t *testing.T) {
	getenv := env(map[string]string{"LISTEN": "127.0.0.1:9090", "KEY": "state"})
	src := "# ${UNSET} in a comment is fine\nlisten: ${LISTEN} # and ${UNSET} here\n${KEY}: x.db\n"
	_, err := Parse("c.yaml", []byte(src), getenv)
	got := problems(t, err)
	want := []string{`c.yaml:3: "${KEY}": unknown key`}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("problems = %q, want %q", got, want)
	}
	cfg, err := Parse("c.yaml", []byte("listen: ${LISTEN} # ${UNSET}\nstate: '$${HOME}/x.db'\n"), getenv)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "127.0.0.1:9090" || cfg.State != "${HOME}/x.db" {
		t.Errorf("Listen, State = %q, %q", cfg.Listen, cfg.State)
	}
}

// TestNoSecretInErrors puts secrets where they are rejected and checks that
// no message shows them.
func TestNoSecretInErrors(t *testing.T) {
	const secret = "hunter2-TOPSECRET"
	getenv := env(map[string]string{"S": secret, "URL": "ftp://127.0.0.1/" + secret})
	src := `targets:
  - name: a
    http: "http://127.0.0.1/"
    timeout: ${S}
    method: ${S}
    headers:
      X-Token: "${S}` + "\\u0001" + `"
    expect_status: ["${S}"]
  - name: b
    tcp: ${S}
  - name: c
    ping: ${S}:1
slack:
  bot_token: ${S}
  app_token: ` + secret + `
  signing_secret: ` + secret + `
  channel: ${S}
  api_url: ${URL}
discord:
  bot_token: ${S}
  webhook_url: ${URL}
  public_key: ` + secret + `
  api_url: ${URL}
`
	_, err := Parse("c.yaml", []byte(src), getenv)
	got := problems(t, err)
	if len(got) < 12 {
		t.Errorf("only %d problems: %q", len(got), got)
	}
	t.Logf("problems:\n%s", strings.Join(got, "\n"))
	for _, line := range got {
		if strings.Contains(line, secret) || strings.Contains(line, "hunter2") {
			t.Errorf("secret in %q", line)
		}
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"5s", 5 * time.Second, true},
		{"1h30m", 90 * time.Minute, true},
		{"1d", 24 * time.Hour, true},
		{"2d12h", 60 * time.Hour, true},
		{"1.5d", 36 * time.Hour, true},
		{"0", 0, true},
		{"5x", 0, false},
		{"d", 0, false},
		{"1dd", 0, false},
		{"", 0, false},
		{"5", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseDuration(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestValidHost(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"localhost", true},
		{"www.example.com", true},
		{"www.example.com.", true},
		{"a-b.c", true},
		{"127.0.0.1", true},
		{"::1", true},
		{"fe80::1%eth0", false},
		{"xn--bcher-kva.example", true},
		{strings.Repeat("a", 63) + ".com", true},
		{strings.Repeat("a", 64) + ".com", false},
		{strings.Repeat("a.", 127) + "com", false},
		{"", false},
		{"-a.com", false},
		{"a-.com", false},
		{"a..com", false},
		{"exa mple.com", false},
		{"http://example.com", false},
		{"example.com:80", false},
		{"[::1]", false},
		{"example.com/path", false},
		{"300.1.1.1", false},
		{"1.2.3", false},
		{"under_score.com", false},
	}
	for _, tt := range tests {
		if got := validHost(tt.in); got != tt.want {
			t.Errorf("validHost(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestValidName(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"web-1", true},
		{"a", true},
		{"A.b_c-9", true},
		{"9lives", true},
		{strings.Repeat("x", 100), true},
		{strings.Repeat("x", 101), false},
		{"", false},
		{"-a", false},
		{".a", false},
		{"a b", false},
		{"a/b", false},
		{"ümlaut", false},
	}
	for _, tt := range tests {
		if got := validName(tt.in); got != tt.want {
			t.Errorf("validName(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestParseCron(t *testing.T) {
	tests := []struct {
		spec    string
		every   time.Duration
		wantErr string // substring
	}{
		{"* * * * *", 0, ""},
		{"*/10 * * * * *", 0, ""},
		{"@daily", 0, ""},
		{"@every 90s", 90 * time.Second, ""},
		{"CRON_TZ=UTC @every 1m", time.Minute, ""},
		{"TZ=Europe/Berlin 0 9 * * *", 0, ""},
		{"CRON_TZ=UTC", 0, "no schedule after the time zone"},
		{"TZ=UTC", 0, "no schedule after the time zone"},
		{"CRON_TZ=Nowhere/Land * * * * *", 0, "provided bad location"},
		{"* * *", 0, "expected 5 to 6 fields"},
		{"61 * * * *", 0, "above maximum"},
		{"@every 5x", 0, "failed to parse duration"},
		{"@fortnightly", 0, "unrecognized descriptor"},
	}
	for _, tt := range tests {
		every, err := parseCron(tt.spec)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("parseCron(%q): %v", tt.spec, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("parseCron(%q) error = %v, want one containing %q", tt.spec, err, tt.wantErr)
		case every != tt.every:
			t.Errorf("parseCron(%q) every = %v, want %v", tt.spec, every, tt.every)
		}
	}
}

// TestProblemsInline covers single-problem cases too small for a file of
// their own.
func TestProblemsInline(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{"unknown key suggestion in slack", "slack:\n  bot_tokn: xoxb-1\n  channel: C1\n  signing_secret: s\n",
			[]string{"c.yaml:1: slack.bot_token: required", "c.yaml:2: slack.bot_tokn: unknown key (did you mean bot_token?)"}},
		{"unknown key without suggestion", "zzz: 1\n", []string{"c.yaml:1: zzz: unknown key"}},
		{"slack allowed lists", "slack:\n  bot_token: xoxb-1\n  channel: C1\n  signing_secret: s\n  allowed_users: U1\n  allowed_channels: [\"C 1\"]\n", []string{
			"c.yaml:5: slack.allowed_users: must be a list, not a single value",
			"c.yaml:6: slack.allowed_channels[0]: must be one id or name, without spaces",
		}},
		{"slack section empty", "slack:\n", []string{
			"c.yaml:1: slack.bot_token: required",
			"c.yaml:1: slack.signing_secret: required without app_token (HTTP mode)",
			"c.yaml:1: slack.channel: required",
		}},
		{"slack token prefixes", "slack:\n  bot_token: xoxp-1\n  app_token: xoxb-2\n  channel: C1\n", []string{
			"c.yaml:2: slack.bot_token: is not a bot token (xoxb-…)",
			"c.yaml:3: slack.app_token: is not an app-level token (xapp-…)",
		}},
		{"discord bot needs ids", "discord:\n  bot_token: t\n", []string{
			"c.yaml:1: discord.application_id: required with bot_token",
			"c.yaml:1: discord.channel_id: required with bot_token",
		}},
		{"discord webhook alone is fine", "discord:\n  webhook_url: https://127.0.0.1/api/webhooks/1/x\n", nil},
		{"listen port 0 ok, resolver needs a port", "listen: ':0'\nresolver: 127.0.0.1\n",
			[]string{`c.yaml:2: resolver: "127.0.0.1" is not host:port`}},
		{"group_wait per target", "targets:\n  - name: a\n    ping: 127.0.0.1\n    group_wait: 1s\n",
			[]string{"c.yaml:4: targets[0].group_wait: only in defaults"}},
		{"defaults flap", "defaults:\n  flap_low: 60%\ntargets:\n  - {name: a, ping: 127.0.0.1}\n",
			[]string{"c.yaml:2: defaults.flap_low: flap_low 60% is above flap_high 50%"}},
		{"both in defaults", "defaults:\n  every: 1m\n  schedule: '@hourly'\n",
			[]string{"c.yaml:3: defaults.schedule: every and schedule are both set; use one"}},
		{"three kinds", "targets:\n  - {name: a, ping: h, http: 'http://h/', tcp: 'h:1'}\n",
			[]string{"c.yaml:2: targets[0]: has ping, http, tcp; needs exactly one"}},
		{"expanded value is quoted as written", "targets:\n  - {name: a, ping: h, timeout: '${T:-5x}'}\n",
			[]string{`c.yaml:2: targets[0].timeout: "${T:-5x}" is not a duration`}},
		{"target not a mapping", "targets:\n  - web\n", []string{"c.yaml:2: targets[0]: must be a mapping, not a single value"}},
		{"targets not a list", "targets:\n  a: 1\n", []string{"c.yaml:2: targets: must be a list, not a mapping"}},
		{"duplicate yaml key", "listen: ':1'\nlisten: ':2'\n", []string{`c.yaml:2: yaml: mapping key "listen" already defined at [1:1]`}},
		{"two documents", "listen: ':1'\n---\nlisten: ':2'\n", []string{"c.yaml:3: yaml: more than one YAML document"}},
		{"oncall without rotation", "oncall:\n  time_zone: UTC\n", []string{"c.yaml:1: oncall.rotation: required: at least one person"}},
		{"ping_allow", "bot:\n  ping_allow: [10.0.0.0/8, '*.example.com', 'not valid', 10.0.0.0/33]\n", []string{
			`c.yaml:2: bot.ping_allow[2]: "not valid" is neither a CIDR, an IP address nor a domain suffix`,
			`c.yaml:2: bot.ping_allow[3]: "10.0.0.0/33" is neither a CIDR, an IP address nor a domain suffix`,
		}},
		{"anchors and merge keys", "defaults: &d\n  timeout: 1s\ntargets:\n  - <<: *d\n    name: a\n    ping: h\n", nil},
		{"ca_file directory", "targets:\n  - {name: a, http: 'http://h/', ca_file: .}\n",
			[]string{`c.yaml:2: targets[0].ca_file: "." is a directory`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("c.yaml", []byte(tt.src), nil)
			var got []string
			if err != nil {
				got = problems(t, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// TestHostsFile covers hosts_file: one ping target per line of a file,
// every setting of the entry applied to each, problems at the file's line.
func TestHostsFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.txt", "# fleet\n127.0.0.1\n\n127.0.0.2  db-2   # the database\n::1 lo6\n")
	write("bad.txt", "127.0.0.1\nhttp://x/\n::1\n1.2.3.4 a b\n127.0.0.1\n")
	write("empty.txt", "# nothing\n\n")
	tests := []struct {
		name  string
		src   string
		names []string // targets, in order, when no problem
		hosts []string
		want  []string // problems
	}{
		{"expands with the entry's settings",
			"targets:\n  - {name: web, http: 'http://127.0.0.1/'}\n  - hosts_file: " + good + "\n    count: 2\n    tags: [fleet]\n",
			[]string{"web", "127.0.0.1", "db-2", "lo6"}, []string{"", "127.0.0.1", "127.0.0.2", "::1"}, nil},
		{"relative to the config's directory", "targets:\n  - hosts_file: good.txt\n",
			[]string{"127.0.0.1", "db-2", "lo6"}, []string{"127.0.0.1", "127.0.0.2", "::1"}, nil},
		{"bad lines name the file", "targets:\n  - hosts_file: bad.txt\n", nil, nil, []string{
			`bad.txt:2: targets[0].hosts_file: "http://x/" is not a hostname or IP address (a ping target takes a host, not a URL)`,
			`bad.txt:3: targets[0].hosts_file: "::1" is not a valid name: letters, digits, '.', '_', '-', starting with a letter or digit, at most 100; give the target a name after the host`,
			`bad.txt:4: targets[0].hosts_file: want HOST [NAME], not 3 fields`,
			`bad.txt:5: targets[0].hosts_file: duplicate name "127.0.0.1" (first at bad.txt:1)`,
		}},
		{"no name with hosts_file", "targets:\n  - {name: x, hosts_file: good.txt}\n", nil, nil,
			[]string{"c.yaml:2: targets[0].name: not with hosts_file: each line of the file names its target"}},
		{"not with ping", "targets:\n  - {ping: h, hosts_file: good.txt}\n", nil, nil,
			[]string{"c.yaml:2: targets[0]: has both ping and hosts_file"}},
		{"missing file", "targets:\n  - {hosts_file: nope.txt}\n", nil, nil,
			[]string{`c.yaml:2: targets[0].hosts_file: cannot read "nope.txt": no such file or directory`}},
		{"empty file", "targets:\n  - {hosts_file: empty.txt}\n", nil, nil,
			[]string{"empty.txt:0: targets[0].hosts_file: no hosts in it"}},
		{"http settings refused", "targets:\n  - {hosts_file: good.txt, contains: x}\n", nil, nil,
			[]string{"c.yaml:2: targets[0].contains: only for http targets"}},
		{"icmp_socket", "icmp_socket: raw\n", nil, nil,
			[]string{`c.yaml:1: icmp_socket: "raw" is not "shared" or "per_check"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse(filepath.Join(dir, "c.yaml"), []byte(tt.src), nil)
			var got []string
			if err != nil {
				for _, p := range problems(t, err) {
					got = append(got, strings.TrimPrefix(p, dir+"/"))
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			if err != nil {
				return
			}
			var names, hosts []string
			for _, tg := range cfg.Targets {
				names, hosts = append(names, tg.Name), append(hosts, tg.Ping.Host)
				if tg.Kind == checks.KindPing && (tg.Ping.Count != 2 && strings.Contains(tt.src, "count: 2")) {
					t.Errorf("%s: count %d, want the entry's 2", tg.Name, tg.Ping.Count)
				}
			}
			if !reflect.DeepEqual(names, tt.names) || !reflect.DeepEqual(hosts, tt.hosts) {
				t.Errorf("targets %q hosts %q, want %q %q", names, hosts, tt.names, tt.hosts)
			}
		})
	}
	cfg, err := Parse("c.yaml", []byte("icmp_socket: per_check\n"), nil)
	if err != nil || cfg.ICMPSocket != ICMPPerCheck {
		t.Errorf("icmp_socket: per_check gave %v, %v", cfg, err)
	}
}
