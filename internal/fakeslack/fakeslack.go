// Package fakeslack is a fake Slack for tocsin's tests. It serves the Web API
// methods tocsin uses (auth.test, chat.postMessage, chat.update,
// chat.postEphemeral, apps.connections.open), records every POST to the
// response_urls it hands out, and runs Socket Mode websockets, all on
// 127.0.0.1 and in Slack's own wire formats, so the unmodified slack-go
// client and its socketmode package work against it:
//
//	fake := fakeslack.New()
//	defer fake.Close()
//	api := slack.New("xoxb-test", slack.OptionAppLevelToken("xapp-test"),
//		slack.OptionAPIURL(fake.APIURL()))
//
// Tests inspect what tocsin did (Calls, Messages, ResponsePosts), make Slack
// misbehave (Script, SetDown, DropConnections) and play the user
// (SendSlashCommand, SendInteraction, WaitAck).
//
// The package must only be imported by tests.
package fakeslack

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// The identities the fake answers with (auth.test, posted messages, hello,
// slash command payloads).
const (
	// TeamID is the workspace's id.
	TeamID = "T0TOCSIN"
	// TeamDomain is the workspace's domain (and auth.test's team name).
	TeamDomain = "tocsin-test"
	// BotUserID is the user id of the bot that owns the xoxb- token.
	BotUserID = "U0TOCSINBOT"
	// BotUserName is that bot user's name.
	BotUserName = "tocsin"
	// BotID is the bot's id (bot_id on its messages).
	BotID = "B0TOCSINBOT"
	// AppID is the app's id (Socket Mode hello, api_app_id).
	AppID = "A0TOCSIN"
)

// DefaultPingInterval is how often the fake sends a websocket ping on every
// Socket Mode connection unless SetPingInterval says otherwise. slack-go's
// socketmode client reconnects when it has seen no ping for its
// maxPingInterval (30 s by default, OptionPingInterval), checked on a ticker
// of that period, so pings must come more often than that.
const DefaultPingInterval = 5 * time.Second

// errClosed is returned by waits and sends once the server is closed.
var errClosed = errors.New("fakeslack: server closed")

// Answer is a scripted answer to one Web API call (see Server.Script).
// The zero Answer (and one with Status 200 and no Error) lets the call be
// handled normally; it still uses up its place in the queue.
type Answer struct {
	Status     int    // HTTP status to answer (429, 500, ...); 0 = 200
	RetryAfter int    // seconds, sent as Retry-After header (always with Status 429)
	Error      string // with Status 0/200: answer {"ok":false,"error":Error} (e.g. "channel_not_found", "invalid_auth")
}

// Call is one Web API call the fake received.
type Call struct {
	Method string     // "chat.postMessage"
	Token  string     // the bearer token (or token form field) the client sent
	Form   url.Values // the request's parameters, form-encoded or JSON (top-level JSON fields flattened to strings; nested JSON kept as its JSON text)
	Status int        // HTTP status answered
	OK     bool       // whether the answer was ok:true
	Time   time.Time  // when the call arrived
}

// Message is the current state of one message the fake stores.
type Message struct {
	Channel, TS, ThreadTS string // ThreadTS "" for top-level
	Text                  string
	Blocks                json.RawMessage // as last posted/updated; nil when none (an empty array removes them)
	Attachments           json.RawMessage // likewise
	Updates               int             // how many chat.update calls changed it
	User                  string          // chat.postEphemeral only: the user who sees it
	Ephemeral             bool            // posted with chat.postEphemeral (listed by Ephemerals, never by Messages)
}

// ResponsePost is one POST to a response_url handed out by the fake.
type ResponsePost struct {
	URL  string
	Body map[string]any // decoded JSON body (text, response_type, replace_original, blocks, ...); nil if it was not a JSON object
	Raw  []byte         // the body as received
	Time time.Time      // when it arrived
}

// Server is a fake Slack: Web API, response_urls and Socket Mode on one
// loopback HTTP server. All its methods are safe for concurrent use.
type Server struct {
	srv      *httptest.Server
	upgrader websocket.Upgrader
	done     chan struct{} // closed by Close
	wg       sync.WaitGroup

	mu            sync.Mutex
	changed       chan struct{} // closed and replaced on every change, wakes waiters
	closed        bool
	down          bool
	scripts       map[string][]Answer
	calls         []Call
	messages      []*Message // every channel, in post order
	ephemerals    []*Message
	lastTS        int64 // microseconds of the last ts handed out
	responseSeq   int
	responseURLs  map[string]bool // path → handed out
	responsePosts []ResponsePost
	pingInterval  time.Duration
	tickets       map[string]bool // Socket Mode tickets not yet used
	live          []*sockConn     // open Socket Mode connections, oldest first
	connections   int             // Socket Mode connections opened in all
	sent          map[string]bool // envelope ids sent
	acks          map[string]json.RawMessage
}

// New starts a fake Slack on 127.0.0.1 (a random port). Close it when done.
func New() *Server {
	s := &Server{
		done:         make(chan struct{}),
		changed:      make(chan struct{}),
		scripts:      map[string][]Answer{},
		responseURLs: map[string]bool{},
		pingInterval: DefaultPingInterval,
		tickets:      map[string]bool{},
		sent:         map[string]bool{},
		acks:         map[string]json.RawMessage{},
	}
	// slack-go dials with Origin: https://api.slack.com; Slack takes it.
	s.upgrader.CheckOrigin = func(*http.Request) bool { return true }
	mux := http.NewServeMux()
	mux.HandleFunc("/api/", s.serveAPI)
	mux.HandleFunc("/commands/", s.serveResponseURL)
	mux.HandleFunc("/link/", s.serveSocket)
	s.srv = httptest.NewServer(mux)
	return s
}

// Close closes every Socket Mode connection, stops the server and waits for
// the fake's goroutines to end. Waits in progress return an error.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	conns := s.live
	s.live = nil
	close(s.done)
	s.notifyLocked()
	s.mu.Unlock()
	for _, c := range conns {
		c.close()
	}
	s.srv.Close()
	s.wg.Wait()
}

// URL returns the server's base URL, "http://127.0.0.1:PORT".
func (s *Server) URL() string { return s.srv.URL }

// APIURL returns the Web API base URL, ending in "/api/", for
// slack.OptionAPIURL.
func (s *Server) APIURL() string { return s.srv.URL + "/api/" }

// ResponseURL returns a fresh, unique response_url under the fake, shaped like
// Slack's (…/commands/TEAM/ID/SECRET). POSTs to it are recorded (see
// ResponsePosts) and answered {"ok":true}; a POST to a URL never handed out
// gets 404.
func (s *Server) ResponseURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.responseURLLocked()
}

func (s *Server) responseURLLocked() string {
	s.responseSeq++
	path := fmt.Sprintf("/commands/%s/%d/%s", TeamID, 1000+s.responseSeq, randomHex(12))
	s.responseURLs[path] = true
	return s.srv.URL + path
}

// Calls returns every Web API call so far, in order (copies).
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Call, len(s.calls))
	for i, c := range s.calls {
		c.Form = cloneValues(c.Form)
		out[i] = c
	}
	return out
}

// Messages returns the current state of every message in channel, top level
// and thread replies, in post order (copies). Ephemeral messages are not
// among them (see Ephemerals).
func (s *Server) Messages(channel string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return copyMessages(s.messages, channel)
}

// Ephemerals returns every chat.postEphemeral message in channel, in post
// order (copies).
func (s *Server) Ephemerals(channel string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return copyMessages(s.ephemerals, channel)
}

// MessageAt returns the current state of the message with timestamp ts in
// channel, and whether there is one.
func (s *Server) MessageAt(channel, ts string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.findLocked(channel, ts); m != nil {
		return m.clone(), true
	}
	return Message{}, false
}

// ResponsePosts returns every POST to a response_url, in order (copies).
func (s *Server) ResponsePosts() []ResponsePost {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]ResponsePost, len(s.responsePosts))
	for i, p := range s.responsePosts {
		out[i] = ResponsePost{URL: p.URL, Body: decodeObject(p.Raw), Raw: bytes.Clone(p.Raw), Time: p.Time}
	}
	return out
}

// Script queues answers for the next calls of method ("chat.postMessage"),
// consumed one a call in order; when they are used up normal behaviour
// resumes. Scripted answers apply before anything else (the token is not
// checked) except SetDown, which leaves the queue alone.
func (s *Server) Script(method string, answers ...Answer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scripts[method] = append(s.scripts[method], answers...)
}

// SetDown makes every Web API method answer HTTP 500 while down is true. The
// calls are recorded, with no side effects. Socket Mode connections and
// response_urls are not affected.
func (s *Server) SetDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
}

// WaitCalls waits until at least n successful (ok:true) calls of method were
// made, or ctx ends, or the server is closed.
func (s *Server) WaitCalls(ctx context.Context, method string, n int) error {
	seen := 0
	err := s.waitFor(ctx, func() bool {
		seen = 0
		for _, c := range s.calls {
			if c.Method == method && c.OK {
				seen++
			}
		}
		return seen >= n
	})
	if err != nil {
		return fmt.Errorf("fakeslack: waiting for %d ok %s calls, saw %d: %w", n, method, seen, err)
	}
	return nil
}

// WaitResponsePosts waits until at least n POSTs to response_urls were
// received, or ctx ends, or the server is closed.
func (s *Server) WaitResponsePosts(ctx context.Context, n int) error {
	seen := 0
	err := s.waitFor(ctx, func() bool {
		seen = len(s.responsePosts)
		return seen >= n
	})
	if err != nil {
		return fmt.Errorf("fakeslack: waiting for %d response_url posts, saw %d: %w", n, seen, err)
	}
	return nil
}

// waitFor calls cond with s.mu held until it reports true, ctx ends or the
// server is closed.
func (s *Server) waitFor(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		ok := cond()
		changed, closed := s.changed, s.closed
		s.mu.Unlock()
		switch {
		case ok:
			return nil
		case closed:
			return errClosed
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-changed:
		}
	}
}

// notifyLocked wakes every waiter; s.mu must be held.
func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// reply is an answer to a Web API call, built with s.mu held and written
// after it is released.
type reply struct {
	status     int
	retryAfter string
	body       any    // JSON-encoded when text is ""
	text       string // a non-JSON body (5xx)
	ok         bool
}

func okReply(fields map[string]any) reply {
	fields["ok"] = true
	return reply{status: http.StatusOK, body: fields, ok: true}
}

func errReply(code string) reply {
	return reply{status: http.StatusOK, body: map[string]any{"ok": false, "error": code}}
}

func (r reply) write(w http.ResponseWriter) {
	if r.retryAfter != "" {
		w.Header().Set("Retry-After", r.retryAfter)
	}
	if r.text != "" {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(r.status)
		_, _ = io.WriteString(w, r.text)
		return
	}
	data, err := json.Marshal(r.body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(r.status)
	_, _ = w.Write(data)
}

// serveAPI handles /api/METHOD.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	method := strings.TrimPrefix(r.URL.Path, "/api/")
	form, token, parseErr := readParams(r)

	s.mu.Lock()
	rep := s.answerLocked(method, form, token, parseErr)
	s.calls = append(s.calls, Call{
		Method: method,
		Token:  token,
		Form:   cloneValues(form),
		Status: rep.status,
		OK:     rep.ok,
		Time:   now,
	})
	s.notifyLocked()
	s.mu.Unlock()

	rep.write(w)
}

// answerLocked decides the answer to one call and applies its side effects;
// s.mu must be held.
func (s *Server) answerLocked(method string, form url.Values, token, parseErr string) reply {
	if s.down {
		return reply{status: http.StatusInternalServerError, text: "<html><body>fakeslack is down</body></html>"}
	}
	if q := s.scripts[method]; len(q) > 0 {
		a := q[0]
		if len(q) == 1 {
			delete(s.scripts, method)
		} else {
			s.scripts[method] = q[1:]
		}
		if rep, scripted := scriptedReply(a); scripted {
			return rep
		}
	}
	if parseErr != "" {
		return errReply(parseErr)
	}
	switch {
	case token == "":
		return errReply("not_authed")
	case !strings.HasPrefix(token, "xoxb-") && !strings.HasPrefix(token, "xapp-"):
		return errReply("invalid_auth")
	case method == "apps.connections.open" && !strings.HasPrefix(token, "xapp-"):
		return errReply("invalid_auth")
	case method != "apps.connections.open" && method != "auth.test" && strings.HasPrefix(token, "xapp-"):
		return errReply("not_allowed_token_type")
	}
	switch method {
	case "auth.test":
		return okReply(map[string]any{
			"url":     "https://" + TeamDomain + ".slack.com/",
			"team":    TeamDomain,
			"user":    BotUserName,
			"team_id": TeamID,
			"user_id": BotUserID,
			"bot_id":  BotID,

			"is_enterprise_install": false,
		})
	case "chat.postMessage":
		return s.postMessageLocked(form)
	case "chat.update":
		return s.updateLocked(form)
	case "chat.postEphemeral":
		return s.postEphemeralLocked(form)
	case "apps.connections.open":
		ticket := randomHex(16)
		s.tickets[ticket] = true
		u := "ws" + strings.TrimPrefix(s.srv.URL, "http") + "/link/?ticket=" + ticket + "&app_id=" + AppID
		return okReply(map[string]any{"url": u})
	default:
		return errReply("unknown_method")
	}
}

// scriptedReply turns a scripted Answer into a reply; scripted is false when
// the call is to be handled normally.
func scriptedReply(a Answer) (rep reply, scripted bool) {
	status := a.Status
	if status == 0 {
		status = http.StatusOK
	}
	if status == http.StatusOK {
		if a.Error == "" {
			return reply{}, false
		}
		return errReply(a.Error), true
	}
	rep = reply{status: status}
	if status == http.StatusTooManyRequests || a.RetryAfter > 0 {
		rep.retryAfter = strconv.Itoa(a.RetryAfter)
	}
	switch {
	case a.Error != "":
		rep.body = map[string]any{"ok": false, "error": a.Error}
	case status == http.StatusTooManyRequests:
		rep.body = map[string]any{"ok": false, "error": "ratelimited"}
	default:
		rep.text = fmt.Sprintf("<html><body>%d %s</body></html>", status, http.StatusText(status))
	}
	return rep, true
}

// content is the text, blocks and attachments of a chat.* call, and which of
// them were sent.
type content struct {
	text                            string
	blocks, attachments             json.RawMessage
	hasText, hasBlocks, hasAttached bool
}

// readContent reads a chat.* call's content; code is an error code when
// blocks or attachments are not JSON arrays.
func readContent(form url.Values) (c content, code string) {
	if _, c.hasText = form["text"]; c.hasText {
		c.text = form.Get("text")
	}
	var ok bool
	if c.blocks, c.hasBlocks, ok = jsonArray(form, "blocks"); !ok {
		return c, "invalid_blocks"
	}
	if c.attachments, c.hasAttached, ok = jsonArray(form, "attachments"); !ok {
		return c, "invalid_attachments"
	}
	return c, ""
}

func (c content) empty() bool {
	return c.text == "" && c.blocks == nil && c.attachments == nil
}

// jsonArray reads the form field key as a JSON array: raw is nil when it is
// absent or empty ("[]"), present says whether the field was sent, ok is
// false when it is not a JSON array.
func jsonArray(form url.Values, key string) (raw json.RawMessage, present, ok bool) {
	vs, present := form[key]
	if !present || strings.TrimSpace(vs[0]) == "" {
		return nil, present, true
	}
	var elems []json.RawMessage
	if err := json.Unmarshal([]byte(vs[0]), &elems); err != nil {
		return nil, true, false
	}
	if len(elems) == 0 {
		return nil, true, true
	}
	return json.RawMessage(vs[0]), true, true
}

func (s *Server) postMessageLocked(form url.Values) reply {
	channel := form.Get("channel")
	if channel == "" {
		return errReply("channel_not_found")
	}
	c, code := readContent(form)
	if code != "" {
		return errReply(code)
	}
	if c.empty() {
		return errReply("no_text")
	}
	thread := form.Get("thread_ts")
	if thread != "" {
		parent := s.findLocked(channel, thread)
		if parent == nil {
			return errReply("thread_not_found")
		}
		if parent.ThreadTS != "" {
			thread = parent.ThreadTS
		}
	}
	m := &Message{
		Channel:     channel,
		TS:          s.nextTSLocked(),
		ThreadTS:    thread,
		Text:        c.text,
		Blocks:      c.blocks,
		Attachments: c.attachments,
	}
	s.messages = append(s.messages, m)
	return okReply(map[string]any{"channel": channel, "ts": m.TS, "message": m.wire()})
}

func (s *Server) updateLocked(form url.Values) reply {
	channel, ts := form.Get("channel"), form.Get("ts")
	if channel == "" {
		return errReply("channel_not_found")
	}
	m := s.findLocked(channel, ts)
	if ts == "" || m == nil {
		return errReply("message_not_found")
	}
	c, code := readContent(form)
	if code != "" {
		return errReply(code)
	}
	if !c.hasText && !c.hasBlocks && !c.hasAttached {
		return errReply("no_text")
	}
	if c.hasText {
		m.Text = c.text
	}
	if c.hasBlocks {
		m.Blocks = c.blocks
	}
	if c.hasAttached {
		m.Attachments = c.attachments
	}
	m.Updates++
	return okReply(map[string]any{"channel": channel, "ts": m.TS, "text": m.Text, "message": m.wire()})
}

func (s *Server) postEphemeralLocked(form url.Values) reply {
	channel, user := form.Get("channel"), form.Get("user")
	if channel == "" {
		return errReply("channel_not_found")
	}
	if user == "" {
		return errReply("user_not_found")
	}
	c, code := readContent(form)
	if code != "" {
		return errReply(code)
	}
	if c.empty() {
		return errReply("no_text")
	}
	m := &Message{
		Channel:     channel,
		TS:          s.nextTSLocked(),
		ThreadTS:    form.Get("thread_ts"),
		Text:        c.text,
		Blocks:      c.blocks,
		Attachments: c.attachments,
		User:        user,
		Ephemeral:   true,
	}
	s.ephemerals = append(s.ephemerals, m)
	return okReply(map[string]any{"message_ts": m.TS})
}

// findLocked returns the stored (non-ephemeral) message ts in channel.
func (s *Server) findLocked(channel, ts string) *Message {
	for _, m := range s.messages {
		if m.Channel == channel && m.TS == ts {
			return m
		}
	}
	return nil
}

// nextTSLocked returns a message timestamp ("1733212800.000100") later than
// every one handed out before: the wall clock in microseconds, bumped when
// it has not moved on.
func (s *Server) nextTSLocked() string {
	us := time.Now().UnixMicro()
	if us <= s.lastTS {
		us = s.lastTS + 1
	}
	s.lastTS = us
	return fmt.Sprintf("%d.%06d", us/1e6, us%1e6)
}

// wire is the message object Slack returns with chat.postMessage and
// chat.update.
func (m *Message) wire() map[string]any {
	w := map[string]any{
		"type":    "message",
		"user":    BotUserID,
		"bot_id":  BotID,
		"app_id":  AppID,
		"team":    TeamID,
		"text":    m.Text,
		"ts":      m.TS,
		"channel": m.Channel,
	}
	if m.ThreadTS != "" {
		w["thread_ts"] = m.ThreadTS
	}
	if m.Blocks != nil {
		w["blocks"] = m.Blocks
	}
	if m.Attachments != nil {
		w["attachments"] = m.Attachments
	}
	if m.Updates > 0 {
		w["edited"] = map[string]any{"user": BotUserID, "ts": m.TS}
	}
	return w
}

func (m *Message) clone() Message {
	c := *m
	c.Blocks = bytes.Clone(m.Blocks)
	c.Attachments = bytes.Clone(m.Attachments)
	return c
}

func copyMessages(ms []*Message, channel string) []Message {
	var out []Message
	for _, m := range ms {
		if m.Channel == channel {
			out = append(out, m.clone())
		}
	}
	return out
}

// serveResponseURL records a POST to a response_url.
func (s *Server) serveResponseURL(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 10<<20))
	if err != nil {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	known := s.responseURLs[r.URL.Path]
	if known {
		s.responsePosts = append(s.responsePosts, ResponsePost{
			URL:  s.srv.URL + r.URL.Path,
			Raw:  body,
			Time: time.Now(),
		})
		s.notifyLocked()
	}
	s.mu.Unlock()
	switch {
	case !known:
		http.Error(w, "no_service", http.StatusNotFound)
	case decodeObject(body) == nil:
		http.Error(w, "invalid_payload", http.StatusBadRequest)
	default:
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_, _ = io.WriteString(w, `{"ok":true}`)
	}
}

// readParams reads a Web API request's parameters (query, then a
// form-encoded or JSON body) and its token (Authorization: Bearer, else the
// token parameter). parseErr is a Slack error code when the body is unusable.
func readParams(r *http.Request) (form url.Values, token, parseErr string) {
	form = url.Values{}
	maps.Copy(form, r.URL.Query())
	body, err := io.ReadAll(io.LimitReader(r.Body, 10<<20))
	if err != nil {
		parseErr = "invalid_form_data"
	}
	ctype, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch {
	case err != nil:
	case ctype == "application/json":
		if len(bytes.TrimSpace(body)) == 0 {
			break
		}
		var fields map[string]json.RawMessage
		if json.Unmarshal(body, &fields) != nil {
			parseErr = "invalid_json"
			break
		}
		for k, raw := range fields {
			if v, ok := flatten(raw); ok {
				form.Set(k, v)
			}
		}
	case len(body) > 0:
		vals, err := url.ParseQuery(string(body))
		if err != nil {
			parseErr = "invalid_form_data"
			break
		}
		for k, vs := range vals {
			form[k] = append(form[k], vs...)
		}
	}
	token = form.Get("token")
	if auth := r.Header.Get("Authorization"); auth != "" {
		if t, ok := strings.CutPrefix(auth, "Bearer "); ok {
			token = strings.TrimSpace(t)
		}
	}
	return form, token, parseErr
}

// flatten turns one top-level JSON value into a form value: a string as it
// is, anything else as its JSON text; null is dropped.
func flatten(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if string(raw) == "null" {
		return "", false
	}
	var str string
	if json.Unmarshal(raw, &str) == nil {
		return str, true
	}
	var buf bytes.Buffer
	if json.Compact(&buf, raw) == nil {
		return buf.String(), true
	}
	return string(raw), true
}

// decodeObject decodes a JSON object, or returns nil.
func decodeObject(data []byte) map[string]any {
	var m map[string]any
	if json.Unmarshal(data, &m) != nil {
		return nil
	}
	return m
}

func cloneValues(v url.Values) url.Values {
	if v == nil {
		return nil
	}
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
