package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tocsin/tocsin/internal/fakeslack"
)

// TestFlappingNotice: a target that changes state at every check gets one
// FLAPPING notice in Slack, edited with the count of changes, instead of
// a stream of alerts; once it settles, the notice's thread says so.
func TestFlappingNotice(t *testing.T) {
	fake := fakeslack.New()
	t.Cleanup(fake.Close)
	var alternate atomic.Bool
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if alternate.Load() && n.Add(1)%2 == 0 {
			http.Error(w, "flip", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	}))
	t.Cleanup(srv.Close)
	dir, listen := t.TempDir(), freeAddr(t)
	cfg := writeConfig(t, dir, fmt.Sprintf(`listen: %s
state: %s
defaults:
  every: 1s
  timeout: 2s
  fail_after: 1
  recover_after: 1
  remind_every: 0
  escalate_after: 0
targets:
  - name: wobbly
    http: %s/
slack:
  bot_token: ${SLACK_BOT_TOKEN}
  signing_secret: ${SLACK_SIGNING_SECRET}
  channel: %s
  api_url: %s
`, listen, filepath.Join(dir, "tocsin.db"), srv.URL, slackChannel, fake.APIURL()))
	d := startDaemonEnv(t, cfg, listen, slackEnv)
	t.Cleanup(func() { noSecretsIn(t, d) })
	d.waitFor("wobbly up", 15*time.Second, func() bool { return d.status("wobbly").Status == "up" })

	alternate.Store(true)
	notice := func() (fakeslack.Message, bool) {
		for _, m := range topLevel(fake.Messages(slackChannel)) {
			if strings.Contains(m.Text, "is flapping") {
				return m, true
			}
		}
		return fakeslack.Message{}, false
	}
	d.waitFor("the flapping notice", 40*time.Second, func() bool { _, ok := notice(); return ok })
	alerts := len(topLevel(fake.Messages(slackChannel)))
	d.waitFor("the notice edited with a count", 20*time.Second, func() bool {
		m, _ := notice()
		return m.Updates >= 2 && strings.Contains(m.Text, "state changes since")
	})
	if now := len(topLevel(fake.Messages(slackChannel))); now != alerts {
		t.Errorf("%d new top-level messages while flapping, want none", now-alerts)
	}
	if !strings.Contains(strings.Join(d.stdout(), "\n"), "(flapping)") {
		t.Errorf("no console line marked (flapping)")
	}

	alternate.Store(false)
	d.waitFor("the end of the episode in the notice's thread", 60*time.Second, func() bool {
		m, _ := notice()
		for _, r := range replies(fake.Messages(slackChannel), m.TS) {
			if strings.Contains(r.Text, "stopped flapping") && strings.Contains(r.Text, "it is up") {
				return true
			}
		}
		return false
	})
	if now := len(topLevel(fake.Messages(slackChannel))); now != alerts {
		t.Errorf("%d new top-level messages when the flapping ended on up, want none", now-alerts)
	}
}
