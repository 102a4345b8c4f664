package slack

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tocsin/tocsin/notify"
	"github.com/tocsin/tocsin/state"
)

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"ok", Config{Token: testToken, Channel: "C1"}, ""},
		{"ok with api url", Config{Token: testToken, Channel: "C1", APIURL: "https://slack-gov.com/api/"}, ""},
		{"no token", Config{Channel: "C1"}, "no bot token"},
		{"blank token", Config{Token: "  ", Channel: "C1"}, "no bot token"},
		{"token with a newline", Config{Token: testToken + "\n", Channel: "C1"}, "white space"},
		{"no channel", Config{Token: testToken}, "no channel"},
		{"channel with a slash", Config{Token: testToken, Channel: "C1/x"}, "not a channel id"},
		{"api url not http", Config{Token: testToken, Channel: "C1", APIURL: "ftp://x/"}, "not an http(s) URL"},
		{"api url relative", Config{Token: testToken, Channel: "C1", APIURL: "/api/"}, "not an http(s) URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := New(tt.cfg)
			if tt.wantErr == "" {
				if err != nil || n == nil {
					t.Fatalf("New = %v, %v", n, err)
				}
				if n.Name() != "slack" {
					t.Errorf("Name = %q", n.Name())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New error = %v, want %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "SeCrEt") {
				t.Errorf("error shows the token: %v", err)
			}
		})
	}
}

func TestAPIURLWithoutSlash(t *testing.T) {
	f := &fakeSlack{}
	n, _ := newTestNotifier(t, f, func(c *Config) { c.APIURL = "http://slack.test/api" })
	if _, err := n.Post(t.Context(), shopEvent(state.EventDown)); err != nil {
		t.Fatal(err)
	}
	if r := f.requests(); len(r) != 1 || r[0].Method != "chat.postMessage" {
		t.Fatalf("requests = %+v", r)
	}
}

func TestParseRef(t *testing.T) {
	tests := []struct {
		ref    notify.Ref
		ch, ts string
		ok     bool
	}{
		{"C1/1764072000.000100", "C1", "1764072000.000100", true},
		{"", "", "", false},
		{"C1", "", "", false},
		{"C1/", "", "", false},
		{"/1.2", "", "", false},
		{"C1/1.2/3", "", "", false},
		{"console:41", "", "", false},
	}
	for _, tt := range tests {
		ch, ts, ok := ParseRef(tt.ref)
		if ch != tt.ch || ts != tt.ts || ok != tt.ok {
			t.Errorf("ParseRef(%q) = %q, %q, %v", tt.ref, ch, ts, ok)
		}
	}
}

// blocksOf decodes the blocks form value of r into generic JSON.
func blocksOf(t *testing.T, r fakeReq) []map[string]any {
	t.Helper()
	var b []map[string]any
	if s := r.Form.Get("blocks"); s != "" {
		if err := json.Unmarshal([]byte(s), &b); err != nil {
			t.Fatalf("blocks: %v", err)
		}
	}
	return b
}

// texts joins every "text" string in blocks, one a line.
func texts(blocks []map[string]any) string {
	var out []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if s, ok := x.(string); ok && k == "text" {
					out = append(out, s)
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	for _, b := range blocks {
		walk(b)
	}
	return strings.Join(out, "\n")
}

// button returns the action_id and value of the first button in blocks.
func button(blocks []map[string]any) (actionID, value string, ok bool) {
	for _, b := range blocks {
		if b["type"] != "actions" {
			continue
		}
		for _, e := range b["elements"].([]any) {
			e := e.(map[string]any)
			if e["type"] == "button" {
				return e["action_id"].(string), e["value"].(string), true
			}
		}
	}
	return "", "", false
}

func TestPostDown(t *testing.T) {
	f := &fakeSlack{}
	n, _ := newTestNotifier(t, f)
	ev := shopEvent(state.EventDown)
	ev.Reason, ev.Latency = "HTTP 503", 12500*time.Microsecond

	ref, err := n.Post(t.Context(), ev)
	if err != nil {
		t.Fatal(err)
	}
	if ref != "C1/1764072000.000001" {
		t.Errorf("ref = %q, want C1/1764072000.000001", ref)
	}
	reqs := f.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	r := reqs[0]
	for k, want := range map[string]string{
		"token": testToken, "channel": "C1", "text": "DOWN shop: HTTP 503",
		"unfurl_links": "false", "unfurl_media": "false", "thread_ts": "",
	} {
		if got := r.Form.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if r.Method != "chat.postMessage" {
		t.Errorf("method = %s", r.Method)
	}
	id, value, ok := button(blocksOf(t, r))
	if !ok || id != "tocsin_ack" || value != "42" {
		t.Errorf("button = %q %q %v, want tocsin_ack 42", id, value, ok)
	}
	want, _ := json.Marshal(AlertMessage(ev).Blocks)
	jsonEqual(t, json.RawMessage(r.Form.Get("blocks")), string(want))
}

func TestPostFlapping(t *testing.T) {
	f := &fakeSlack{}
	n, _ := newTestNotifier(t, f)
	ev := shopEvent(state.EventFlapping)
	ev.Reason = "state changed 12 times in 21 checks"
	if _, err := n.Post(t.Context(), ev); err != nil {
		t.Fatal(err)
	}
	r := f.requests()[0]
	if r.Form.Get("text") != ":warning: shop is flapping: state changed 12 times in 21 checks" || r.Form.Has("blocks") {
		t.Errorf("flapping post = %v", r.Form)
	}
}

// TestIncident walks an incident through the steps the Dispatcher takes:
// DOWN posts; ACK edits, then replies; UP replies, then edits.
func TestIncident(t *testing.T) {
	f := &fakeSlack{}
	n, _ := newTestNotifier(t, f)
	ctx := t.Context()

	down := shopEvent(state.EventDown)
	down.Reason = "HTTP 503"
	ref, err := n.Post(ctx, down)
	if err != nil {
		t.Fatal(err)
	}

	ack := shopEvent(state.EventAck)
	ack.Actor, ack.Reason, ack.AckedBy, ack.AckedAt = "alice", "on it", "alice", since.Add(time.Minute)
	if err := n.Edit(ctx, ref, ack); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Reply(ctx, ref, ack); err != nil {
		t.Fatal(err)
	}

	up := shopEvent(state.EventUp)
	up.Duration, up.AckedBy, up.AckedAt = 4*time.Minute+12*time.Second, "alice", since.Add(time.Minute)
	if _, err := n.Reply(ctx, ref, up); err != nil {
		t.Fatal(err)
	}
	if err := n.Edit(ctx, ref, up); err != nil {
		t.Fatal(err)
	}

	reqs := f.requests()
	type call struct{ method, channel, ts, threadTS, text string }
	want := []call{
		{"chat.postMessage", "C1", "", "", "DOWN shop: HTTP 503"},
		{"chat.update", "C1", "1764072000.000001", "", "ACKNOWLEDGED shop: HTTP 503"},
		{"chat.postMessage", "C1", "", "1764072000.000001", "Acknowledged by @alice: on it"},
		{"chat.postMessage", "C1", "", "1764072000.000001", "shop is up again after 4m12s"},
		{"chat.update", "C1", "1764072000.000001", "", "RESOLVED shop after 4m12s: HTTP 503"},
	}
	if len(reqs) != len(want) {
		t.Fatalf("%d requests, want %d", len(reqs), len(want))
	}
	for i, w := range want {
		r := reqs[i]
		got := call{r.Method, r.Form.Get("channel"), r.Form.Get("ts"), r.Form.Get("thread_ts"), r.Form.Get("text")}
		if got != w {
			t.Errorf("request %d = %+v, want %+v", i, got, w)
		}
	}
	// The ack edit shows who and when, keeps the cause, drops the button.
	ackBlocks := texts(blocksOf(t, reqs[1]))
	for _, s := range []string{"Acknowledged by @alice at <!date^1795608060^", "*What failed:* HTTP 503"} {
		if !strings.Contains(ackBlocks, s) {
			t.Errorf("ack edit lacks %q: %s", s, ackBlocks)
		}
	}
	if _, _, ok := button(blocksOf(t, reqs[1])); ok {
		t.Error("ack edit still has the button")
	}
	// The recovery edit: resolved, cause and ack kept, no button.
	upBlocks := texts(blocksOf(t, reqs[4]))
	for _, s := range []string{"RESOLVED shop", "Resolved after 4m12s", "*What failed:* HTTP 503", "Acknowledged by @alice"} {
		if !strings.Contains(upBlocks, s) {
			t.Errorf("up edit lacks %q: %s", s, upBlocks)
		}
	}
	if _, _, ok := button(blocksOf(t, reqs[4])); ok {
		t.Error("up edit has the button")
	}

	// UNACK brings the button back.
	unack := shopEvent(state.EventUnack)
	unack.Actor = "alice"
	if err := n.Edit(ctx, ref, unack); err != nil {
		t.Fatal(err)
	}
	if id, v, ok := button(blocksOf(t, f.requests()[5])); !ok || id != "tocsin_ack" || v != "42" {
		t.Errorf("unack edit button = %q %q %v", id, v, ok)
	}
}

func TestReplyTopLevel(t *testing.T) {
	tests := []struct {
		name   string
		ref    notify.Ref
		answer func(i int, r fakeReq) fakeAnswer
		calls  int
	}{
		{"no ref", "", nil, 1},
		{"not a Slack ref", "console:41", nil, 1},
		{"thread_not_found", "C1/1.1", func(i int, r fakeReq) fakeAnswer {
			if r.Form.Has("thread_ts") {
				return slackError("thread_not_found")
			}
			return fakeAnswer{}
		}, 2},
		{"channel without threads", "C1/1.1", func(i int, r fakeReq) fakeAnswer {
			if r.Form.Has("thread_ts") {
				return slackError("restricted_action_non_threadable_channel")
			}
			return fakeAnswer{}
		}, 2},
		{"former channel gone", "C0OLD/1.1", func(i int, r fakeReq) fakeAnswer {
			if r.Form.Get("channel") == "C0OLD" {
				return slackError("channel_not_found")
			}
			return fakeAnswer{}
		}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeSlack{answer: tt.answer}
			n, _ := newTestNotifier(t, f)
			ev := shopEvent(state.EventAck)
			ev.Actor, ev.Reason = "alice", "on it"
			ref, err := n.Reply(t.Context(), tt.ref, ev)
			if err != nil {
				t.Fatal(err)
			}
			reqs := f.requests()
			if len(reqs) != tt.calls {
				t.Fatalf("%d requests, want %d", len(reqs), tt.calls)
			}
			last := reqs[len(reqs)-1]
			if last.Form.Has("thread_ts") || last.Form.Get("channel") != "C1" {
				t.Errorf("last request is not top-level in C1: %v", last.Form)
			}
			if got := last.Form.Get("text"); got != "shop: Acknowledged by @alice: on it" {
				t.Errorf("text = %q", got)
			}
			if ch, _, ok := ParseRef(ref); !ok || ch != "C1" {
				t.Errorf("ref = %q", ref)
			}
		})
	}
}

func TestTextOnlyFallback(t *testing.T) {
	for _, c := range []string{"invalid_blocks", "invalid_blocks_format", "msg_too_long"} {
		t.Run("post "+c, func(t *testing.T) {
			f := &fakeSlack{answer: func(i int, r fakeReq) fakeAnswer {
				if r.Form.Has("blocks") {
					return slackError(c)
				}
				return fakeAnswer{}
			}}
			n, logs := newTestNotifier(t, f)
			ev := shopEvent(state.EventDown)
			ev.Reason = "HTTP 503"
			ref, err := n.Post(t.Context(), ev)
			if err != nil {
				t.Fatal(err)
			}
			reqs := f.requests()
			if len(reqs) != 2 {
				t.Fatalf("%d requests, want 2", len(reqs))
			}
			if reqs[1].Form.Has("blocks") || reqs[1].Form.Get("text") != "DOWN shop: HTTP 503" {
				t.Errorf("fallback = %v", reqs[1].Form)
			}
			if ref != "C1/1764072000.000001" {
				t.Errorf("ref = %q", ref)
			}
			if !strings.Contains(logs.String(), c) {
				t.Errorf("fallback not logged: %s", logs)
			}
		})
		t.Run("edit "+c, func(t *testing.T) {
			f := &fakeSlack{answer: func(i int, r fakeReq) fakeAnswer {
				if r.Form.Get("blocks") != "[]" {
					return slackError(c)
				}
				return fakeAnswer{}
			}}
			n, _ := newTestNotifier(t, f)
			if err := n.Edit(t.Context(), "C1/1.1", shopEvent(state.EventAck)); err != nil {
				t.Fatal(err)
			}
			reqs := f.requests()
			if len(reqs) != 2 || reqs[1].Method != "chat.update" || reqs[1].Form.Get("text") != "ACKNOWLEDGED shop: HTTP 503" {
				t.Errorf("requests = %+v", reqs)
			}
		})
	}
	t.Run("fallback refused too", func(t *testing.T) {
		f := &fakeSlack{answer: func(int, fakeReq) fakeAnswer { return slackError("invalid_blocks") }}
		n, _ := newTestNotifier(t, f)
		_, err := n.Post(t.Context(), shopEvent(state.EventDown))
		if err == nil {
			t.Fatal("no error")
		}
		if perm, _ := notify.Classify(err); perm {
			t.Errorf("permanent: %v", err)
		}
		if len(f.requests()) != 2 {
			t.Errorf("%d requests, want 2 (one fallback, not more)", len(f.requests()))
		}
	})
}

// timeoutError is a transport error that is a timeout.
type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

func TestErrors(t *testing.T) {
	type want struct {
		ok         bool // no error at all
		permanent  bool
		retryAfter time.Duration
	}
	retryable := want{}
	perm := want{permanent: true}
	tests := []struct {
		name   string
		answer fakeAnswer
		post   want
		edit   want
	}{
		{"429 Retry-After 7", fakeAnswer{Status: 429, Header: http.Header{"Retry-After": {"7"}}},
			want{retryAfter: 7 * time.Second}, want{retryAfter: 7 * time.Second}},
		{"429 without Retry-After", fakeAnswer{Status: 429}, retryable, retryable},
		{"500", fakeAnswer{Status: 500, Body: "<html>oops</html>"}, retryable, retryable},
		{"502", fakeAnswer{Status: 502}, retryable, retryable},
		{"503", fakeAnswer{Status: 503}, retryable, retryable},
		{"408", fakeAnswer{Status: 408}, retryable, retryable},
		{"404: wrong api url", fakeAnswer{Status: 404}, perm, perm},
		{"403", fakeAnswer{Status: 403}, perm, perm},
		{"timeout", fakeAnswer{Err: timeoutError{}}, retryable, retryable},
		{"connection reset", fakeAnswer{Err: errors.New("read: connection reset by peer")}, retryable, retryable},
		{"not JSON", fakeAnswer{Body: "<html>"}, retryable, retryable},
		{"unknown code", slackError("something_new"), retryable, retryable},
		{"message_not_found", slackError("message_not_found"), retryable, want{ok: true}},
		{"cant_update_message", slackError("cant_update_message"), retryable, want{ok: true}},
		{"edit_window_closed", slackError("edit_window_closed"), retryable, want{ok: true}},
	}
	for _, c := range []string{"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired",
		"no_permission", "missing_scope", "not_allowed_token_type", "channel_not_found", "not_in_channel", "is_archived",
		"restricted_action", "team_access_not_granted", "ekm_access_denied", "access_denied", "org_login_required"} {
		w := perm
		if c == "org_login_required" { // a migration: it passes
			w = retryable
		}
		tests = append(tests, struct {
			name   string
			answer fakeAnswer
			post   want
			edit   want
		}{c, slackError(c), w, w})
	}
	for _, c := range []string{"ratelimited", "rate_limited", "fatal_error", "internal_error", "service_unavailable",
		"request_timeout", "update_failed"} {
		tests = append(tests, struct {
			name   string
			answer fakeAnswer
			post   want
			edit   want
		}{c, slackError(c), retryable, retryable})
	}
	check := func(t *testing.T, op string, err error, w want) {
		t.Helper()
		if w.ok {
			if err != nil {
				t.Errorf("%s: %v, want nil", op, err)
			}
			return
		}
		if err == nil {
			t.Fatalf("%s: no error", op)
		}
		perm, after := notify.Classify(err)
		if perm != w.permanent || after != w.retryAfter {
			t.Errorf("%s: %v: Classify = %v, %v; want %v, %v", op, err, perm, after, w.permanent, w.retryAfter)
		}
		if !strings.HasPrefix(err.Error(), "slack: ") && !strings.Contains(err.Error(), ": slack: ") {
			t.Errorf("%s: error %q does not say slack", op, err)
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeSlack{answer: func(int, fakeReq) fakeAnswer { return tt.answer }}
			n, _ := newTestNotifier(t, f)
			_, err := n.Post(t.Context(), shopEvent(state.EventDown))
			check(t, "post", err, tt.post)
			check(t, "edit", n.Edit(t.Context(), "C1/1.1", shopEvent(state.EventAck)), tt.edit)
			_, err = n.Reply(t.Context(), "C1/1.1", shopEvent(state.EventUp))
			check(t, "reply", err, tt.post)
		})
	}
}

// TestEditFormerChannel: an alert in a channel other than the configured
// one that Slack no longer lets tocsin reach is left as it is; the same
// answer for the configured channel is permanent.
func TestEditFormerChannel(t *testing.T) {
	f := &fakeSlack{answer: func(int, fakeReq) fakeAnswer { return slackError("channel_not_found") }}
	n, logs := newTestNotifier(t, f)
	if err := n.Edit(t.Context(), "C0OLD/1.1", shopEvent(state.EventUp)); err != nil {
		t.Errorf("edit in a former channel = %v, want nil", err)
	}
	if !strings.Contains(logs.String(), "edit skipped") {
		t.Errorf("skip not logged: %s", logs)
	}
	err := n.Edit(t.Context(), "C1/1.1", shopEvent(state.EventUp))
	if perm, _ := notify.Classify(err); !perm {
		t.Errorf("edit in the channel = %v, want permanent", err)
	}
	if err := n.Edit(t.Context(), "garbage", shopEvent(state.EventUp)); err != nil {
		t.Errorf("edit of a bad ref = %v, want nil", err)
	}
}

// TestLoopback runs the notifier against the fake behind a real HTTP
// server on 127.0.0.1, and against a closed port and a server too slow for
// the client's timeout.
func TestLoopback(t *testing.T) {
	f := &fakeSlack{}
	srv := httptest.NewServer(f)
	defer srv.Close()
	n, _ := newTestNotifier(t, f, func(c *Config) { c.APIURL, c.HTTPClient = srv.URL+"/api/", srv.Client() })
	ev := shopEvent(state.EventDown)
	ev.Reason = "HTTP 503"
	ref, err := n.Post(t.Context(), ev)
	if err != nil || ref != "C1/1764072000.000001" {
		t.Fatalf("Post = %q, %v", ref, err)
	}
	if _, err := n.Reply(t.Context(), ref, shopEvent(state.EventRemind)); err != nil {
		t.Fatal(err)
	}

	t.Run("connection refused", func(t *testing.T) {
		closed := httptest.NewServer(http.NotFoundHandler())
		url := closed.URL
		closed.Close()
		n, _ := newTestNotifier(t, f, func(c *Config) { c.APIURL, c.HTTPClient = url+"/api/", nil })
		_, err := n.Post(t.Context(), ev)
		if err == nil {
			t.Fatal("no error")
		}
		if perm, after := notify.Classify(err); perm || after != 0 {
			t.Errorf("%v: Classify = %v, %v; want retryable", err, perm, after)
		}
	})

	t.Run("client timeout", func(t *testing.T) {
		release := make(chan struct{})
		slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}))
		defer slow.Close()
		defer close(release)
		n, _ := newTestNotifier(t, f, func(c *Config) {
			c.APIURL, c.HTTPClient = slow.URL+"/api/", &http.Client{Timeout: 50 * time.Millisecond}
		})
		_, err := n.Post(t.Context(), ev)
		if err == nil {
			t.Fatal("no error")
		}
		if perm, after := notify.Classify(err); perm || after != 0 {
			t.Errorf("%v: Classify = %v, %v; want retryable", err, perm, after)
		}
	})
}
