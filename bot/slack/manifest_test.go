package slack

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/slack-go/slack"

	"github.com/tocsin/tocsin/bot"
)

// manifest is the part of a Slack app manifest tocsin depends on.
type manifest struct {
	Features struct {
		BotUser struct {
			DisplayName string `yaml:"display_name"`
		} `yaml:"bot_user"`
		SlashCommands []struct {
			Command     string `yaml:"command"`
			URL         string `yaml:"url"`
			Description string `yaml:"description"`
			UsageHint   string `yaml:"usage_hint"`
		} `yaml:"slash_commands"`
	} `yaml:"features"`
	OAuthConfig struct {
		Scopes struct {
			Bot []string `yaml:"bot"`
		} `yaml:"scopes"`
	} `yaml:"oauth_config"`
	Settings struct {
		Interactivity struct {
			IsEnabled  bool   `yaml:"is_enabled"`
			RequestURL string `yaml:"request_url"`
		} `yaml:"interactivity"`
		SocketModeEnabled bool `yaml:"socket_mode_enabled"`
	} `yaml:"settings"`
}

// TestManifests keeps the app manifests in the repository in step with
// what the adapter and the notifier need: the commands they parse, the
// scopes they call with, the paths HTTP mode serves.
func TestManifests(t *testing.T) {
	tests := []struct {
		file   string
		socket bool
	}{
		{"../../slack/manifest.yaml", true},
		{"../../slack/manifest-http.yaml", false},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			data, err := os.ReadFile(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			var m manifest
			if err := yaml.Unmarshal(data, &m); err != nil {
				t.Fatalf("%s: %v", tc.file, err)
			}
			for _, scope := range []string{"chat:write", "commands"} {
				if !slices.Contains(m.OAuthConfig.Scopes.Bot, scope) {
					t.Errorf("bot scope %s missing", scope)
				}
			}
			if !m.Settings.Interactivity.IsEnabled {
				t.Error("interactivity (the Acknowledge button) is off")
			}
			if m.Settings.SocketModeEnabled != tc.socket {
				t.Errorf("socket_mode_enabled = %v, want %v", m.Settings.SocketModeEnabled, tc.socket)
			}
			if !tc.socket && !strings.HasSuffix(m.Settings.Interactivity.RequestURL, "/slack/interactions") {
				t.Errorf("interactivity request_url %q does not end in /slack/interactions", m.Settings.Interactivity.RequestURL)
			}

			// Every registered command reaches the handler as a command it
			// knows.
			a := newAdapter(Options{})
			var names []string
			for _, sc := range m.Features.SlashCommands {
				names = append(names, sc.Command)
				if !tc.socket && !strings.HasSuffix(sc.URL, "/slack/commands") {
					t.Errorf("%s: url %q does not end in /slack/commands", sc.Command, sc.URL)
				}
				text := "status"
				want := bot.CmdStatus
				if sc.Command == "/ping" {
					text, want = "127.0.0.1", bot.CmdPing
				}
				if got := a.slashCommand(slack.SlashCommand{Command: sc.Command, Text: text}); got.Name != want {
					t.Errorf("%s %s parsed as %q, want %q", sc.Command, text, got.Name, want)
				}
				// Slack's limits (the manifest schema).
				if n := len([]rune(sc.Description)); n < 1 || n > 2000 {
					t.Errorf("%s: description of %d characters, want 1-2000", sc.Command, n)
				}
				if n := len([]rune(sc.UsageHint)); n > 1000 {
					t.Errorf("%s: usage_hint of %d characters, at most 1000", sc.Command, n)
				}
				if sc.Command != "/tocsin" {
					continue
				}
				// The main command's hint offers every command, and each
				// reaches the handler under its name.
				hint := map[string]bool{}
				for _, alt := range strings.Split(sc.UsageHint, "|") {
					if f := strings.Fields(alt); len(f) > 0 {
						hint[f[0]] = true
					}
				}
				for _, name := range []string{bot.CmdPing, bot.CmdStatus, bot.CmdAck, bot.CmdUnack,
					bot.CmdMute, bot.CmdUnmute, bot.CmdOncall, bot.CmdHelp} {
					if !hint[name] {
						t.Errorf("%s: usage_hint %q does not offer %s", sc.Command, sc.UsageHint, name)
					}
					if !strings.Contains(sc.Description, name) {
						t.Errorf("%s: description %q does not name %s", sc.Command, sc.Description, name)
					}
					if got := a.slashCommand(slack.SlashCommand{Command: sc.Command, Text: name + " x"}); got.Name != name {
						t.Errorf("%s %s x parsed as %q", sc.Command, name, got.Name)
					}
				}
			}
			slices.Sort(names)
			if !slices.Equal(names, []string{"/ping", "/tocsin"}) {
				t.Errorf("slash commands %v, want /ping and /tocsin", names)
			}
		})
	}
}
