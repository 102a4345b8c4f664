// Package fakediscord is a fake Discord for tocsin's tests: the REST API
// routes tocsin uses (channel messages, slash command registration,
// interaction callbacks, interaction and incoming webhooks) and the gateway
// websocket, all on 127.0.0.1 and in Discord's own wire formats, so the
// unmodified discordgo client works against it:
//
//	fake := fakediscord.New()
//	defer fake.Close()
//	session, _ := discordgo.New("Bot " + token)
//	session.Client, _ = discordhttp.Client(fake.URL(), nil)
//
// Tests inspect what tocsin did (Calls, Messages, Commands,
// InteractionResponses, Originals, Followups), make Discord misbehave
// (Script, SetDown, DropConnections) and play the user (NewInteraction,
// Dispatch).
//
// REST is served under /api/v9, /api/v10 and /api (unversioned, as incoming
// webhook URLs are written); the gateway websocket is ws://HOST/gateway.
//
// What it checks, as Discord does: the bot token on bot routes (401), the
// message limits (content ≤ 2000 characters, ≤ 10 embeds, title ≤ 256,
// description ≤ 4096, ≤ 25 fields, ≤ 6000 in all, ≤ 5 action rows of ≤ 5
// components, custom_id ≤ 100 and unique, nonce ≤ 25: 400 code 50035 with
// Discord's nested "errors"), empty messages (50006), replies to unknown
// messages (50035 unless fail_if_not_exists is false), command names and
// descriptions, one callback per interaction (40060) of a type its kind
// takes. Message creates with a nonce and enforce_nonce true are
// deduplicated per channel for SetNonceWindow: the repeat answers 200 with
// the first message and stores nothing.
//
// What it does not do: rate limits (only scripted 429s), channel or guild
// existence (every channel id exists), interaction token expiry (3 s for the
// callback, 15 min for the token), closing gateway connections that miss
// heartbeats, sharding, anything else not named here.
//
// Gateway: Hello, heartbeat ACKs, Identify (READY, a new session), Resume
// (replays the dispatches the session missed, then RESUMED; a session whose
// client closed with 1000/1001, an unknown one, or any while RejectResumes
// is on gets Invalid Session, d false, and the client must Identify), Reconnect
// on request (SendReconnect). Clients that Identify with compress true get
// their dispatches as zlib-compressed binary frames, as Discord sends them.
// Errors close with Discord's codes: 4001 unknown opcode, 4002 decode error,
// 4003 not authenticated, 4004 authentication failed, 4005 already
// authenticated, 4012 invalid API version.
//
// The package must only be imported by tests.
package fakediscord

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// The identities the fake answers with.
const (
	// DefaultApplicationID is the application id the fake reports in READY
	// (and uses as the bot's user id, as Discord does for new
	// applications) until SetApplicationID says otherwise.
	DefaultApplicationID = "1300000000000000001"
	// BotUsername is the bot user's name.
	BotUsername = "tocsin"
	// WebhookChannelID is the channel the incoming webhook (see Webhook)
	// posts into: Messages(WebhookChannelID) lists what was sent through it.
	WebhookChannelID = "webhook-channel"
)

// DefaultHeartbeatInterval is the heartbeat_interval (ms) the gateway's
// Hello announces unless SetHeartbeatInterval says otherwise.
const DefaultHeartbeatInterval = 41250 * time.Millisecond

// DefaultNonceWindow is how long a nonce sent with enforce_nonce dedups
// message creates in the same channel (Discord: "the past few minutes").
const DefaultNonceWindow = 5 * time.Minute

// errClosed is returned by waits and sends once the server is closed.
var errClosed = errors.New("fakediscord: server closed")

// Answer is a scripted answer to one REST call (see Server.Script). The zero
// Answer lets the call be handled normally; it still uses up its place in
// the queue.
type Answer struct {
	// Status is the HTTP status to answer (429, 500, 403, 404, ...); 0 (or
	// any 2xx) means normal handling.
	Status int
	// RetryAfter is, for a 429, the seconds to wait: the body's retry_after
	// and the X-RateLimit-Reset-After header carry it as given, Retry-After
	// rounded up to whole seconds.
	RetryAfter float64
	// Global makes a 429 a global rate limit (X-RateLimit-Global: true,
	// "global": true), which makes discordgo hold every route.
	Global bool
	// Code is the Discord JSON error code of the body ({"message", "code"}),
	// e.g. 50001 Missing Access, 10003 Unknown Channel; 0 gives the generic
	// "404: Not Found" form.
	Code int
	// Delay holds the answer back this long. The call is handled (a
	// message stored, ...) and recorded with its status at once, so a
	// client that times out or dies meanwhile has lost the answer to
	// something Discord did. The answer is dropped if the client goes
	// away or the fake closes first.
	Delay time.Duration
}

// Call is one REST call the fake received.
type Call struct {
	Method string
	Path   string // as received, e.g. "/api/v9/channels/789/messages"
	Query  string // raw query string, e.g. "wait=true"
	// Route is the call's route, METHOD and a path template without the
	// /api/vN prefix: "POST /channels/{id}/messages". Webhook routes read
	// {app}/{token} for interaction tokens the fake handed out and
	// {id}/{token} otherwise. Unknown routes read "METHOD /raw/path".
	Route  string
	Body   []byte
	Status int       // HTTP status answered
	Auth   string    // the Authorization header as sent (for leak checks)
	Time   time.Time // when the call arrived
}

// Message is the current state of one message the fake stores.
type Message struct {
	ID, ChannelID, Content string
	// Embeds and Components are the JSON arrays as last set; nil when
	// never set or set empty. An edit with a field absent or null leaves
	// it; [] clears it.
	Embeds, Components json.RawMessage
	ReferenceID        string // message_reference.message_id ("" none)
	Nonce              string // as sent (a JSON number as its digits)
	Edits              int    // successful PATCHes
	Webhook            bool   // posted through a webhook URL (incoming webhook or interaction follow-up)
}

// InteractionResponse is one accepted POST /interactions/{id}/{token}/callback.
type InteractionResponse struct {
	ID, Token string
	Type      int             // the callback type: 4 message, 5 deferred, 6 deferred update, 7 update, 8 autocomplete, 9 modal
	Data      json.RawMessage // the "data" field as sent; nil when absent
}

// Server is a fake Discord: REST and gateway on one loopback HTTP server.
// All its methods are safe for concurrent use.
type Server struct {
	srv      *httptest.Server
	upgrader websocket.Upgrader
	done     chan struct{} // closed by Close
	wg       sync.WaitGroup

	mu          sync.Mutex
	changed     chan struct{} // closed and replaced on every change, wakes waiters
	closed      bool
	down        bool
	token       string
	appID       string
	appIDSet    bool
	nonceWindow time.Duration
	scripts     map[string][]Answer
	calls       []Call
	lastID      uint64 // last snowflake handed out

	messages []*message          // channel and incoming webhook messages, post order
	byID     map[string]*message // messages and follow-ups by id
	nonces   map[string]nonceUse // channel + "\x00" + nonce

	commands map[string][]json.RawMessage // appID + "/" + guildID → last overwrite, as answered
	cmdIDs   map[string]string            // appID/guildID/type/name → id

	interactions map[string]*interaction // by id
	byToken      map[string]*interaction
	followups    []*message
	responses    []InteractionResponse
	originals    map[string]json.RawMessage // token → last PATCH @original body

	webhookID, webhookToken string

	// gateway
	heartbeat    time.Duration
	rejectResume bool
	live         []*gwConn // open connections, oldest first
	sessions     map[string]*gwSession
	connections  int
	identifies   int
	resumes      int
}

// New starts a fake Discord on 127.0.0.1 (a random port). Close it when
// done.
func New() *Server {
	s := &Server{
		done:         make(chan struct{}),
		changed:      make(chan struct{}),
		appID:        DefaultApplicationID,
		nonceWindow:  DefaultNonceWindow,
		scripts:      map[string][]Answer{},
		byID:         map[string]*message{},
		nonces:       map[string]nonceUse{},
		commands:     map[string][]json.RawMessage{},
		cmdIDs:       map[string]string{},
		interactions: map[string]*interaction{},
		byToken:      map[string]*interaction{},
		originals:    map[string]json.RawMessage{},
		heartbeat:    DefaultHeartbeatInterval,
		sessions:     map[string]*gwSession{},
	}
	s.webhookID = s.nextIDLocked()
	s.webhookToken = randomToken(34)
	// discordgo's dialer sends no Origin; accept whatever comes.
	s.upgrader.CheckOrigin = func(*http.Request) bool { return true }
	mux := http.NewServeMux()
	mux.HandleFunc("/api/", s.serveREST)
	mux.HandleFunc("/gateway", s.serveGateway)
	mux.HandleFunc("/gateway/", s.serveGateway)
	s.srv = httptest.NewServer(mux)
	return s
}

// Close closes every gateway connection, stops the server and waits for the
// fake's goroutines to end. Waits in progress return an error.
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

// URL returns the server's base URL, "http://127.0.0.1:PORT": the value for
// discord.api_url and discordhttp.Client.
func (s *Server) URL() string { return s.srv.URL }

// GatewayURL returns the websocket URL GET /gateway answers,
// "ws://127.0.0.1:PORT/gateway".
func (s *Server) GatewayURL() string { return "ws" + s.srv.URL[len("http"):] + "/gateway" }

// SetToken sets the bot token the fake accepts: REST calls on bot routes
// need "Authorization: Bot <tok>" and a gateway Identify or Resume needs tok
// (with or without "Bot "). The default "" accepts any "Bot ..." header and
// any non-empty gateway token. Webhook and interaction callback routes take
// no Authorization, as on Discord: their token is in the URL.
func (s *Server) SetToken(tok string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.token = tok
}

// SetApplicationID sets the application id READY reports and the bot's user
// id. Once set, command routes for another application answer 403 (code
// 20012) and interaction webhooks for another application 404 (code 10015);
// until then any application id in a path is accepted.
func (s *Server) SetApplicationID(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.appID = id
	s.appIDSet = true
}

// SetNonceWindow sets how long a nonce with enforce_nonce dedups message
// creates (DefaultNonceWindow until then).
func (s *Server) SetNonceWindow(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nonceWindow = d
}

// Calls returns every REST call so far, in order (copies).
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Call, len(s.calls))
	for i, c := range s.calls {
		c.Body = bytes.Clone(c.Body)
		out[i] = c
	}
	return out
}

// Script queues answers for the next calls of route (as in Call.Route, e.g.
// "POST /channels/{id}/messages"), consumed one a call in order; when they
// are used up normal behaviour resumes. Scripted answers apply before
// anything else (the token is not checked) except SetDown, which leaves the
// queue alone. A scripted Status 0 lets the call be handled normally (still
// subject to the token), after Delay if one is set.
func (s *Server) Script(route string, answers ...Answer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scripts[route] = append(s.scripts[route], answers...)
}

// SetDown makes every REST call answer 502 Bad Gateway (an HTML body, as
// Discord's edge sends) while down is true. The calls are recorded, with no
// side effects; scripts are left alone. The gateway is not affected.
func (s *Server) SetDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
}

// WaitCalls waits until at least n calls of route were answered 2xx, or ctx
// ends, or the server is closed.
func (s *Server) WaitCalls(ctx context.Context, route string, n int) error {
	seen := 0
	err := s.waitFor(ctx, func() bool {
		seen = 0
		for _, c := range s.calls {
			if c.Route == route && c.Status >= 200 && c.Status < 300 {
				seen++
			}
		}
		return seen >= n
	})
	if err != nil {
		return fmt.Errorf("fakediscord: waiting for %d 2xx %s calls, saw %d: %w", n, route, seen, err)
	}
	return nil
}

// Messages returns the current state of every message in channelID, in post
// order (copies). Deleted messages are gone; interaction follow-ups are not
// among them (see Followups).
func (s *Server) Messages(channelID string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, m := range s.messages {
		if m.ChannelID == channelID {
			out = append(out, m.public())
		}
	}
	return out
}

// Webhook returns the id and token of the incoming webhook the fake serves,
// for alert-only mode: its URL is URL() + "/api/webhooks/" + id + "/" +
// token. Its messages land in WebhookChannelID.
func (s *Server) Webhook() (id, token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.webhookID, s.webhookToken
}

// WebhookURL returns the incoming webhook's URL, as Discord shows it.
func (s *Server) WebhookURL() string {
	id, token := s.Webhook()
	return s.srv.URL + "/api/webhooks/" + id + "/" + token
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

// discordEpoch is the first millisecond of 2015, Discord's snowflake epoch.
const discordEpoch = 1420070400000

// nextIDLocked returns a snowflake later than every one handed out before:
// the wall clock's milliseconds since the Discord epoch in the top bits,
// bumped when the clock has not moved on.
func (s *Server) nextIDLocked() string {
	id := uint64(time.Now().UnixMilli()-discordEpoch) << 22
	if id <= s.lastID {
		id = s.lastID + 1
	}
	s.lastID = id
	return fmt.Sprint(id)
}

// snowflakeTime is the time encoded in a snowflake the fake made.
func snowflakeTime(id uint64) time.Time {
	return time.UnixMilli(int64(id>>22) + discordEpoch).UTC()
}

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// randomToken returns a token of about n characters in Discord's alphabet
// (URL-safe base64 without padding).
func randomToken(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// cloneRaw copies a JSON value; nil stays nil.
func cloneRaw(r json.RawMessage) json.RawMessage {
	if r == nil {
		return nil
	}
	return slices.Clone(r)
}
