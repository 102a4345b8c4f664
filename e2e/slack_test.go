package e2e

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
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

	"github.com/tocsin/tocsin/internal/fakeslack"
)

// The Slack secrets of these tests. Each is checked against every log line
// tocsin writes: none may appear.
const (
	slackBotToken      = "xoxb-1111-2222-e2etokenvalue"
	slackSigningSecret = "e2e0signing0secret0value0123456"
	slackAppToken      = "xapp-1-A0E2E-3333-e2eapptokenvalue"
	slackChannel       = "C0ALERTS"
)

// slackEnv is the environment that holds the secrets the config names.
var slackEnv = []string{
	"SLACK_BOT_TOKEN=" + slackBotToken,
	"SLACK_SIGNING_SECRET=" + slackSigningSecret,
	"SLACK_APP_TOKEN=" + slackAppToken,
}

// slackSetup is a fake Slack, a flipping HTTP target and a config that
// joins them to tocsin in HTTP mode (or Socket Mode with socket).
type slackSetup struct {
	fake   *fakeslack.Server
	flip   *flipper
	dir    string
	listen string
	cfg    string
}

func newSlackSetup(t *testing.T, socket bool) *slackSetup {
	t.Helper()
	s := &slackSetup{fake: fakeslack.New(), flip: &flipper{}, dir: t.TempDir(), listen: freeAddr(t)}
	t.Cleanup(s.fake.Close)
	srv := httptest.NewServer(s.flip)
	t.Cleanup(srv.Close)
	mode := "  signing_secret: ${SLACK_SIGNING_SECRET}\n"
	if socket {
		mode = "  app_token: ${SLACK_APP_TOKEN}\n"
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
slack:
  bot_token: ${SLACK_BOT_TOKEN}
%s  channel: %s
  api_url: %s
`, s.listen, filepath.Join(s.dir, "tocsin.db"), srv.URL, mode, slackChannel, s.fake.APIURL()))
	return s
}

func (s *slackSetup) start(t *testing.T) *daemon {
	t.Helper()
	d := startDaemonEnv(t, s.cfg, s.listen, slackEnv)
	t.Cleanup(func() { noSecretsIn(t, d) })
	return d
}

// noSecretsIn fails t when any secret appears in tocsin's output.
func noSecretsIn(t *testing.T, d *daemon) {
	t.Helper()
	out := d.errText() + strings.Join(d.stdout(), "\n")
	for _, sec := range []string{slackBotToken, slackSigningSecret, slackAppToken, "e2etokenvalue", "e2eapptokenvalue"} {
		if strings.Contains(out, sec) {
			t.Errorf("a secret (%d chars) appears in tocsin's output", len(sec))
		}
	}
}

// topLevel returns the channel's messages that are not thread replies.
func topLevel(ms []fakeslack.Message) []fakeslack.Message {
	var out []fakeslack.Message
	for _, m := range ms {
		if m.ThreadTS == "" {
			out = append(out, m)
		}
	}
	return out
}

// replies returns the replies in the thread of ts.
func replies(ms []fakeslack.Message, ts string) []fakeslack.Message {
	var out []fakeslack.Message
	for _, m := range ms {
		if m.ThreadTS == ts {
			out = append(out, m)
		}
	}
	return out
}

// content is everything a message shows, for substring checks.
func content(m fakeslack.Message) string {
	return m.Text + " " + string(m.Blocks) + " " + string(m.Attachments)
}

// countCalls counts the fake's calls of method, answered ok or not.
func countCalls(f *fakeslack.Server, method string, okOnly bool) int {
	n := 0
	for _, c := range f.Calls() {
		if c.Method == method && (!okOnly || c.OK) {
			n++
		}
	}
	return n
}

// countAlertPosts counts the chat.postMessage calls that were new alerts
// (not thread replies), answered ok or not.
func countAlertPosts(f *fakeslack.Server) int {
	n := 0
	for _, c := range f.Calls() {
		if c.Method == "chat.postMessage" && c.Form.Get("thread_ts") == "" {
			n++
		}
	}
	return n
}

// waitAlerts waits until the channel has n top-level messages.
func waitAlerts(d *daemon, f *fakeslack.Server, n int, limit time.Duration) {
	d.t.Helper()
	d.waitFor(fmt.Sprintf("%d alerts in the channel", n), limit, func() bool {
		return len(topLevel(f.Messages(slackChannel))) >= n
	})
}

// signedPost sends body to tocsin's path signed as Slack signs requests.
func signedPost(t *testing.T, listen, path, body string) (int, string) {
	t.Helper()
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	mac := hmac.New(sha256.New, []byte(slackSigningSecret))
	fmt.Fprintf(mac, "v0:%s:%s", ts, body)
	req, err := http.NewRequest(http.MethodPost, "http://"+listen+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Slack-Request-Timestamp", ts)
	req.Header.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// slashCommand is the form Slack posts for a slash command.
func slashCommand(command, text, responseURL string) string {
	return url.Values{
		"token": {"verification-token-unused"}, "team_id": {"T0TEAM"}, "team_domain": {"e2e"},
		"channel_id": {slackChannel}, "channel_name": {"alerts"}, "user_id": {"U0ALICE"},
		"user_name": {"alice"}, "command": {command}, "text": {text},
		"response_url": {responseURL}, "trigger_id": {"1.2.3"},
	}.Encode()
}

// ackClick is the block_actions payload of a click on an alert's button.
func ackClick(incident, responseURL, ts string) map[string]any {
	return map[string]any{
		"type":         "block_actions",
		"team":         map[string]any{"id": "T0TEAM", "domain": "e2e"},
		"user":         map[string]any{"id": "U0BOB", "username": "bob", "name": "bob", "team_id": "T0TEAM"},
		"api_app_id":   "A0E2E",
		"trigger_id":   "4.5.6",
		"channel":      map[string]any{"id": slackChannel, "name": "alerts"},
		"container":    map[string]any{"type": "message", "message_ts": ts, "channel_id": slackChannel},
		"message":      map[string]any{"type": "message", "ts": ts, "text": "alert"},
		"response_url": responseURL,
		"actions": []any{map[string]any{
			"type": "button", "action_id": "tocsin_ack", "block_id": "tocsin_alert",
			"value": incident, "action_ts": "1733212800.000200",
			"text": map[string]any{"type": "plain_text", "text": "Acknowledge"},
		}},
	}
}

// incidentOf returns the id /api/status gives the target's open incident.
func incidentOf(t *testing.T, d *daemon, name string) string {
	t.Helper()
	resp, err := http.Get("http://" + d.listen + "/api/status/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		IncidentID *int64 `json:"incident_id"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.IncidentID == nil {
		t.Fatalf("no incident id for %s (%v)", name, err)
	}
	return strconv.FormatInt(*body.IncidentID, 10)
}

func waitCtx(t *testing.T, limit time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), limit)
	t.Cleanup(cancel)
	return ctx
}

// TestSlackHTTPMode walks one incident through Slack in HTTP mode: DOWN
// posts one alert with a button; a click edits it naming the user and
// says so in the thread; the recovery replies in the thread and edits the
// alert; /ping of a configured host answers through response_url; a
// hostile /ping is refused; forged requests get 401.
func TestSlackHTTPMode(t *testing.T) {
	s := newSlackSetup(t, false)
	d := s.start(t)
	d.waitFor("flip up", 15*time.Second, func() bool { return d.status("flip").Status == "up" })

	s.flip.failing.Store(true)
	if err := s.fake.WaitCalls(waitCtx(t, 20*time.Second), "chat.postMessage", 1); err != nil {
		t.Fatalf("no alert posted: %v", err)
	}
	msgs := topLevel(s.fake.Messages(slackChannel))
	if len(msgs) != 1 {
		t.Fatalf("%d top-level messages, want 1: %+v", len(msgs), msgs)
	}
	alert := msgs[0]
	inc := incidentOf(t, d, "flip")
	for _, want := range []string{"flip", "HTTP 503", "tocsin_ack", `"` + inc + `"`} {
		if !strings.Contains(content(alert), want) {
			t.Errorf("the alert lacks %q: %s", want, content(alert))
		}
	}

	// Forged and unsigned requests are refused before anything happens.
	for _, tc := range []struct{ name, sig string }{{"forged", "v0=" + strings.Repeat("0", 64)}, {"missing", ""}} {
		req, _ := http.NewRequest(http.MethodPost, "http://"+s.listen+"/slack/commands",
			strings.NewReader(slashCommand("/tocsin", "ack flip", s.fake.ResponseURL())))
		req.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(time.Now().Unix(), 10))
		if tc.sig != "" {
			req.Header.Set("X-Slack-Signature", tc.sig)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s signature: status %d, want 401", tc.name, resp.StatusCode)
		}
	}
	if st := d.status("flip"); st.AckedBy != nil {
		t.Fatalf("an unsigned ack was taken: acked by %s", *st.AckedBy)
	}

	// The Acknowledge button.
	payload, _ := json.Marshal(ackClick(inc, s.fake.ResponseURL(), alert.TS))
	code, _ := signedPost(t, s.listen, "/slack/interactions", url.Values{"payload": {string(payload)}}.Encode())
	if code != http.StatusOK {
		t.Fatalf("button click: status %d", code)
	}
	d.waitFor("the alert edited to name bob", 15*time.Second, func() bool {
		m, ok := s.fake.MessageAt(slackChannel, alert.TS)
		return ok && m.Updates >= 1 && strings.Contains(content(m), "bob")
	})
	if m, _ := s.fake.MessageAt(slackChannel, alert.TS); strings.Contains(string(m.Blocks), "tocsin_ack") {
		t.Errorf("the acknowledged alert still has its button: %s", m.Blocks)
	}
	d.waitFor("an ack line in the thread", 10*time.Second, func() bool {
		for _, r := range replies(s.fake.Messages(slackChannel), alert.TS) {
			if strings.Contains(content(r), "bob") {
				return true
			}
		}
		return false
	})
	if st := d.status("flip"); st.AckedBy == nil || *st.AckedBy != "bob" {
		t.Errorf("/api/status acked_by = %v, want bob", st.AckedBy)
	}
	if d.countLines("ACK flip by bob") != 1 {
		t.Errorf("want one console line ACK flip by bob:\n%s", strings.Join(d.stdout(), "\n"))
	}

	// /ping of a configured host: answered at once, then with the result.
	before := len(s.fake.ResponsePosts())
	code, body := signedPost(t, s.listen, "/slack/commands", slashCommand("/ping", "127.0.0.1", s.fake.ResponseURL()))
	if code != http.StatusOK || !strings.Contains(body, "127.0.0.1") {
		t.Fatalf("/ping 127.0.0.1: %d %s", code, body)
	}
	if err := s.fake.WaitResponsePosts(waitCtx(t, 15*time.Second), before+1); err != nil {
		t.Fatalf("no ping result on response_url: %v", err)
	}
	res := fmt.Sprint(s.fake.ResponsePosts()[before].Body)
	for _, want := range []string{"icmp_seq=", "3 packets transmitted, 3 received"} {
		if !strings.Contains(res, want) {
			t.Errorf("ping result lacks %q: %s", want, res)
		}
	}

	// Hostile /ping arguments are refused at once with a reason.
	for _, arg := range []string{"127.0.0.2", "127.0.0.1; reboot", "$(id)", "http://127.0.0.1/", "<@U0BOB>"} {
		code, body := signedPost(t, s.listen, "/slack/commands", slashCommand("/tocsin", "ping "+arg, s.fake.ResponseURL()))
		if code != http.StatusOK || !strings.Contains(body, "ephemeral") || !strings.Contains(strings.ToLower(body), "not") {
			t.Errorf("/tocsin ping %q: %d %s, want an ephemeral refusal", arg, code, body)
		}
	}
	// /tocsin status names the down target and who took it.
	_, body = signedPost(t, s.listen, "/slack/commands", slashCommand("/tocsin", "status", s.fake.ResponseURL()))
	if !strings.Contains(body, "flip") || !strings.Contains(body, "bob") {
		t.Errorf("/tocsin status: %s", body)
	}

	// Recovery: a thread reply and the alert edited to resolved.
	s.flip.failing.Store(false)
	d.waitFor("the alert edited to resolved", 15*time.Second, func() bool {
		m, _ := s.fake.MessageAt(slackChannel, alert.TS)
		return strings.Contains(strings.ToLower(content(m)), "resolved")
	})
	d.waitFor("a recovery reply in the thread", 10*time.Second, func() bool {
		for _, r := range replies(s.fake.Messages(slackChannel), alert.TS) {
			if strings.Contains(strings.ToLower(content(r)), "up again") {
				return true
			}
		}
		return false
	})
	if n := len(topLevel(s.fake.Messages(slackChannel))); n != 1 {
		t.Errorf("%d top-level messages after the incident, want 1", n)
	}
}

// TestSlackDeliveryFailures: a 429 then success posts exactly one alert;
// a Slack that answers 500 for 20 s gets the alert afterwards, once; a
// kill -9 while an alert waits in the outbox delivers it after the
// restart, once.
func TestSlackDeliveryFailures(t *testing.T) {
	s := newSlackSetup(t, false)
	d := s.start(t)
	d.waitFor("flip up", 15*time.Second, func() bool { return d.status("flip").Status == "up" })

	// 429 with Retry-After, then success.
	s.fake.Script("chat.postMessage", fakeslack.Answer{Status: http.StatusTooManyRequests, RetryAfter: 1})
	s.flip.failing.Store(true)
	waitAlerts(d, s.fake, 1, 20*time.Second)
	if got := countAlertPosts(s.fake); got != 2 {
		t.Errorf("chat.postMessage called %d times for the alert, want 2 (the 429, then the post)", got)
	}
	s.flip.failing.Store(false)
	d.waitFor("the first recovery in Slack", 15*time.Second, func() bool {
		return countCalls(s.fake, "chat.update", true) >= 1
	})

	// Slack answers 500 for 20 s: the alert comes afterwards, once.
	s.fake.SetDown(true)
	posts := countAlertPosts(s.fake)
	s.flip.failing.Store(true)
	d.waitFor("a second DOWN on the console", 15*time.Second, func() bool { return d.countLines("DOWN flip") == 2 })
	time.Sleep(20 * time.Second)
	if n := countAlertPosts(s.fake) - posts; n < 3 || n > 12 {
		t.Errorf("%d tries of the alert in 20 s of 500s: want a few retries with backoff, no busy loop", n)
	}
	s.fake.SetDown(false)
	waitAlerts(d, s.fake, 2, 40*time.Second)
	s.flip.failing.Store(false)
	d.waitFor("the second recovery in Slack", 20*time.Second, func() bool {
		m := topLevel(s.fake.Messages(slackChannel))[1]
		return strings.Contains(strings.ToLower(content(m)), "resolved")
	})

	// kill -9 while the alert waits in the outbox. The console's own
	// delivery of the DOWN is given a moment to be recorded: a kill between
	// printing and recording may print it again after the restart, which
	// is the console's at-least-once window, not what this test is about.
	s.fake.SetDown(true)
	s.flip.failing.Store(true)
	d.waitFor("a third DOWN on the console", 15*time.Second, func() bool { return d.countLines("DOWN flip") == 3 })
	time.Sleep(time.Second)
	if err := d.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-d.done
	if n := len(topLevel(s.fake.Messages(slackChannel))); n != 2 {
		t.Fatalf("%d alerts before the restart, want 2", n)
	}
	s.fake.SetDown(false)
	d2 := s.start(t)
	waitAlerts(d2, s.fake, 3, 20*time.Second)
	time.Sleep(3 * time.Second) // room for a duplicate to show
	if n := len(topLevel(s.fake.Messages(slackChannel))); n != 3 {
		t.Errorf("%d alerts posted in all, want 3 (one per outage)", n)
	}
	if n := d2.countLines("DOWN flip"); n != 0 {
		t.Errorf("the restart re-announced the outage on the console %d times", n)
	}
}

// TestSlackBadToken: Slack refuses the token; the notifier shows unhealthy
// in /api/status, nothing retries in a loop, and the token is in no log.
func TestSlackBadToken(t *testing.T) {
	s := newSlackSetup(t, false)
	answers := make([]fakeslack.Answer, 50)
	for i := range answers {
		answers[i] = fakeslack.Answer{Error: "invalid_auth"}
	}
	s.fake.Script("chat.postMessage", answers...)
	d := s.start(t)
	s.flip.failing.Store(true)
	d.waitFor("the notifier unhealthy", 20*time.Second, func() bool {
		resp, err := http.Get("http://" + s.listen + "/api/status")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var body struct {
			Notifiers map[string]struct {
				Healthy bool   `json:"healthy"`
				Error   string `json:"error"`
			} `json:"notifiers"`
		}
		if json.NewDecoder(resp.Body).Decode(&body) != nil {
			return false
		}
		n, ok := body.Notifiers["slack"]
		return ok && !n.Healthy && strings.Contains(n.Error, "invalid_auth")
	})
	calls := countCalls(s.fake, "chat.postMessage", false)
	time.Sleep(5 * time.Second)
	if more := countCalls(s.fake, "chat.postMessage", false) - calls; more != 0 {
		t.Errorf("%d more postMessage calls after a permanent error: a retry loop", more)
	}
	if d.countLines("DOWN flip") != 1 {
		t.Errorf("the console should still print the DOWN:\n%s", strings.Join(d.stdout(), "\n"))
	}
	resp, err := http.Get("http://" + s.listen + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	m, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(m), `tocsin_notifier_healthy{notifier="slack"} 0`) {
		t.Errorf("/metrics does not show slack unhealthy")
	}
}

// TestSlackSocketMode: the same commands and button over Socket Mode.
func TestSlackSocketMode(t *testing.T) {
	s := newSlackSetup(t, true)
	d := s.start(t)
	if err := s.fake.WaitConnected(waitCtx(t, 15*time.Second)); err != nil {
		t.Fatalf("tocsin did not open a Socket Mode connection: %v", err)
	}
	d.waitFor("flip up", 15*time.Second, func() bool { return d.status("flip").Status == "up" })
	s.flip.failing.Store(true)
	if err := s.fake.WaitCalls(waitCtx(t, 20*time.Second), "chat.postMessage", 1); err != nil {
		t.Fatalf("no alert posted: %v", err)
	}
	alert := topLevel(s.fake.Messages(slackChannel))[0]

	form, _ := url.ParseQuery(slashCommand("/tocsin", "status flip", s.fake.ResponseURL()))
	env, err := s.fake.SendSlashCommand(form)
	if err != nil {
		t.Fatal(err)
	}
	ack, err := s.fake.WaitAck(waitCtx(t, 10*time.Second), env)
	if err != nil {
		t.Fatalf("no ack of the status command: %v", err)
	}
	if !strings.Contains(string(ack), "flip") || !strings.Contains(string(ack), "HTTP 503") {
		t.Errorf("status answer over Socket Mode: %s", ack)
	}

	// A dropped connection comes back, and the button still works.
	conns := s.fake.Connections()
	s.fake.DropConnections()
	d.waitFor("a new Socket Mode connection", 30*time.Second, func() bool { return s.fake.Connections() > conns })
	if err := s.fake.WaitConnected(waitCtx(t, 15*time.Second)); err != nil {
		t.Fatal(err)
	}
	env, err = s.fake.SendInteraction(ackClick(incidentOf(t, d, "flip"), s.fake.ResponseURL(), alert.TS))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.fake.WaitAck(waitCtx(t, 10*time.Second), env); err != nil {
		t.Fatalf("no ack of the button click: %v", err)
	}
	d.waitFor("the alert edited to name bob", 15*time.Second, func() bool {
		m, _ := s.fake.MessageAt(slackChannel, alert.TS)
		return strings.Contains(content(m), "bob")
	})

	// /ping over Socket Mode: acknowledged, then answered on response_url.
	before := len(s.fake.ResponsePosts())
	form, _ = url.ParseQuery(slashCommand("/ping", "127.0.0.1", s.fake.ResponseURL()))
	if env, err = s.fake.SendSlashCommand(form); err != nil {
		t.Fatal(err)
	}
	if _, err := s.fake.WaitAck(waitCtx(t, 10*time.Second), env); err != nil {
		t.Fatal(err)
	}
	if err := s.fake.WaitResponsePosts(waitCtx(t, 15*time.Second), before+1); err != nil {
		t.Fatalf("no ping result: %v", err)
	}
}
