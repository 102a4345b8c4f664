package discord

import (
	"context"
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
	hook := "https://discord.com/api/webhooks/" + testWebhookID + "/" + testWebhookToken
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"bot", Config{Token: testToken, ChannelID: testChannel}, ""},
		{"bot, with Bot prefix", Config{Token: "Bot " + testToken, ChannelID: testChannel}, ""},
		{"bot with api url", Config{Token: testToken, ChannelID: testChannel, APIURL: "http://127.0.0.1:1"}, ""},
		{"webhook", Config{WebhookURL: hook}, ""},
		{"webhook with a thread", Config{WebhookURL: hook + "?thread_id=5"}, ""},
		{"nothing", Config{ChannelID: testChannel}, "neither a bot token nor a webhook URL"},
		{"both", Config{Token: testToken, ChannelID: testChannel, WebhookURL: hook}, "both"},
		{"token with a newline", Config{Token: testToken + "\n", ChannelID: testChannel}, "white space"},
		{"no channel", Config{Token: testToken}, "no channel id"},
		{"channel with a slash", Config{Token: testToken, ChannelID: "1/2"}, "not a channel id"},
		{"api url not http", Config{Token: testToken, ChannelID: testChannel, APIURL: "ftp://x"}, "api_url"},
		{"api url relative", Config{Token: testToken, ChannelID: testChannel, APIURL: "/api"}, "api_url"},
		{"webhook not http", Config{WebhookURL: "ftp://discord.com/api/webhooks/1/" + testWebhookToken}, "not an http(s) URL"},
		{"webhook without its token", Config{WebhookURL: "https://discord.com/api/webhooks/" + testWebhookToken}, "/webhooks/ID/TOKEN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := New(tt.cfg)
			if tt.wantErr == "" {
				if err != nil || n == nil {
					t.Fatalf("New = %v, %v", n, err)
				}
				if n.Name() != "discord" {
					t.Errorf("Name = %q", n.Name())
				}
				if n.s.ShouldRetryOnRateLimit || n.s.MaxRestRetries != 0 {
					t.Errorf("discordgo retries: on rate limit %v, max %d", n.s.ShouldRetryOnRateLimit, n.s.MaxRestRetries)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New error = %v, want %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "SeCrEt") {
				t.Errorf("error shows a secret: %v", err)
			}
		})
	}
}

func TestParseRef(t *testing.T) {
	tests := []struct {
		ref    notify.Ref
		ch, id string
		ok     bool
	}{
		{"111/900", "111", "900", true},
		{"", "", "", false},
		{"111", "", "", false},
		{"111/", "", "", false},
		{"/900", "", "", false},
		{"1/2/3", "", "", false},
	}
	for _, tt := range tests {
		ch, id, ok := ParseRef(tt.ref)
		if ch != tt.ch || id != tt.id || ok != tt.ok {
			t.Errorf("ParseRef(%q) = %q, %q, %v", tt.ref, ch, id, ok)
		}
	}
}

func TestPostDown(t *testing.T) {
	f := &fakeDiscord{}
	n, _ := newTestNotifier(t, f)
	ev := shopEvent(state.EventDown)
	ev.Reason, ev.Latency = "HTTP 503", 12500*time.Microsecond

	ref, err := n.Post(t.Context(), ev)
	if err != nil {
		t.Fatal(err)
	}
	if ref != testChannel+"/900000000000000001" {
		t.Errorf("ref = %q", ref)
	}
	reqs := f.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.Method != "POST" || r.Path != "/api/v9/channels/"+testChannel+"/messages" || r.Auth != "Bot "+testToken {
		t.Errorf("request %s %s, auth %q", r.Method, r.Path, r.Auth)
	}
	nonce := Nonce("tp", ev)
	jsonEqual(t, r.Raw, `{"content":"","flags":0,`+noPings+`,"nonce":"`+nonce+`","enforce_nonce":true,
		"components":`+ackButtonRow+`,"embeds":[{"type":"rich",
		"title":"DOWN shop","color":15548997,`+failed503+`,`+stamp+`,`+footer42+`,
		"fields":[`+sinceField+`,`+checkField+`,{"name":"Latency","value":"12.5 ms","inline":true}]}]}`)
	if _, ok := r.Body["message_reference"]; ok {
		t.Error("a post with a message_reference")
	}
}

func TestPostFlapping(t *testing.T) {
	f := &fakeDiscord{}
	n, _ := newTestNotifier(t, f)
	ev := shopEvent(state.EventFlapping)
	ev.Reason = "state changed 12 times in 21 checks"
	if _, err := n.Post(t.Context(), ev); err != nil {
		t.Fatal(err)
	}
	r := f.requests()[0]
	if r.Body["content"] != "⚠️ shop is flapping: state changed 12 times in 21 checks" || len(r.Body["embeds"].([]any)) != 0 {
		t.Errorf("flapping post = %s", r.Raw)
	}
}

// TestPostRetriedAfterLostAnswer: Discord makes the message but its answer
// is lost; the Dispatcher's retry sends the same Post, whose nonce makes
// Discord answer with the message it made instead of making a second.
func TestPostRetriedAfterLostAnswer(t *testing.T) {
	f := &fakeDiscord{answer: func(i int, r fakeReq) fakeAnswer { return fakeAnswer{Lose: i == 0} }}
	n, _ := newTestNotifier(t, f)
	ev := shopEvent(state.EventDown)
	if _, err := n.Post(t.Context(), ev); err == nil {
		t.Fatal("the lost answer gave no error")
	} else if perm, _ := notify.Classify(err); perm {
		t.Fatalf("the lost answer is permanent: %v", err)
	}
	ref, err := n.Post(t.Context(), ev)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.requests()) != 2 {
		t.Errorf("%d requests, want 2", len(f.requests()))
	}
	msgs := f.messages()
	if len(msgs) != 1 || ref != notify.Ref(testChannel+"/"+msgs[0].ID) {
		t.Errorf("ref %q, messages %+v; want one message", ref, msgs)
	}
	// A reply after a lost answer, likewise.
	f.answer = nil
	if _, err := n.Reply(t.Context(), ref, shopEvent(state.EventRemind)); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Reply(t.Context(), ref, shopEvent(state.EventRemind)); err != nil {
		t.Fatal(err)
	}
	if got := len(f.messages()); got != 2 {
		t.Errorf("%d messages after the same reply twice, want 2", got)
	}
}

// TestIncident walks an incident through the steps the Dispatcher takes:
// DOWN posts; ACK edits, then replies; UP replies, then edits.
func TestIncident(t *testing.T) {
	f := &fakeDiscord{}
	n, _ := newTestNotifier(t, f)
	ctx := t.Context()

	down := shopEvent(state.EventDown)
	down.Reason = "HTTP 503"
	ref, err := n.Post(ctx, down)
	if err != nil {
		t.Fatal(err)
	}
	ch, id, _ := ParseRef(ref)

	ack := shopEvent(state.EventAck)
	ack.ID, ack.Actor, ack.Reason, ack.AckedBy, ack.AckedAt = 8, "alice", "on it", "alice", since.Add(time.Minute)
	if err := n.Edit(ctx, ref, ack); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Reply(ctx, ref, ack); err != nil {
		t.Fatal(err)
	}

	up := shopEvent(state.EventUp)
	up.ID, up.Duration, up.AckedBy, up.AckedAt = 9, 4*time.Minute+12*time.Second, "alice", since.Add(time.Minute)
	if _, err := n.Reply(ctx, ref, up); err != nil {
		t.Fatal(err)
	}
	if err := n.Edit(ctx, ref, up); err != nil {
		t.Fatal(err)
	}

	reqs := f.requests()
	type call struct{ method, path, content, title, reference, nonce string }
	msgs := "/api/v9/channels/" + ch + "/messages"
	want := []call{
		{"POST", msgs, "", "DOWN shop", "", Nonce("tp", down)},
		{"PATCH", msgs + "/" + id, "", "ACKNOWLEDGED shop", "", ""},
		{"POST", msgs, "Acknowledged by alice: on it", "", id, Nonce("tr", ack)},
		{"POST", msgs, "shop is up again after 4m12s", "", id, Nonce("tr", up)},
		{"PATCH", msgs + "/" + id, "", "RESOLVED shop", "", ""},
	}
	if len(reqs) != len(want) {
		t.Fatalf("%d requests, want %d", len(reqs), len(want))
	}
	for i, w := range want {
		r := reqs[i]
		got := call{method: r.Method, path: r.Path, content: r.Body["content"].(string)}
		if e, _ := r.Body["embeds"].([]any); len(e) > 0 {
			got.title = e[0].(map[string]any)["title"].(string)
		}
		if mr, ok := r.Body["message_reference"].(map[string]any); ok {
			got.reference = mr["message_id"].(string)
			if mr["channel_id"] != ch || mr["fail_if_not_exists"] != false {
				t.Errorf("request %d: message_reference %v", i, mr)
			}
		}
		got.nonce, _ = r.Body["nonce"].(string)
		if got != w {
			t.Errorf("request %d = %+v, want %+v", i, got, w)
		}
		if got.nonce != "" && r.Body["enforce_nonce"] != true {
			t.Errorf("request %d: a nonce without enforce_nonce", i)
		}
	}
	// The ack edit shows who and when, keeps the cause, drops the button.
	if s := reqs[1].text(); !strings.Contains(s, ackedByAlice) || !strings.Contains(s, "HTTP 503") ||
		!strings.Contains(s, `"components":[]`) || !strings.Contains(s, `"color":15769632`) {
		t.Errorf("ack edit: %s", s)
	}
	// The recovery edit: green, resolved, cause and ack kept, no button.
	if s := reqs[4].text(); !strings.Contains(s, "Resolved after 4m12s") || !strings.Contains(s, ackedByAlice) ||
		!strings.Contains(s, "HTTP 503") || !strings.Contains(s, `"components":[]`) || !strings.Contains(s, `"color":5763719`) {
		t.Errorf("up edit: %s", s)
	}
	// UNACK brings the button back.
	unack := shopEvent(state.EventUnack)
	unack.Actor = "alice"
	if err := n.Edit(ctx, ref, unack); err != nil {
		t.Fatal(err)
	}
	if s := f.requests()[5].text(); !strings.Contains(s, `"custom_id":"tocsin_ack:42"`) {
		t.Errorf("unack edit: %s", s)
	}
	if m := f.messages(); len(m) != 3 || len(m[0].Edits) != 3 {
		t.Errorf("messages: %+v", m)
	}
}

func TestReplyInChannel(t *testing.T) {
	const former = "333333333333333333"
	tests := []struct {
		name   string
		ref    notify.Ref
		answer func(i int, r fakeReq) fakeAnswer
		calls  int
	}{
		{"no ref", "", nil, 1},
		{"not a Discord ref", "console:41", nil, 1},
		{"reply refused", testChannel + "/900", func(i int, r fakeReq) fakeAnswer {
			if _, ok := r.Body["message_reference"]; ok {
				return discordError(400, 50035, "Invalid Form Body")
			}
			return fakeAnswer{}
		}, 2},
		{"former channel gone", former + "/900", func(i int, r fakeReq) fakeAnswer {
			if strings.Contains(r.Path, former) {
				return discordError(404, 10003, "Unknown Channel")
			}
			return fakeAnswer{}
		}, 2},
		{"former channel out of reach", former + "/900", func(i int, r fakeReq) fakeAnswer {
			if strings.Contains(r.Path, former) {
				return discordError(403, 50001, "Missing Access")
			}
			return fakeAnswer{}
		}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeDiscord{answer: tt.answer}
			n, logs := newTestNotifier(t, f)
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
			if _, ok := last.Body["message_reference"]; ok || last.Path != "/api/v9/channels/"+testChannel+"/messages" {
				t.Errorf("last request is not a new message in the channel: %s %s", last.Path, last.Raw)
			}
			if got := last.Body["content"]; got != "shop: Acknowledged by alice: on it" {
				t.Errorf("content = %q", got)
			}
			if last.Body["nonce"] != Nonce("tr", ev) {
				t.Errorf("nonce = %v", last.Body["nonce"])
			}
			if ch, _, ok := ParseRef(ref); !ok || ch != testChannel {
				t.Errorf("ref = %q", ref)
			}
			if tt.ref != "" && !strings.Contains(logs.String(), "posting in the channel") {
				t.Errorf("not logged: %s", logs)
			}
		})
	}
	t.Run("the configured channel out of reach is permanent", func(t *testing.T) {
		f := &fakeDiscord{answer: func(int, fakeReq) fakeAnswer { return discordError(403, 50001, "Missing Access") }}
		n, _ := newTestNotifier(t, f)
		_, err := n.Reply(t.Context(), testChannel+"/900", shopEvent(state.EventUp))
		if perm, _ := notify.Classify(err); !perm || len(f.requests()) != 1 {
			t.Errorf("Reply = %v after %d requests; want permanent after 1", err, len(f.requests()))
		}
	})
}

func TestEditSkipped(t *testing.T) {
	const former = "333333333333333333"
	tests := []struct {
		name   string
		ref    notify.Ref
		answer fakeAnswer
	}{
		{"unknown message", testChannel + "/404", fakeAnswer{}}, // the fake has no such message
		{"not the bot's message", testChannel + "/900", discordError(403, 50005, "Cannot edit a message authored by another user")},
		{"former channel gone", former + "/900", discordError(404, 10003, "Unknown Channel")},
		{"former channel, no permission", former + "/900", discordError(403, 50013, "Missing Permissions")},
		{"not a ref", "garbage", fakeAnswer{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeDiscord{answer: func(int, fakeReq) fakeAnswer { return tt.answer }}
			n, logs := newTestNotifier(t, f)
			if err := n.Edit(t.Context(), tt.ref, shopEvent(state.EventUp)); err != nil {
				t.Errorf("Edit = %v, want nil", err)
			}
			if !strings.Contains(logs.String(), "edit skipped") {
				t.Errorf("skip not logged: %s", logs)
			}
		})
	}
	t.Run("the configured channel out of reach is permanent", func(t *testing.T) {
		f := &fakeDiscord{answer: func(int, fakeReq) fakeAnswer { return discordError(403, 50013, "Missing Permissions") }}
		n, _ := newTestNotifier(t, f)
		err := n.Edit(t.Context(), testChannel+"/900", shopEvent(state.EventUp))
		if perm, _ := notify.Classify(err); !perm {
			t.Errorf("Edit = %v, want permanent", err)
		}
	})
}

func TestPlainFallback(t *testing.T) {
	refuseEmbeds := func(i int, r fakeReq) fakeAnswer {
		if e, _ := r.Body["embeds"].([]any); len(e) > 0 {
			return fakeAnswer{Status: 400, Body: `{"message":"Invalid Form Body","code":50035,"errors":{"embeds":{"0":{"description":{"_errors":[{"code":"BASE_TYPE_MAX_LENGTH"}]}}}}}`}
		}
		return fakeAnswer{}
	}
	t.Run("post", func(t *testing.T) {
		f := &fakeDiscord{answer: refuseEmbeds}
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
		jsonEqual(t, reqs[1].Raw, `{"content":"DOWN shop: HTTP 503","embeds":[],"components":[],`+noPings+`,
			"flags":4,"nonce":"`+Nonce("tp", ev)+`","enforce_nonce":true}`)
		if ref != testChannel+"/900000000000000001" {
			t.Errorf("ref = %q", ref)
		}
		if !strings.Contains(logs.String(), "sending its text alone") || !strings.Contains(logs.String(), "50035") {
			t.Errorf("fallback not logged: %s", logs)
		}
	})
	t.Run("edit", func(t *testing.T) {
		f := &fakeDiscord{}
		n, _ := newTestNotifier(t, f)
		ref, err := n.Post(t.Context(), shopEvent(state.EventDown))
		if err != nil {
			t.Fatal(err)
		}
		f.answer = refuseEmbeds
		if err := n.Edit(t.Context(), ref, shopEvent(state.EventAck)); err != nil {
			t.Fatal(err)
		}
		reqs := f.requests()
		if len(reqs) != 3 || reqs[2].Method != "PATCH" || reqs[2].Body["content"] != "ACKNOWLEDGED shop: HTTP 503" {
			t.Errorf("requests = %+v", reqs)
		}
	})
	t.Run("text refused too", func(t *testing.T) {
		f := &fakeDiscord{answer: func(int, fakeReq) fakeAnswer { return discordError(400, 50035, "Invalid Form Body") }}
		n, _ := newTestNotifier(t, f)
		_, err := n.Post(t.Context(), shopEvent(state.EventDown))
		if perm, _ := notify.Classify(err); !perm {
			t.Errorf("Post = %v, want permanent", err)
		}
		if len(f.requests()) != 2 {
			t.Errorf("%d requests, want 2 (one fallback, not more)", len(f.requests()))
		}
	})
}

func TestErrors(t *testing.T) {
	type want struct {
		ok         bool // no error at all
		permanent  bool
		retryAfter time.Duration
	}
	retryable, perm := want{}, want{permanent: true}
	tests := []struct {
		name   string
		answer fakeAnswer
		post   want // Post and Reply
		edit   want
	}{
		{"429 retry_after 1.5", fakeAnswer{Status: 429, Body: `{"message":"You are being rate limited.","retry_after":1.5,"global":false}`},
			want{retryAfter: 1500 * time.Millisecond}, want{retryAfter: 1500 * time.Millisecond}},
		{"429 from a proxy, not JSON", fakeAnswer{Status: 429, Body: "<html>slow down</html>"}, retryable, retryable},
		{"500", fakeAnswer{Status: 500, Body: "<html>oops</html>"}, retryable, retryable},
		{"502", fakeAnswer{Status: 502, Body: "bad gateway"}, retryable, retryable},
		{"503 with a code", discordError(503, 0, "upstream connect error"), retryable, retryable},
		{"504", fakeAnswer{Status: 504}, retryable, retryable},
		{"408", fakeAnswer{Status: 408}, retryable, retryable},
		{"401 bad token", discordError(401, 0, "401: Unauthorized"), perm, perm},
		{"403 Missing Access", discordError(403, 50001, "Missing Access"), perm, perm},
		{"403 Missing Permissions", discordError(403, 50013, "Missing Permissions"), perm, perm},
		{"403 a proxy's", fakeAnswer{Status: 403, Body: "forbidden"}, perm, perm},
		{"404 Unknown Channel", discordError(404, 10003, "Unknown Channel"), perm, perm},
		{"404 wrong api url", fakeAnswer{Status: 404, Body: "404 page not found"}, perm, perm},
		{"404 Unknown Message", discordError(404, 10008, "Unknown Message"), perm, want{ok: true}},
		{"400 non-text channel", discordError(400, 50008, "Cannot send messages in a non-text channel"), perm, perm},
		{"400 edits of an old message used up", discordError(400, 30046, "Maximum number of edits"), retryable, retryable},
		{"200 not JSON", fakeAnswer{Status: 200, Body: "<html>"}, retryable, want{ok: true}},
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
		if !strings.HasPrefix(err.Error(), "discord: ") && !strings.Contains(err.Error(), ": discord: ") {
			t.Errorf("%s: error %q does not say discord", op, err)
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeDiscord{answer: func(int, fakeReq) fakeAnswer { return tt.answer }}
			n, _ := newTestNotifier(t, f)
			start := time.Now()
			_, err := n.Post(t.Context(), shopEvent(state.EventDown))
			check(t, "post", err, tt.post)
			check(t, "edit", n.Edit(t.Context(), testChannel+"/900", shopEvent(state.EventAck)), tt.edit)
			_, err = n.Reply(t.Context(), testChannel+"/900", shopEvent(state.EventUp))
			check(t, "reply", err, tt.post)
			// discordgo neither retried (a 502, a 429) nor slept.
			if got := len(f.requests()); got != 3 {
				t.Errorf("%d requests, want 3", got)
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}

// TestLoopback: a closed port, a server too slow for the client's timeout,
// and a stop (ctx) during a call and during discordgo's rate-limit wait.
func TestLoopback(t *testing.T) {
	ev := shopEvent(state.EventDown)
	retryable := func(t *testing.T, err error) {
		t.Helper()
		if err == nil {
			t.Fatal("no error")
		}
		if perm, after := notify.Classify(err); perm || after != 0 {
			t.Errorf("%v: Classify = %v, %v; want retryable", err, perm, after)
		}
	}
	t.Run("connection refused", func(t *testing.T) {
		closed := httptest.NewServer(http.NotFoundHandler())
		base := closed.URL
		closed.Close()
		n, _ := newTestNotifier(t, &fakeDiscord{}, func(c *Config) { c.APIURL = base })
		_, err := n.Post(t.Context(), ev)
		retryable(t, err)
	})

	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer slow.Close()
	defer close(release)

	t.Run("client timeout", func(t *testing.T) {
		n, _ := newTestNotifier(t, &fakeDiscord{}, func(c *Config) {
			c.APIURL, c.HTTPClient = slow.URL, &http.Client{Timeout: 50 * time.Millisecond}
		})
		_, err := n.Post(t.Context(), ev)
		retryable(t, err)
	})

	t.Run("stop during a call", func(t *testing.T) {
		n, _ := newTestNotifier(t, &fakeDiscord{}, func(c *Config) { c.APIURL = slow.URL })
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := n.Post(ctx, ev)
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
			t.Errorf("Post = %v after %v", err, time.Since(start))
		}
	})

	t.Run("stop during the rate-limit wait", func(t *testing.T) {
		// The bucket is spent for a minute: discordgo would sleep that long
		// before the next call, whatever the context.
		f := &fakeDiscord{answer: func(i int, r fakeReq) fakeAnswer {
			return fakeAnswer{Status: 200, Body: `{"id":"900","channel_id":"` + testChannel + `"}`,
				Header: http.Header{"X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset-After": {"60"}}}
		}}
		n, _ := newTestNotifier(t, f)
		if _, err := n.Post(t.Context(), ev); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := n.Post(ctx, ev)
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
			t.Errorf("Post = %v after %v", err, time.Since(start))
		}
		if len(f.requests()) != 1 {
			t.Errorf("%d requests, want 1", len(f.requests()))
		}
	})
}

func TestWebhook(t *testing.T) {
	f := &fakeDiscord{}
	n, logs := newTestNotifier(t, f, webhookMode)
	ctx := t.Context()
	down := shopEvent(state.EventDown)
	down.Reason = "HTTP 503"
	ref, err := n.Post(ctx, down)
	if err != nil {
		t.Fatal(err)
	}
	if ref != "222222222222222222/900000000000000001" {
		t.Errorf("ref = %q", ref)
	}
	ack := shopEvent(state.EventAck)
	ack.Actor, ack.AckedBy, ack.AckedAt = "alice", "alice", since.Add(time.Minute)
	if err := n.Edit(ctx, ref, ack); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Reply(ctx, ref, ack); err != nil {
		t.Fatal(err)
	}
	up := shopEvent(state.EventUp)
	up.Duration = 4*time.Minute + 12*time.Second
	if _, err := n.Reply(ctx, ref, up); err != nil {
		t.Fatal(err)
	}
	if err := n.Edit(ctx, ref, up); err != nil {
		t.Fatal(err)
	}

	reqs := f.requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3 (no edits)", len(reqs))
	}
	for i, r := range reqs {
		if r.Method != "POST" || r.Path != "/api/webhooks/"+testWebhookID+"/"+testWebhookToken || r.Query.Get("wait") != "true" {
			t.Errorf("request %d: %s %s?%s", i, r.Method, r.Path, r.Query.Encode())
		}
		if r.Auth != "" {
			t.Errorf("request %d has an Authorization header", i)
		}
		for _, k := range []string{"components", "nonce", "enforce_nonce", "message_reference"} {
			if _, ok := r.Body[k]; ok {
				t.Errorf("request %d has %s: %s", i, k, r.Raw)
			}
		}
	}
	jsonEqual(t, reqs[0].Raw, `{"content":"",`+noPings+`,"embeds":[{"type":"rich",
		"title":"DOWN shop","color":15548997,`+failed503+`,`+stamp+`,`+footer42+`,
		"fields":[`+sinceField+`,`+checkField+`]}]}`)
	if reqs[1].Body["content"] != "shop: Acknowledged by alice" || reqs[1].Body["flags"] != float64(4) {
		t.Errorf("ack: %s", reqs[1].Raw)
	}
	// The recovery: a new message with the line and the resolved alert.
	if s := reqs[2].text(); !strings.Contains(s, `"content":"shop is up again after 4m12s"`) ||
		!strings.Contains(s, `"title":"RESOLVED shop"`) || !strings.Contains(s, `"color":5763719`) || strings.Contains(s, `"flags"`) {
		t.Errorf("recovery: %s", s)
	}
	if len(f.messages()) != 3 {
		t.Errorf("%d messages, want 3", len(f.messages()))
	}
	if strings.Contains(logs.String(), testWebhookToken) {
		t.Errorf("log shows the webhook token: %s", logs)
	}

	t.Run("URL given in full, unknown webhook", func(t *testing.T) {
		f := &fakeDiscord{}
		base := newFake(t, f)
		n, err := New(Config{WebhookURL: base + "/api/webhooks/" + testWebhookID + "/not-" + testWebhookToken})
		if err != nil {
			t.Fatal(err)
		}
		_, err = n.Post(t.Context(), down)
		if perm, _ := notify.Classify(err); !perm || !strings.Contains(err.Error(), "Unknown Webhook") {
			t.Errorf("Post = %v, want permanent Unknown Webhook", err)
		}
		if strings.Contains(err.Error(), testWebhookToken) || strings.Contains(err.Error(), base) {
			t.Errorf("error shows the webhook URL: %v", err)
		}
	})
	t.Run("refused embed", func(t *testing.T) {
		f := &fakeDiscord{answer: func(i int, r fakeReq) fakeAnswer {
			if e, _ := r.Body["embeds"].([]any); len(e) > 0 {
				return discordError(400, 50035, "Invalid Form Body")
			}
			return fakeAnswer{}
		}}
		n, _ := newTestNotifier(t, f, webhookMode)
		if _, err := n.Post(t.Context(), down); err != nil {
			t.Fatal(err)
		}
		if _, err := n.Reply(t.Context(), "", up); err != nil {
			t.Fatal(err)
		}
		reqs := f.requests()
		if len(reqs) != 4 || reqs[1].Body["content"] != "DOWN shop: HTTP 503" || reqs[3].Body["content"] != "shop is up again after 4m12s" {
			t.Errorf("requests: %+v", reqs)
		}
	})
}
