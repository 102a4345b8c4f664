package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tocsin/tocsin/internal/fakediscord"
	"github.com/tocsin/tocsin/internal/fakeslack"
)

// TestStormBehindParent: a router and 30 targets behind it go down
// together. Each platform gets one grouped alert, at no more than its
// rate; an ack on Slack shows on Discord's alert; the recovery is one
// grouped recovery.
func TestStormBehindParent(t *testing.T) {
	slack, discord := fakeslack.New(), fakediscord.New()
	t.Cleanup(slack.Close)
	t.Cleanup(discord.Close)
	discord.SetToken(discordToken)
	discord.SetApplicationID(discordApp)
	flip := &flipper{}
	srv := httptest.NewServer(flip)
	t.Cleanup(srv.Close)

	const children = 30
	var targets strings.Builder
	fmt.Fprintf(&targets, "  - name: router\n    http: %s/router\n", srv.URL)
	for i := 1; i <= children; i++ {
		fmt.Fprintf(&targets, "  - name: web-%02d\n    http: %s/web-%02d\n    depends_on: [router]\n", i, srv.URL, i)
	}
	dir, listen := t.TempDir(), freeAddr(t)
	cfg := writeConfig(t, dir, fmt.Sprintf(`listen: %s
state: %s
defaults:
  every: 1s
  timeout: 2s
  fail_after: 2
  remind_every: 0
  escalate_after: 0
targets:
%sslack:
  bot_token: ${SLACK_BOT_TOKEN}
  signing_secret: ${SLACK_SIGNING_SECRET}
  channel: %s
  api_url: %s
discord:
  bot_token: ${DISCORD_BOT_TOKEN}
  application_id: "%s"
  guild_id: "%s"
  channel_id: "%s"
  api_url: %s
  public_key: %s
`, listen, filepath.Join(dir, "tocsin.db"), targets.String(), slackChannel, slack.APIURL(),
		discordApp, discordGuild, discordChannel, discord.URL(), strings.Repeat("ab", 32)))
	d := startDaemonEnv(t, cfg, listen, append([]string{"DISCORD_BOT_TOKEN=" + discordToken}, slackEnv...))
	t.Cleanup(func() { noSecretsIn(t, d) })
	d.waitFor("every target up", 20*time.Second, func() bool { return d.status("web-30").Status == "up" && d.status("router").Status == "up" })

	flip.failing.Store(true)
	d.waitFor("31 DOWN lines", 30*time.Second, func() bool { return d.countLines("DOWN ") >= children+1 })
	if n := d.countLines("DOWN web-"); n != children {
		t.Fatalf("%d DOWN lines of children", n)
	}
	// One console line per target, held ones marked; a child may go down
	// before its parent's first failed check, and is then grouped as a
	// storm rather than held.
	held := 0
	for i := 1; i <= children; i++ {
		if n := d.countLines(fmt.Sprintf("DOWN web-%02d ", i)); n != 1 {
			t.Errorf("%d console DOWN lines of web-%02d, want 1", n, i)
		}
	}
	for _, l := range d.stdout() {
		if strings.HasPrefix(l, "DOWN web-") && strings.HasSuffix(l, "(held: router)") {
			held++
		}
	}
	if held == 0 {
		t.Errorf("no child's DOWN line ends (held: router):\n%s", strings.Join(d.stdout(), "\n"))
	}
	// Let the deliveries settle, then count.
	settled := func() {
		time.Sleep(4 * time.Second)
		d.waitFor("Slack and Discord outboxes empty", 60*time.Second, func() bool {
			return outboxEmpty(d)
		})
	}
	settled()
	slackAlerts := topLevel(slack.Messages(slackChannel))
	var discordAlerts []fakediscord.Message
	for _, m := range discord.Messages(discordChannel) {
		if m.ReferenceID == "" {
			discordAlerts = append(discordAlerts, m)
		}
	}
	if len(slackAlerts) != 1 || len(discordAlerts) != 1 {
		t.Fatalf("%d Slack and %d Discord alerts for one storm, want one each", len(slackAlerts), len(discordAlerts))
	}
	// The alert shows the whole group: router with its 30 targets, or,
	// when some children went down before router's first failed check,
	// 31 targets down.
	whole := func(c string) bool {
		return strings.Contains(c, "router") &&
			(strings.Contains(c, "also unreachable: 30 targets") || strings.Contains(c, "31 targets down"))
	}
	defer func() {
		if t.Failed() {
			for _, m := range slack.Messages(slackChannel) {
				t.Logf("Slack message ts=%s thread=%s updates=%d: %s", m.TS, m.ThreadTS, m.Updates, m.Text)
			}
		}
	}()
	d.waitFor("the Slack alert showing the whole group", 20*time.Second, func() bool {
		m, _ := slack.MessageAt(slackChannel, slackAlerts[0].TS)
		return whole(content(m))
	})
	d.waitFor("the Discord alert showing the whole group", 20*time.Second, func() bool {
		for _, m := range discord.Messages(discordChannel) {
			if m.ID == discordAlerts[0].ID {
				c := strings.ReplaceAll(discordContent(m), "**", "")
				return strings.Contains(c, "router") &&
					(strings.Contains(c, "unreachable:") && strings.Contains(c, "30 targets") || strings.Contains(c, "31 targets down"))
			}
		}
		return false
	})

	// No platform's rate exceeded: Slack about one call a second to the
	// channel, Discord five in five seconds.
	checkGaps(t, "Slack", slackTimes(slack), 900*time.Millisecond)
	checkWindow(t, "Discord", discordTimes(discord), 5, 5*time.Second)

	// An ack on Slack (router's button) shows on Discord's alert.
	payload, _ := json.Marshal(ackClick(incidentOf(t, d, "router"), slack.ResponseURL(), slackAlerts[0].TS))
	if code, _ := signedPost(t, listen, "/slack/interactions", url.Values{"payload": {string(payload)}}.Encode()); code != http.StatusOK {
		t.Fatalf("ack click: %d", code)
	}
	d.waitFor("Discord's alert showing bob's ack", 20*time.Second, func() bool {
		for _, m := range discord.Messages(discordChannel) {
			if m.ID == discordAlerts[0].ID {
				return strings.Contains(discordContent(m), "bob")
			}
		}
		return false
	})

	// Everything recovers: one grouped recovery in each thread.
	flip.failing.Store(false)
	d.waitFor("31 UP lines", 30*time.Second, func() bool { return d.countLines("UP ") == children+1 })
	settled()
	if n := len(topLevel(slack.Messages(slackChannel))); n != 1 {
		t.Errorf("%d Slack alerts after the recovery, want 1", n)
	}
	var upReplies int
	for _, r := range replies(slack.Messages(slackChannel), slackAlerts[0].TS) {
		if strings.Contains(strings.ToLower(r.Text), "up again") {
			upReplies++
		}
	}
	if upReplies != 1 {
		t.Errorf("%d recovery replies in the Slack thread, want one for the group", upReplies)
	}
	m, _ := slack.MessageAt(slackChannel, slackAlerts[0].TS)
	if c := strings.ToLower(content(m)); !strings.Contains(c, "resolved") && !strings.Contains(c, "up again") {
		t.Errorf("the Slack alert does not show the recovery: %.600s", c)
	}
	checkGaps(t, "Slack", slackTimes(slack), 900*time.Millisecond)
	checkWindow(t, "Discord", discordTimes(discord), 5, 5*time.Second)
}

// outboxEmpty reports whether /metrics shows no delivery waiting.
func outboxEmpty(d *daemon) bool {
	resp, err := http.Get("http://" + d.listen + "/metrics")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	for _, line := range strings.Split(b.String(), "\n") {
		if strings.HasPrefix(line, "tocsin_outbox_depth{") && !strings.HasSuffix(line, " 0") {
			return false
		}
	}
	return strings.Contains(b.String(), "tocsin_outbox_depth{")
}

func slackTimes(f *fakeslack.Server) []time.Time {
	var out []time.Time
	for _, c := range f.Calls() {
		if strings.HasPrefix(c.Method, "chat.") {
			out = append(out, c.Time)
		}
	}
	return out
}

func discordTimes(f *fakediscord.Server) []time.Time {
	var out []time.Time
	for _, c := range f.Calls() {
		if strings.Contains(c.Route, "/channels/{id}/messages") && c.Method != http.MethodGet {
			out = append(out, c.Time)
		}
	}
	return out
}

// checkGaps fails t when two of times are closer than gap.
func checkGaps(t *testing.T, what string, times []time.Time, gap time.Duration) {
	t.Helper()
	sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
	for i := 1; i < len(times); i++ {
		if d := times[i].Sub(times[i-1]); d < gap {
			t.Errorf("%s: calls %d and %d only %v apart (%d calls in all)", what, i-1, i, d, len(times))
			return
		}
	}
}

// checkWindow fails t when more than n of times fall within one window.
func checkWindow(t *testing.T, what string, times []time.Time, n int, window time.Duration) {
	t.Helper()
	sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
	for i := n; i < len(times); i++ {
		if d := times[i].Sub(times[i-n]); d < window {
			t.Errorf("%s: %d calls within %v (calls %d to %d; %d in all)", what, n+1, d, i-n, i, len(times))
			return
		}
	}
}
