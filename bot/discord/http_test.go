package discord

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tocsin/tocsin/bot"
	"github.com/tocsin/tocsin/internal/fakediscord"
)

// restCall is one request to restFake.
type restCall struct {
	Method, Path, Auth string
	Body               map[string]any
}

// restFake is Discord's REST API on 127.0.0.1 as far as the adapter uses
// it: it records every request and answers 200 with a message, or status
// when set.
type restFake struct {
	srv    *httptest.Server
	calls  chan restCall
	status int
}

func newRESTFake(t *testing.T) *restFake {
	t.Helper()
	f := &restFake{calls: make(chan restCall, 16)}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := restCall{Method: r.Method, Path: r.URL.EscapedPath(), Auth: r.Header.Get("Authorization")}
		raw, _ := io.ReadAll(r.Body)
		if len(raw) > 0 {
			if err := json.Unmarshal(raw, &c.Body); err != nil {
				// A bulk overwrite's body is an array.
				c.Body = map[string]any{"array": json.RawMessage(raw)}
			}
		}
		f.calls <- c
		if f.status != 0 {
			w.WriteHeader(f.status)
			_, _ = io.WriteString(w, `{"message": "Unknown Webhook", "code": 10015}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if strings.HasSuffix(r.URL.Path, "/commands") {
			_, _ = w.Write(raw)
			return
		}
		_, _ = io.WriteString(w, `{"id": "8001", "channel_id": "3000", "content": "x"}`)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// wait returns the next call, failing the test after 5 s.
func (f *restFake) wait(t *testing.T) restCall {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	select {
	case c := <-f.calls:
		return c
	case <-ctx.Done():
		t.Fatal("no call reached the REST API")
		return restCall{}
	}
}

// none fails the test if a call arrives within d.
func (f *restFake) none(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case c := <-f.calls:
		t.Fatalf("unexpected call %s %s %v", c.Method, c.Path, c.Body)
	case <-time.After(d):
	}
}

// signer signs requests as Discord does, with a key of its own.
type signer struct {
	pub  ed25519.PublicKey
	priv ed25519.PrivateKey
}

func newSigner(t *testing.T) signer {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return signer{pub, priv}
}

func (s signer) hex() string { return hex.EncodeToString(s.pub) }

// request is a POST of body to the interactions endpoint, signed at ts.
func (s signer) request(body []byte, ts time.Time) *http.Request {
	stamp := strconv.FormatInt(ts.Unix(), 10)
	sig := ed25519.Sign(s.priv, append([]byte(stamp), body...))
	r := httptest.NewRequest(http.MethodPost, "/discord/interactions", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("X-Signature-Ed25519", hex.EncodeToString(sig))
	r.Header.Set("X-Signature-Timestamp", stamp)
	return r
}

// clockAt is a fixed clock.
func clockAt(t time.Time) func() time.Time { return func() time.Time { return t } }

var testNow = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// httpFixture is NewHTTP with a recorder, a signer and a REST fake.
type httpFixture struct {
	h    http.Handler
	rec  *recorder
	sign signer
	rest *restFake
}

func newHTTPFixture(t *testing.T, respond func(bot.Command) bot.Response, roles ...string) *httpFixture {
	t.Helper()
	f := &httpFixture{rec: newRecorder(respond), sign: newSigner(t), rest: newRESTFake(t)}
	h, err := NewHTTP(Options{
		Handler: f.rec, PublicKey: f.sign.hex(), ApplicationID: testApp,
		APIURL: f.rest.srv.URL, AckRoles: roles, Now: clockAt(testNow),
	})
	if err != nil {
		t.Fatal(err)
	}
	f.h = h
	return f
}

// do sends body signed now and returns the response's status and body.
func (f *httpFixture) do(body []byte) (int, string) {
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, f.sign.request(body, testNow))
	return w.Code, w.Body.String()
}

func TestNewHTTPRefusesBadOptions(t *testing.T) {
	key := newSigner(t).hex()
	tests := []struct {
		name string
		opts Options
	}{
		{"no handler", Options{PublicKey: key}},
		{"no key", Options{Handler: newRecorder(nil)}},
		{"key not hex", Options{Handler: newRecorder(nil), PublicKey: "zz" + key[2:]}},
		{"key too short", Options{Handler: newRecorder(nil), PublicKey: key[:62]}},
		{"bad api_url", Options{Handler: newRecorder(nil), PublicKey: key, APIURL: "discord.local"}},
	}
	for _, tt := range tests {
		if _, err := NewHTTP(tt.opts); err == nil {
			t.Errorf("%s: NewHTTP accepted", tt.name)
		}
	}
}

func TestHTTPVerification(t *testing.T) {
	body := interactionJSON(2, commandData("status"), alice)
	other := newSigner(t)
	tests := []struct {
		name   string
		req    func(s signer) *http.Request
		status int
	}{
		{name: "valid", status: http.StatusOK,
			req: func(s signer) *http.Request { return s.request(body, testNow) }},
		{name: "signed 4m59s ago", status: http.StatusOK,
			req: func(s signer) *http.Request { return s.request(body, testNow.Add(-299*time.Second)) }},
		{name: "signed 4m59s ahead", status: http.StatusOK,
			req: func(s signer) *http.Request { return s.request(body, testNow.Add(299*time.Second)) }},
		{name: "forged signature", status: http.StatusUnauthorized,
			req: func(s signer) *http.Request {
				r := s.request(body, testNow)
				sig, _ := hex.DecodeString(r.Header.Get("X-Signature-Ed25519"))
				sig[10] ^= 1
				r.Header.Set("X-Signature-Ed25519", hex.EncodeToString(sig))
				return r
			}},
		{name: "signature not hex", status: http.StatusUnauthorized,
			req: func(s signer) *http.Request {
				r := s.request(body, testNow)
				r.Header.Set("X-Signature-Ed25519", "zz")
				return r
			}},
		{name: "wrong key", status: http.StatusUnauthorized,
			req: func(signer) *http.Request { return other.request(body, testNow) }},
		{name: "body changed", status: http.StatusUnauthorized,
			req: func(s signer) *http.Request {
				r := s.request(body, testNow)
				changed := bytes.Replace(body, []byte(`"status"`), []byte(`"ack"`), 1)
				r.Body = io.NopCloser(bytes.NewReader(changed))
				return r
			}},
		{name: "timestamp changed", status: http.StatusUnauthorized,
			req: func(s signer) *http.Request {
				r := s.request(body, testNow)
				r.Header.Set("X-Signature-Timestamp", strconv.FormatInt(testNow.Unix()+1, 10))
				return r
			}},
		{name: "no signature", status: http.StatusUnauthorized,
			req: func(s signer) *http.Request {
				r := s.request(body, testNow)
				r.Header.Del("X-Signature-Ed25519")
				return r
			}},
		{name: "no timestamp", status: http.StatusUnauthorized,
			req: func(s signer) *http.Request {
				r := s.request(body, testNow)
				r.Header.Del("X-Signature-Timestamp")
				return r
			}},
		{name: "no headers", status: http.StatusUnauthorized,
			req: func(s signer) *http.Request {
				r := s.request(body, testNow)
				r.Header.Del("X-Signature-Ed25519")
				r.Header.Del("X-Signature-Timestamp")
				return r
			}},
		{name: "timestamp not a number", status: http.StatusUnauthorized,
			req: func(s signer) *http.Request {
				// Signed as it is, so only the freshness check can refuse it.
				r := s.request(body, testNow)
				stamp := testNow.Format(time.RFC3339)
				sig := ed25519.Sign(s.priv, append([]byte(stamp), body...))
				r.Header.Set("X-Signature-Timestamp", stamp)
				r.Header.Set("X-Signature-Ed25519", hex.EncodeToString(sig))
				return r
			}},
		{name: "stale", status: http.StatusUnauthorized,
			req: func(s signer) *http.Request { return s.request(body, testNow.Add(-5*time.Minute-time.Second)) }},
		{name: "an hour old", status: http.StatusUnauthorized,
			req: func(s signer) *http.Request { return s.request(body, testNow.Add(-time.Hour)) }},
		{name: "future", status: http.StatusUnauthorized,
			req: func(s signer) *http.Request { return s.request(body, testNow.Add(5*time.Minute+time.Second)) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newHTTPFixture(t, reply("2 targets up"))
			w := httptest.NewRecorder()
			f.h.ServeHTTP(w, tt.req(f.sign))
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d (%s)", w.Code, tt.status, w.Body)
			}
			n := len(f.rec.commands())
			if tt.status == http.StatusOK && n != 1 {
				t.Errorf("handler called %d times, want once", n)
			}
			if tt.status != http.StatusOK && n != 0 {
				t.Errorf("handler called for a refused request: %+v", f.rec.commands())
			}
		})
	}
}

func TestHTTPRequests(t *testing.T) {
	tests := []struct {
		name     string
		body     []byte
		method   string
		status   int
		wantBody string // JSON, when not ""
	}{
		{name: "PING is answered PONG", body: []byte(`{"id":"1","application_id":"1000","type":1,"token":"t","version":1}`),
			status: http.StatusOK, wantBody: `{"type":1}`},
		{name: "a command's reply", body: interactionJSON(2, commandData("status"), alice), status: http.StatusOK,
			wantBody: `{"type":4,"data":{"tts":false,"content":"2 targets up","components":null,"embeds":null,"allowed_mentions":{"parse":[],"replied_user":false}}}`},
		{name: "GET", method: http.MethodGet, body: []byte(`{}`), status: http.StatusMethodNotAllowed},
		{name: "too large", body: bytes.Repeat([]byte(" "), maxBody+1), status: http.StatusRequestEntityTooLarge},
		{name: "not JSON", body: []byte(`{"type":`), status: http.StatusBadRequest},
		{name: "a modal submit", body: []byte(`{"id":"1","type":5,"data":{"custom_id":"x","components":[]},"token":"t"}`),
			status: http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newHTTPFixture(t, reply("2 targets up"))
			r := f.sign.request(tt.body, testNow)
			if tt.method != "" {
				r.Method = tt.method
			}
			w := httptest.NewRecorder()
			f.h.ServeHTTP(w, r)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d (%s)", w.Code, tt.status, w.Body)
			}
			if tt.wantBody == "" {
				return
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			if got := strings.TrimSpace(w.Body.String()); got != tt.wantBody {
				t.Errorf("body\n got %s\nwant %s", got, tt.wantBody)
			}
		})
	}
}

func TestHTTPEphemeralReply(t *testing.T) {
	f := newHTTPFixture(t, func(bot.Command) bot.Response {
		return bot.Response{Now: bot.Reply{Text: "you are not allowed to ack", Ephemeral: true}}
	}, roleOnCall)
	status, body := f.do(interactionJSON(2, commandData("ack", opt{name: "target", value: "db"}), bob))
	if status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	var resp struct {
		Type int
		Data struct {
			Content string
			Flags   int
		}
	}
	if err := json.Unmarshal([]byte(body), &resp); err != nil {
		t.Fatal(err)
	}
	if resp.Type != 4 || resp.Data.Flags != 64 || resp.Data.Content != "you are not allowed to ack" {
		t.Errorf("response %s", body)
	}
	if cmd := f.rec.wait(t); cmd.Allowed {
		t.Errorf("a member without the ack role was allowed: %+v", cmd)
	}
}

func TestHTTPDeferred(t *testing.T) {
	tests := []struct {
		name      string
		now       bot.Reply
		later     bot.Reply
		wantResp  string
		wantCall  string // METHOD path
		wantBody  map[string]any
		wantEmpty bool
	}{
		{name: "ping", now: bot.Reply{Text: "Pinging web-1 (3 echoes)…"},
			later: bot.Reply{Text: "web-1 answered 3 of 3", Block: "64 bytes from 127.0.0.1"}, wantResp: `{"type":5}`,
			wantCall: "PATCH /api/v9/webhooks/" + testApp + "/itoken-secret/messages/@original",
			wantBody: map[string]any{
				"content":          "web-1 answered 3 of 3\n```\n64 bytes from 127.0.0.1\n```",
				"allowed_mentions": map[string]any{"parse": []any{}, "replied_user": false},
			}},
		{name: "ephemeral", now: bot.Reply{Text: "Pinging…", Ephemeral: true}, later: bot.Reply{Text: "done"},
			wantResp: `{"type":5,"data":{"tts":false,"content":"","components":null,"embeds":null,"flags":64}}`,
			wantCall: "PATCH /api/v9/webhooks/" + testApp + "/itoken-secret/messages/@original",
			wantBody: map[string]any{
				"content":          "done",
				"allowed_mentions": map[string]any{"parse": []any{}, "replied_user": false},
			}},
		{name: "an empty reply deletes the deferred message", now: bot.Reply{Text: "Pinging…"}, later: bot.Reply{},
			wantResp: `{"type":5}`,
			wantCall: "DELETE /api/v9/webhooks/" + testApp + "/itoken-secret/messages/@original", wantEmpty: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			release := make(chan struct{})
			f := newHTTPFixture(t, func(bot.Command) bot.Response {
				return bot.Response{Now: tt.now, Later: func(ctx context.Context) bot.Reply {
					select {
					case <-release:
					case <-ctx.Done():
					}
					return tt.later
				}}
			})
			status, body := f.do(interactionJSON(2, commandData("ping", opt{name: "host", value: "web-1"}), alice))
			if status != http.StatusOK || strings.TrimSpace(body) != tt.wantResp {
				t.Fatalf("response %d %s, want %s", status, body, tt.wantResp)
			}
			// Nothing is edited before Later is done.
			f.rest.none(t, 50*time.Millisecond)
			close(release)
			c := f.rest.wait(t)
			if got := c.Method + " " + c.Path; got != tt.wantCall {
				t.Fatalf("call %s, want %s", got, tt.wantCall)
			}
			if tt.wantEmpty {
				return
			}
			js, _ := json.Marshal(c.Body)
			want, _ := json.Marshal(tt.wantBody)
			if string(js) != string(want) {
				t.Errorf("body\n got %s\nwant %s", js, want)
			}
		})
	}
}

func TestHTTPButton(t *testing.T) {
	tests := []struct {
		name       string
		customID   string
		answer     bot.Reply
		wantCmd    bool
		wantAll    bool   // the command's All
		wantFollow string // the follow-up's content, "" for none
	}{
		{name: "ack done: nothing posted, the notifier edits the alert", customID: "tocsin_ack:42",
			answer: bot.Reply{Text: "al acknowledged db"}, wantCmd: true},
		{name: "refusal as an ephemeral follow-up", customID: "tocsin_ack:42",
			answer: bot.Reply{Text: "db is already acknowledged by bob", Ephemeral: true}, wantCmd: true,
			wantFollow: "db is already acknowledged by bob"},
		{name: "another button is ignored", customID: "other:1"},
		{name: "a bad incident id is ignored", customID: "tocsin_ack:-1"},
		{name: "ack all done: nothing posted", customID: "tocsin_ackall:42", wantAll: true,
			answer: bot.Reply{Text: "al acknowledged 3 targets (router's group)"}, wantCmd: true},
		{name: "ack all refused: an ephemeral follow-up", customID: "tocsin_ackall:42", wantAll: true,
			answer: bot.Reply{Text: "that alert's outage is over", Ephemeral: true}, wantCmd: true,
			wantFollow: "that alert's outage is over"},
		{name: "ack all with a bad leader id is ignored", customID: "tocsin_ackall:abc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newHTTPFixture(t, func(bot.Command) bot.Response { return bot.Response{Now: tt.answer} })
			status, body := f.do(interactionJSON(3, buttonData(tt.customID), alice))
			if status != http.StatusOK || strings.TrimSpace(body) != `{"type":6}` {
				t.Fatalf("response %d %s, want {\"type\":6}", status, body)
			}
			if !tt.wantCmd {
				f.rest.none(t, 100*time.Millisecond)
				if cmds := f.rec.commands(); len(cmds) != 0 {
					t.Errorf("handler called: %+v", cmds)
				}
				return
			}
			cmd := f.rec.wait(t)
			if cmd.Name != "ack" || cmd.Incident != 42 || cmd.All != tt.wantAll || cmd.User.ID != alice.id || !cmd.Allowed {
				t.Errorf("command %+v", cmd)
			}
			if tt.wantFollow == "" {
				f.rest.none(t, 100*time.Millisecond)
				return
			}
			c := f.rest.wait(t)
			if c.Method != http.MethodPost || c.Path != "/api/v9/webhooks/"+testApp+"/itoken-secret" {
				t.Fatalf("call %s %s, want a follow-up", c.Method, c.Path)
			}
			if c.Body["content"] != tt.wantFollow || c.Body["flags"] != float64(64) {
				t.Errorf("follow-up %v", c.Body)
			}
			if am, _ := c.Body["allowed_mentions"].(map[string]any); am == nil || len(am["parse"].([]any)) != 0 {
				t.Errorf("follow-up may mention: %v", c.Body["allowed_mentions"])
			}
		})
	}
}

func TestRegister(t *testing.T) {
	tests := []struct {
		name     string
		guild    string
		wantPath string
	}{
		{"guild", testGuild, "/api/v9/applications/" + testApp + "/guilds/" + testGuild + "/commands"},
		{"global", "", "/api/v9/applications/" + testApp + "/commands"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rest := newRESTFake(t)
			err := Register(t.Context(), Options{Token: "bot-token", ApplicationID: testApp, GuildID: tt.guild, APIURL: rest.srv.URL})
			if err != nil {
				t.Fatal(err)
			}
			c := rest.wait(t)
			if c.Method != http.MethodPut || c.Path != tt.wantPath || c.Auth != "Bot bot-token" {
				t.Fatalf("call %s %s (auth %q)", c.Method, c.Path, c.Auth)
			}
			var cmds []struct{ Name string }
			if err := json.Unmarshal(c.Body["array"].(json.RawMessage), &cmds); err != nil || len(cmds) != 8 {
				t.Errorf("registered %+v (%v), want 8 commands", cmds, err)
			}
		})
	}

	rest := newRESTFake(t)
	rest.status = http.StatusUnauthorized
	err := Register(t.Context(), Options{Token: "bot-token", ApplicationID: testApp, GuildID: testGuild, APIURL: rest.srv.URL})
	if err == nil || strings.Contains(err.Error(), "bot-token") || !strings.Contains(err.Error(), "401") {
		t.Errorf("Register against a 401: %v", err)
	}
	for _, opts := range []Options{{ApplicationID: testApp}, {Token: "t"}} {
		if err := Register(t.Context(), opts); err == nil {
			t.Errorf("Register(%+v) accepted", opts)
		}
	}
}

// TestHTTPAgainstFakeDiscord runs HTTP mode's REST calls (the edit of
// @original, a follow-up) against the fake Discord, which checks them as
// Discord does.
func TestHTTPAgainstFakeDiscord(t *testing.T) {
	fake := fakediscord.New()
	defer fake.Close()
	sign := newSigner(t)
	rec := newRecorder(gatewayRespond)
	h, err := NewHTTP(Options{Handler: rec, PublicKey: sign.hex(), APIURL: fake.URL(), Now: clockAt(testNow), Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	app := fakediscord.DefaultApplicationID
	send := func(kind int, data map[string]any) (string, string) {
		t.Helper()
		id, token := fake.NewInteraction(kind)
		js, _ := json.Marshal(interactionMap(kind, id, token, app, data, alice))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, sign.request(js, testNow))
		if w.Code != http.StatusOK {
			t.Fatalf("status %d", w.Code)
		}
		return strings.TrimSpace(w.Body.String()), token
	}

	body, token := send(2, commandData("ping", opt{name: "host", value: "web-1"}))
	if body != `{"type":5}` {
		t.Fatalf("response %s", body)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	orig, err := fake.WaitOriginal(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(orig), "web-1 answered 3 of 3") {
		t.Errorf("@original edited to %s", orig)
	}

	body, token = send(3, buttonData("tocsin_ack:7"))
	if body != `{"type":6}` {
		t.Fatalf("response %s", body)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(fake.Followups(token)) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if f := fake.Followups(token); len(f) != 1 || f[0].Content != "that incident of db is over" {
		t.Errorf("follow-ups %+v", f)
	}
}
