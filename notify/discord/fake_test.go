package discord

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// Secrets of every test notifier.
const (
	testToken        = "MTAxODY1.SeCrEt.BoTtOkEn"
	testWebhookID    = "1234567890"
	testWebhookToken = "wh-SeCrEt-HoOk"
	testChannel      = "111111111111111111"
)

// fakeDiscord speaks the part of Discord's REST API (v9) the notifier
// uses: create and edit a channel message, and execute a webhook, with
// Discord's JSON answers and error bodies, nonce deduplication included.
// It serves behind httptest on 127.0.0.1.
type fakeDiscord struct {
	mu   sync.Mutex
	reqs []fakeReq
	msgs []*fakeMsg
	seq  int
	// answer, when set, answers the i-th request (0-based) instead of the
	// fake's own logic, unless it returns a zero fakeAnswer.
	answer func(i int, r fakeReq) fakeAnswer
}

// fakeReq is one request the fake received.
type fakeReq struct {
	Method string
	Path   string
	Query  url.Values
	Auth   string
	Raw    []byte
	Body   map[string]any
}

// fakeAnswer is how the fake answers one request.
type fakeAnswer struct {
	Status int
	Header http.Header
	Body   string
	// Lose: do what the request asks, then drop the connection without an
	// answer (the answer lost on the way).
	Lose bool
	// StatusText, when set, replaces the reason phrase of the status line.
	StatusText string
}

// fakeMsg is a message the fake holds.
type fakeMsg struct {
	ID, ChannelID, Nonce, Reference string
	Webhook                         bool
	Body                            map[string]any
	Edits                           []map[string]any
}

// discordError is Discord's JSON error answer.
func discordError(status, code int, msg string) fakeAnswer {
	return fakeAnswer{Status: status, Body: fmt.Sprintf(`{"message":%q,"code":%d}`, msg, code)}
}

func (f *fakeDiscord) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	req := fakeReq{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Auth: r.Header.Get("Authorization"), Raw: raw}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &req.Body); err != nil {
			http.Error(w, `{"message":"400: Bad Request","code":0}`, http.StatusBadRequest)
			return
		}
	}
	f.mu.Lock()
	f.reqs = append(f.reqs, req)
	i := len(f.reqs) - 1
	f.mu.Unlock()

	var a fakeAnswer
	if f.answer != nil {
		a = f.answer(i, req)
	}
	if a.Status == 0 {
		a.Status, a.Body = f.serve(req)
	}
	if a.Lose {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
		return
	}
	if a.StatusText != "" {
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		fmt.Fprintf(buf, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
			a.Status, a.StatusText, len(a.Body), a.Body)
		_ = buf.Flush()
		return
	}
	for k, vs := range a.Header {
		w.Header()[k] = vs
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(a.Status)
	_, _ = io.WriteString(w, a.Body)
}

// serve is the fake's own logic: status and body.
func (f *fakeDiscord) serve(req fakeReq) (int, string) {
	parts := strings.Split(strings.Trim(req.Path, "/"), "/")
	switch {
	case len(parts) == 5 && parts[0] == "api" && parts[2] == "channels" && parts[4] == "messages" && req.Method == "POST":
		if req.Auth != "Bot "+testToken {
			return 401, `{"message":"401: Unauthorized","code":0}`
		}
		return f.create(parts[3], req, false)
	case len(parts) == 6 && parts[2] == "channels" && parts[4] == "messages" && req.Method == "PATCH":
		if req.Auth != "Bot "+testToken {
			return 401, `{"message":"401: Unauthorized","code":0}`
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, m := range f.msgs {
			if m.ID == parts[5] && m.ChannelID == parts[3] {
				if m.Webhook {
					return 403, `{"message":"Cannot edit a message authored by another user","code":50005}`
				}
				m.Edits = append(m.Edits, req.Body)
				return 200, f.render(m)
			}
		}
		return 404, `{"message":"Unknown Message","code":10008}`
	case len(parts) == 4 && parts[0] == "api" && parts[1] == "webhooks" && req.Method == "POST":
		if parts[2] != testWebhookID || parts[3] != testWebhookToken {
			return 404, `{"message":"Unknown Webhook","code":10015}`
		}
		status, body := f.create("222222222222222222", req, true)
		if req.Query.Get("wait") != "true" {
			return 204, ""
		}
		return status, body
	}
	return 404, `{"message":"404: Not Found","code":0}`
}

// create makes a message in channel ch, or returns the one already made
// with the same nonce when the request enforces it.
func (f *fakeDiscord) create(ch string, req fakeReq, webhook bool) (int, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	nonce, _ := req.Body["nonce"].(string)
	if len(nonce) > 25 {
		return 400, `{"message":"Invalid Form Body","code":50035,"errors":{"nonce":{}}}`
	}
	if enforce, _ := req.Body["enforce_nonce"].(bool); enforce && nonce != "" {
		for _, m := range f.msgs {
			if m.Nonce == nonce && m.ChannelID == ch {
				return 200, f.render(m)
			}
		}
	}
	f.seq++
	m := &fakeMsg{ID: fmt.Sprintf("90000000000000%04d", f.seq), ChannelID: ch, Nonce: nonce, Webhook: webhook, Body: req.Body}
	if ref, ok := req.Body["message_reference"].(map[string]any); ok {
		m.Reference, _ = ref["message_id"].(string)
	}
	f.msgs = append(f.msgs, m)
	return 200, f.render(m)
}

// render is the message JSON Discord answers with.
func (f *fakeDiscord) render(m *fakeMsg) string {
	b, _ := json.Marshal(map[string]any{"id": m.ID, "channel_id": m.ChannelID, "nonce": m.Nonce, "type": 0})
	return string(b)
}

// text is r's body as JSON without HTML escapes (< not \u003c), to look
// for strings in.
func (r fakeReq) text() string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(r.Body)
	return b.String()
}

// requests returns a copy of the requests received so far.
func (f *fakeDiscord) requests() []fakeReq {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeReq(nil), f.reqs...)
}

// messages returns a copy of the messages made so far.
func (f *fakeDiscord) messages() []fakeMsg {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []fakeMsg
	for _, m := range f.msgs {
		out = append(out, *m)
	}
	return out
}

// newFake starts f on 127.0.0.1 and returns its base URL.
func newFake(t *testing.T, f *fakeDiscord) string {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return srv.URL
}

// newTestNotifier returns a bot Notifier on testChannel talking to a new
// fake through APIURL, logging into the returned buffer (JSON, debug).
func newTestNotifier(t *testing.T, f *fakeDiscord, edit ...func(*Config)) (*Notifier, *syncBuffer) {
	t.Helper()
	base := newFake(t, f)
	logs := &syncBuffer{}
	cfg := Config{
		Token:     testToken,
		ChannelID: testChannel,
		APIURL:    base,
		Logger:    slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, e := range edit {
		e(&cfg)
	}
	n, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return n, logs
}

// webhookMode turns a test config into webhook mode: the webhook URL on
// discord.com, sent to the fake through APIURL.
func webhookMode(c *Config) {
	c.Token, c.ChannelID = "", ""
	c.WebhookURL = "https://discord.com/api/webhooks/" + testWebhookID + "/" + testWebhookToken
}

// syncBuffer is a bytes.Buffer safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
