package e2e

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tocsin/tocsin/internal/fakediscord"
	"github.com/tocsin/tocsin/internal/fakeslack"
)

// The Discord side of these tests: the ids of the config and the token,
// which must never appear in tocsin's output.
const (
	discordToken   = "MTE0.e2e-discord-bot-token.value"
	discordApp     = "1000000000000000001"
	discordGuild   = "2000000000000000002"
	discordChannel = "3000000000000000003"
)

// discordSetup is a fake Discord (and optionally a fake Slack), a flipping
// HTTP target and a config joining them to tocsin.
type discordSetup struct {
	fake   *fakediscord.Server
	slack  *fakeslack.Server // nil unless both platforms
	flip   *flipper
	dir    string
	listen string
	cfg    string
	priv   ed25519.PrivateKey // set in HTTP interactions mode
}

// newDiscordSetup configures Discord in HTTP interactions mode when httpMode,
// else the gateway; withSlack adds Slack in HTTP mode beside it.
func newDiscordSetup(t *testing.T, httpMode, withSlack bool) *discordSetup {
	t.Helper()
	s := &discordSetup{fake: fakediscord.New(), flip: &flipper{}, dir: t.TempDir(), listen: freeAddr(t)}
	t.Cleanup(s.fake.Close)
	s.fake.SetToken(discordToken)
	s.fake.SetApplicationID(discordApp)
	srv := httptest.NewServer(s.flip)
	t.Cleanup(srv.Close)
	extra := ""
	if httpMode {
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		s.priv = priv
		extra = "  public_key: " + hex.EncodeToString(pub) + "\n"
	}
	if withSlack {
		s.slack = fakeslack.New()
		t.Cleanup(s.slack.Close)
		extra += fmt.Sprintf(`slack:
  bot_token: ${SLACK_BOT_TOKEN}
  signing_secret: ${SLACK_SIGNING_SECRET}
  channel: %s
  api_url: %s
`, slackChannel, s.slack.APIURL())
	}
	s.cfg = writeConfig(t, s.dir, fmt.Sprintf(`listen: %s
state: %s
defaults:
  every: 1s
  timeout: 2s
  fail_after: 2
  recover_after: 1
targets:
  - name: flip
    http: %s/health
    expect_status: [200]
  - name: loop
    ping: 127.0.0.1
discord:
  bot_token: ${DISCORD_BOT_TOKEN}
  application_id: "%s"
  guild_id: "%s"
  channel_id: "%s"
  api_url: %s
%s`, s.listen, filepath.Join(s.dir, "tocsin.db"), srv.URL, discordApp, discordGuild, discordChannel,
		s.fake.URL(), extra))
	return s
}

func (s *discordSetup) start(t *testing.T) *daemon {
	t.Helper()
	d := startDaemonEnv(t, s.cfg, s.listen, append([]string{"DISCORD_BOT_TOKEN=" + discordToken}, slackEnv...))
	t.Cleanup(func() {
		out := d.errText() + strings.Join(d.stdout(), "\n")
		if strings.Contains(out, discordToken) || strings.Contains(out, "e2e-discord-bot-token") {
			t.Error("the Discord token appears in tocsin's output")
		}
		noSecretsIn(t, d)
	})
	return d
}

// alerts returns tocsin's top-level messages in the alerts channel.
func (s *discordSetup) alerts() []fakediscord.Message {
	var out []fakediscord.Message
	for _, m := range s.fake.Messages(discordChannel) {
		if m.ReferenceID == "" {
			out = append(out, m)
		}
	}
	return out
}

// repliesTo returns the messages that reply to id.
func (s *discordSetup) repliesTo(id string) []fakediscord.Message {
	var out []fakediscord.Message
	for _, m := range s.fake.Messages(discordChannel) {
		if m.ReferenceID == id {
			out = append(out, m)
		}
	}
	return out
}

func discordContent(m fakediscord.Message) string {
	return m.Content + " " + string(m.Embeds) + " " + string(m.Components)
}

// member is the guild member who clicks and types in these tests.
var member = map[string]any{
	"user":  map[string]any{"id": "4000000000000000004", "username": "bob", "global_name": "Bob"},
	"roles": []string{},
	"nick":  "bob",
}

// commandInteraction is an APPLICATION_COMMAND interaction for name with
// string options in order.
func commandInteraction(id, token, name string, opts ...[2]string) map[string]any {
	var options []any
	for _, o := range opts {
		options = append(options, map[string]any{"name": o[0], "type": 3, "value": o[1]})
	}
	return map[string]any{
		"id": id, "application_id": discordApp, "type": 2, "token": token, "version": 1,
		"guild_id": discordGuild, "channel_id": discordChannel, "member": member,
		"data": map[string]any{"id": "5000000000000000005", "name": name, "type": 1, "options": options},
	}
}

// buttonInteraction is a click on the Acknowledge button of message.
func buttonInteraction(id, token, customID, message string) map[string]any {
	return map[string]any{
		"id": id, "application_id": discordApp, "type": 3, "token": token, "version": 1,
		"guild_id": discordGuild, "channel_id": discordChannel, "member": member,
		"message": map[string]any{"id": message, "channel_id": discordChannel, "content": ""},
		"data":    map[string]any{"custom_id": customID, "component_type": 2},
	}
}

// signedInteraction posts payload to /discord/interactions signed with
// s.priv, or with key when given.
func (s *discordSetup) signedInteraction(t *testing.T, payload any, key ed25519.PrivateKey) (int, map[string]any) {
	t.Helper()
	if key == nil {
		key = s.priv
	}
	body, _ := json.Marshal(payload)
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	sig := ed25519.Sign(key, append([]byte(ts), body...))
	req, _ := http.NewRequest(http.MethodPost, "http://"+s.listen+"/discord/interactions", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Signature-Ed25519", hex.EncodeToString(sig))
	req.Header.Set("X-Signature-Timestamp", ts)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST /discord/interactions: %v", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

// waitDiscordAlert waits for the n-th alert in the channel and returns it.
func (s *discordSetup) waitAlert(d *daemon, n int, limit time.Duration) fakediscord.Message {
	d.t.Helper()
	d.waitFor(fmt.Sprintf("Discord alert #%d", n), limit, func() bool { return len(s.alerts()) >= n })
	return s.alerts()[n-1]
}

func (s *discordSetup) message(id string) fakediscord.Message {
	for _, m := range s.fake.Messages(discordChannel) {
		if m.ID == id {
			return m
		}
	}
	return fakediscord.Message{}
}

// TestDiscordHTTPInteractions walks an incident through Discord in HTTP
// interactions mode: commands registered; DOWN posts one alert with a
// button and a nonce; PING is answered with PONG and forged requests with
// 401; a click edits the alert naming the user; /ping 127.0.0.1 is deferred
// then answered; a hostile /ping is refused; the recovery replies to the
// alert and edits it.
func TestDiscordHTTPInteractions(t *testing.T) {
	s := newDiscordSetup(t, true, false)
	d := s.start(t)
	d.waitFor("commands registered", 15*time.Second, func() bool { return len(s.fake.Commands(discordApp, discordGuild)) == 8 })
	d.waitFor("flip up", 15*time.Second, func() bool { return d.status("flip").Status == "up" })

	// PING → PONG; a forged or stale request → 401.
	if code, body := s.signedInteraction(t, map[string]any{"id": "1", "application_id": discordApp, "type": 1, "token": "x", "version": 1}, nil); code != 200 || body["type"] != float64(1) {
		t.Errorf("PING: %d %v, want PONG", code, body)
	}
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	if code, _ := s.signedInteraction(t, commandInteraction("2", "x", "status"), other); code != http.StatusUnauthorized {
		t.Errorf("a request signed with another key: %d, want 401", code)
	}

	s.flip.failing.Store(true)
	alert := s.waitAlert(d, 1, 20*time.Second)
	inc := incidentOf(t, d, "flip")
	for _, want := range []string{"flip", "HTTP 503", "tocsin_ack:" + inc} {
		if !strings.Contains(discordContent(alert), want) {
			t.Errorf("the alert lacks %q: %s", want, discordContent(alert))
		}
	}
	if alert.Nonce == "" {
		t.Error("the alert was sent without a nonce")
	}

	// The Acknowledge button.
	id, token, err := s.fake.NewComponentInteraction(discordChannel, alert.ID)
	if err != nil {
		t.Fatal(err)
	}
	if code, body := s.signedInteraction(t, buttonInteraction(id, token, "tocsin_ack:"+inc, alert.ID), nil); code != 200 || body["type"] == nil {
		t.Fatalf("button click: %d %v", code, body)
	}
	d.waitFor("the alert edited to name bob", 15*time.Second, func() bool {
		m := s.message(alert.ID)
		return m.Edits >= 1 && strings.Contains(discordContent(m), "bob")
	})
	if strings.Contains(string(s.message(alert.ID).Components), `"tocsin_ack:`+inc+`"`) &&
		!strings.Contains(string(s.message(alert.ID).Components), `"disabled":true`) {
		t.Errorf("the acknowledged alert still offers its button: %s", s.message(alert.ID).Components)
	}
	d.waitFor("an ack reply to the alert", 10*time.Second, func() bool {
		for _, r := range s.repliesTo(alert.ID) {
			if strings.Contains(discordContent(r), "bob") {
				return true
			}
		}
		return false
	})

	// /ping 127.0.0.1: deferred, then the original response edited.
	id, token = s.fake.NewInteraction(2)
	code, body := s.signedInteraction(t, commandInteraction(id, token, "ping", [2]string{"host", "127.0.0.1"}), nil)
	if code != 200 || body["type"] != float64(5) {
		t.Fatalf("/ping: %d %v, want a deferred response (type 5)", code, body)
	}
	orig, err := s.fake.WaitOriginal(waitCtx(t, 15*time.Second), token)
	if err != nil {
		t.Fatalf("the ping result never replaced the deferred answer: %v", err)
	}
	if !strings.Contains(string(orig), "3 packets transmitted, 3 received") {
		t.Errorf("ping result: %s", orig)
	}

	// A hostile /ping: refused at once, to the user alone, with a reason.
	for _, arg := range []string{"127.0.0.2", "127.0.0.1 && reboot", "@everyone", "http://127.0.0.1/"} {
		id, token := s.fake.NewInteraction(2)
		code, body := s.signedInteraction(t, commandInteraction(id, token, "ping", [2]string{"host", arg}), nil)
		data, _ := body["data"].(map[string]any)
		if code != 200 || body["type"] != float64(4) || data["flags"] != float64(64) ||
			!strings.Contains(fmt.Sprint(data["content"]), "not") {
			t.Errorf("/ping %q: %d %v, want an ephemeral refusal", arg, code, body)
		}
	}

	// Recovery: a reply to the alert and the alert edited to resolved.
	s.flip.failing.Store(false)
	d.waitFor("the alert edited to resolved", 15*time.Second, func() bool {
		return strings.Contains(strings.ToLower(discordContent(s.message(alert.ID))), "resolved")
	})
	d.waitFor("a recovery reply", 10*time.Second, func() bool {
		for _, r := range s.repliesTo(alert.ID) {
			if strings.Contains(strings.ToLower(discordContent(r)), "up again") {
				return true
			}
		}
		return false
	})
	if n := len(s.alerts()); n != 1 {
		t.Errorf("%d alerts for one incident, want 1", n)
	}
}

// TestDiscordGateway: in gateway mode the commands are registered;
// commands, a button and a deferred /ping arrive over the gateway; a
// dropped connection comes back; the recovery replies and edits.
func TestDiscordGateway(t *testing.T) {
	s := newDiscordSetup(t, false, false)
	d := s.start(t)
	if err := s.fake.WaitReady(waitCtx(t, 15*time.Second)); err != nil {
		t.Fatalf("tocsin did not identify on the gateway: %v", err)
	}
	d.waitFor("commands registered", 15*time.Second, func() bool { return len(s.fake.Commands(discordApp, discordGuild)) == 8 })
	d.waitFor("flip up", 15*time.Second, func() bool { return d.status("flip").Status == "up" })
	s.flip.failing.Store(true)
	alert := s.waitAlert(d, 1, 20*time.Second)

	id, token := s.fake.NewInteraction(2)
	if err := s.fake.Dispatch("INTERACTION_CREATE", commandInteraction(id, token, "status", [2]string{"target", "flip"})); err != nil {
		t.Fatal(err)
	}
	resp, err := s.fake.WaitInteractionResponse(waitCtx(t, 10*time.Second), id)
	if err != nil {
		t.Fatalf("no answer to /status: %v", err)
	}
	if resp.Type != 4 || !strings.Contains(string(resp.Data), "HTTP 503") {
		t.Errorf("/status flip answered %d %s", resp.Type, resp.Data)
	}

	// Drop the connection; the button still works afterwards.
	conns := s.fake.Connections()
	s.fake.DropConnections()
	d.waitFor("a new gateway connection", 30*time.Second, func() bool { return s.fake.Connections() > conns })
	if err := s.fake.WaitReady(waitCtx(t, 15*time.Second)); err != nil {
		t.Fatal(err)
	}
	id, token, err = s.fake.NewComponentInteraction(discordChannel, alert.ID)
	if err != nil {
		t.Fatal(err)
	}
	inc := incidentOf(t, d, "flip")
	d.waitFor("the click delivered over the gateway", 15*time.Second, func() bool {
		return s.fake.Dispatch("INTERACTION_CREATE", buttonInteraction(id, token, "tocsin_ack:"+inc, alert.ID)) == nil
	})
	d.waitFor("the alert edited to name bob", 15*time.Second, func() bool {
		return strings.Contains(discordContent(s.message(alert.ID)), "bob")
	})
	if st := d.status("flip"); st.AckedBy == nil || *st.AckedBy != "bob" {
		t.Errorf("acked_by = %v, want bob", st.AckedBy)
	}

	// /ping over the gateway: deferred (type 5), then the original edited.
	id, token = s.fake.NewInteraction(2)
	if err := s.fake.Dispatch("INTERACTION_CREATE", commandInteraction(id, token, "ping", [2]string{"host", "loop"})); err != nil {
		t.Fatal(err)
	}
	if resp, err := s.fake.WaitInteractionResponse(waitCtx(t, 10*time.Second), id); err != nil || resp.Type != 5 {
		t.Fatalf("/ping loop answered %+v, %v; want a deferred response (type 5)", resp, err)
	}
	orig, err := s.fake.WaitOriginal(waitCtx(t, 15*time.Second), token)
	if err != nil || !strings.Contains(string(orig), "3 packets transmitted, 3 received") {
		t.Errorf("ping result %s, %v", orig, err)
	}
	// A hostile /ping: an ephemeral refusal, nothing deferred.
	id, token = s.fake.NewInteraction(2)
	if err := s.fake.Dispatch("INTERACTION_CREATE", commandInteraction(id, token, "ping", [2]string{"host", "$(reboot)"})); err != nil {
		t.Fatal(err)
	}
	if resp, err := s.fake.WaitInteractionResponse(waitCtx(t, 10*time.Second), id); err != nil || resp.Type != 4 ||
		!strings.Contains(string(resp.Data), `"flags":64`) {
		t.Errorf("hostile /ping answered %+v, %v; want an ephemeral refusal", resp, err)
	}

	// Recovery: a reply to the alert and the alert edited to resolved.
	s.flip.failing.Store(false)
	d.waitFor("the alert edited to resolved", 15*time.Second, func() bool {
		return strings.Contains(strings.ToLower(discordContent(s.message(alert.ID))), "resolved")
	})
	d.waitFor("a recovery reply", 10*time.Second, func() bool {
		for _, r := range s.repliesTo(alert.ID) {
			if strings.Contains(strings.ToLower(discordContent(r)), "up again") {
				return true
			}
		}
		return false
	})
}

// TestDiscordDelivery: a 429 then success gives exactly one alert; a
// kill -9 after Discord took the alert but before tocsin recorded it, then
// a prompt restart, still gives exactly one (the nonce); a bad token marks
// the notifier unhealthy without a retry loop.
func TestDiscordDelivery(t *testing.T) {
	s := newDiscordSetup(t, true, false)
	const route = "POST /channels/{id}/messages"
	s.fake.Script(route, fakediscord.Answer{Status: http.StatusTooManyRequests, RetryAfter: 1.5})
	d := s.start(t)
	d.waitFor("flip up", 15*time.Second, func() bool { return d.status("flip").Status == "up" })
	s.flip.failing.Store(true)
	s.waitAlert(d, 1, 20*time.Second)
	posts := 0
	for _, c := range s.fake.Calls() {
		if c.Route == route {
			posts++
		}
	}
	if posts != 2 {
		t.Errorf("%d message creates for the first alert, want 2 (the 429, then the post)", posts)
	}
	s.flip.failing.Store(false)
	d.waitFor("the first recovery", 15*time.Second, func() bool {
		return strings.Contains(strings.ToLower(discordContent(s.alerts()[0])), "resolved")
	})

	// Discord takes the second alert but its answer is lost: tocsin is
	// killed while the answer is delayed, and restarted at once.
	s.fake.Script(route, fakediscord.Answer{Delay: 10 * time.Second})
	s.flip.failing.Store(true)
	d.waitFor("Discord stored the second alert", 20*time.Second, func() bool { return len(s.alerts()) == 2 })
	if err := d.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-d.done
	d2 := s.start(t)
	d2.waitFor("the alert resent", 20*time.Second, func() bool {
		n := 0
		for _, c := range s.fake.Calls() {
			if c.Route == route && c.Status == http.StatusOK {
				n++
			}
		}
		return n >= 4 // first alert, its recovery reply, the lost answer, the resend
	})
	time.Sleep(2 * time.Second)
	if n := len(s.alerts()); n != 2 {
		t.Errorf("%d alerts after the resend, want 2: the nonce must make Discord return the first", n)
	}

	// A token Discord refuses: unhealthy, held, no busy retry.
	s.fake.SetToken("another-token")
	s.flip.failing.Store(false)
	d2.waitFor("the discord notifier unhealthy", 20*time.Second, func() bool {
		resp, err := http.Get("http://" + s.listen + "/api/status")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var body struct {
			Notifiers map[string]struct {
				Healthy bool `json:"healthy"`
			} `json:"notifiers"`
		}
		return json.NewDecoder(resp.Body).Decode(&body) == nil && !body.Notifiers["discord"].Healthy &&
			len(body.Notifiers) > 0
	})
	calls := len(s.fake.Calls())
	time.Sleep(5 * time.Second)
	if more := len(s.fake.Calls()) - calls; more > 1 {
		t.Errorf("%d more Discord calls after a permanent error: a retry loop", more)
	}
}

// TestBothPlatforms: with Slack and Discord configured, one outage posts
// one alert on each, and an ack on Slack shows on Discord too.
func TestBothPlatforms(t *testing.T) {
	s := newDiscordSetup(t, true, true)
	d := s.start(t)
	d.waitFor("flip up", 15*time.Second, func() bool { return d.status("flip").Status == "up" })
	s.flip.failing.Store(true)
	alert := s.waitAlert(d, 1, 20*time.Second)
	waitAlerts(d, s.slack, 1, 20*time.Second)
	slackAlert := topLevel(s.slack.Messages(slackChannel))[0]

	payload, _ := json.Marshal(ackClick(incidentOf(t, d, "flip"), s.slack.ResponseURL(), slackAlert.TS))
	if code, _ := signedPost(t, s.listen, "/slack/interactions", url.Values{"payload": {string(payload)}}.Encode()); code != 200 {
		t.Fatalf("Slack button click: %d", code)
	}
	d.waitFor("the Discord alert edited to name bob", 15*time.Second, func() bool {
		return strings.Contains(discordContent(s.message(alert.ID)), "bob")
	})
	d.waitFor("the Slack alert edited to name bob", 15*time.Second, func() bool {
		m, _ := s.slack.MessageAt(slackChannel, slackAlert.TS)
		return strings.Contains(content(m), "bob")
	})
	if n := len(s.alerts()); n != 1 {
		t.Errorf("%d Discord alerts, want 1", n)
	}
	if n := len(topLevel(s.slack.Messages(slackChannel))); n != 1 {
		t.Errorf("%d Slack alerts, want 1", n)
	}
}
