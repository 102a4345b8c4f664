package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tocsin/tocsin/internal/fakeslack"
)

// TestOncallRemindEscalateMute runs the on-call rules end to end on Slack:
// an unacknowledged outage gets reminders in the alert's thread mentioning
// the person on call and one escalation mentioning escalate_to; an ack
// stops them; a target muted before it fails is announced only when the
// mute ends, and the console marks its DOWN (muted).
func TestOncallRemindEscalateMute(t *testing.T) {
	fake := fakeslack.New()
	t.Cleanup(fake.Close)
	flip, quiet := &flipper{}, &flipper{}
	flipSrv, quietSrv := httptest.NewServer(flip), httptest.NewServer(quiet)
	t.Cleanup(flipSrv.Close)
	t.Cleanup(quietSrv.Close)
	dir, listen := t.TempDir(), freeAddr(t)
	cfg := writeConfig(t, dir, fmt.Sprintf(`listen: %s
state: %s
defaults:
  every: 1s
  timeout: 2s
  fail_after: 2
  remind_every: 2s
  escalate_after: 3s
targets:
  - name: flip
    http: %s/health
  - name: quiet
    http: %s/health
oncall:
  time_zone: Europe/Berlin
  handoff: "Mon 09:00"
  rotation:
    - {name: alice, slack: U0ALICE}
  escalate_to: {slack: S0ONCALL}
slack:
  bot_token: ${SLACK_BOT_TOKEN}
  signing_secret: ${SLACK_SIGNING_SECRET}
  channel: %s
  api_url: %s
`, listen, filepath.Join(dir, "tocsin.db"), flipSrv.URL, quietSrv.URL, slackChannel, fake.APIURL()))
	d := startDaemonEnv(t, cfg, listen, slackEnv)
	t.Cleanup(func() { noSecretsIn(t, d) })
	d.waitFor("both up", 15*time.Second, func() bool {
		return d.status("flip").Status == "up" && d.status("quiet").Status == "up"
	})

	// /tocsin oncall names alice.
	if _, body := signedPost(t, listen, "/slack/commands", slashCommand("/tocsin", "oncall", fake.ResponseURL())); !strings.Contains(body, "alice") {
		t.Errorf("/tocsin oncall: %s", body)
	}
	// Mute quiet for 6 s, then let it fail.
	if _, body := signedPost(t, listen, "/slack/commands", slashCommand("/tocsin", "mute quiet 6s", fake.ResponseURL())); !strings.Contains(body, "muted") {
		t.Fatalf("/tocsin mute: %s", body)
	}
	muted := time.Now()
	quiet.failing.Store(true)
	flip.failing.Store(true)

	alert := func(name string) (fakeslack.Message, bool) {
		for _, m := range topLevel(fake.Messages(slackChannel)) {
			if strings.Contains(content(m), name) {
				return m, true
			}
		}
		return fakeslack.Message{}, false
	}
	d.waitFor("flip's alert", 15*time.Second, func() bool { _, ok := alert("DOWN flip"); return ok })
	m, _ := alert("DOWN flip")
	d.waitFor("a reminder and an escalation in flip's thread", 15*time.Second, func() bool {
		var remind, esc bool
		for _, r := range replies(fake.Messages(slackChannel), m.TS) {
			remind = remind || strings.Contains(r.Text, "<@U0ALICE> Reminder: flip")
			esc = esc || strings.Contains(r.Text, "<!subteam^S0ONCALL> Escalation: flip")
		}
		return remind && esc
	})
	if d.countLines("REMIND flip") < 1 || d.countLines("ESCALATE flip") != 1 {
		t.Errorf("console lines: want REMIND and one ESCALATE:\n%s", strings.Join(d.stdout(), "\n"))
	}
	if n := len(topLevel(fake.Messages(slackChannel))); n > 2 {
		t.Errorf("%d top-level messages: reminders must stay in the thread", n)
	}

	// The quiet target's DOWN is on the console, marked, and not in Slack
	// until the mute ends.
	d.waitFor("quiet's DOWN on the console", 15*time.Second, func() bool { return d.countLines("DOWN quiet") == 1 })
	if !strings.Contains(strings.Join(d.stdout(), "\n"), "(muted)") {
		t.Errorf("the muted DOWN is not marked (muted):\n%s", strings.Join(d.stdout(), "\n"))
	}
	if _, ok := alert("quiet"); ok && time.Since(muted) < 5*time.Second {
		t.Errorf("quiet was announced in Slack while muted")
	}
	d.waitFor("quiet announced after its mute", 20*time.Second, func() bool { _, ok := alert("DOWN quiet"); return ok })
	if since := time.Since(muted); since < 6*time.Second {
		t.Errorf("quiet announced %v after the mute began, before its 6 s end", since)
	}

	// Ack flip: its reminders stop.
	payload, _ := json.Marshal(ackClick(incidentOf(t, d, "flip"), fake.ResponseURL(), m.TS))
	if code, _ := signedPost(t, listen, "/slack/interactions", url.Values{"payload": {string(payload)}}.Encode()); code != http.StatusOK {
		t.Fatalf("ack click: %d", code)
	}
	d.waitFor("flip acknowledged", 10*time.Second, func() bool {
		st := d.status("flip")
		return st.AckedBy != nil
	})
	time.Sleep(time.Second) // a reminder already on its way may still land
	before := d.countLines("REMIND flip")
	time.Sleep(4 * time.Second)
	if after := d.countLines("REMIND flip"); after != before {
		t.Errorf("%d reminders after the ack", after-before)
	}
}
