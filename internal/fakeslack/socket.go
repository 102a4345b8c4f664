package fakeslack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// writeTimeout bounds every write on a Socket Mode connection.
const writeTimeout = 5 * time.Second

// sockConn is one Socket Mode websocket.
type sockConn struct {
	ws      *websocket.Conn
	wmu     sync.Mutex // serialises data frames (gorilla allows one writer)
	closed  chan struct{}
	once    sync.Once
	helloed bool // hello written; guarded by Server.mu
}

// close closes the websocket abruptly, with no close frame.
func (c *sockConn) close() {
	c.once.Do(func() {
		close(c.closed)
		_ = c.ws.Close()
	})
}

// writeJSON writes v as one text frame.
func (c *sockConn) writeJSON(v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.ws.SetWriteDeadline(time.Now().Add(writeTimeout)); err != nil {
		return err
	}
	return c.ws.WriteMessage(websocket.TextMessage, data)
}

// envelope is a Socket Mode message from Slack to the app.
type envelope struct {
	EnvelopeID             string          `json:"envelope_id"`
	Type                   string          `json:"type"`
	Payload                json.RawMessage `json:"payload"`
	AcceptsResponsePayload bool            `json:"accepts_response_payload"`
	RetryAttempt           int             `json:"retry_attempt"`
	RetryReason            string          `json:"retry_reason"`
}

// debugInfo is the debug_info of hello and disconnect messages.
type debugInfo struct {
	Host                      string `json:"host"`
	BuildNumber               int    `json:"build_number,omitempty"`
	ApproximateConnectionTime int    `json:"approximate_connection_time,omitempty"`
}

const fakeHost = "applink-tocsin-fake"

// SetPingInterval sets how often the fake pings every Socket Mode connection
// (DefaultPingInterval until then); it takes effect at each connection's next
// ping. Keep it below the client's socketmode.OptionPingInterval.
func (s *Server) SetPingInterval(d time.Duration) {
	if d <= 0 {
		d = DefaultPingInterval
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pingInterval = d
}

// WaitConnected waits until a Socket Mode connection is open and has been
// sent its hello, or ctx ends, or the server is closed.
func (s *Server) WaitConnected(ctx context.Context) error {
	err := s.waitFor(ctx, func() bool { return s.currentLocked() != nil })
	if err != nil {
		return fmt.Errorf("fakeslack: waiting for a Socket Mode connection: %w", err)
	}
	return nil
}

// Connections returns how many Socket Mode connections were opened in all,
// closed ones included.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connections
}

// DropConnections closes every open Socket Mode connection abruptly, without
// a close frame, as a network failure would; the client must reconnect.
func (s *Server) DropConnections() {
	s.mu.Lock()
	conns := s.live
	s.live = nil
	s.notifyLocked()
	s.mu.Unlock()
	for _, c := range conns {
		c.close()
	}
}

// SendSlashCommand sends a "slash_commands" envelope to the most recent
// Socket Mode connection, with accepts_response_payload true, and returns
// its envelope id. The payload is a JSON object of the command's fields (the
// first value of each), all strings as Slack sends them; team_id,
// team_domain, api_app_id, is_enterprise_install, token, trigger_id and
// response_url (a fresh ResponseURL) are filled in when cmd lacks them.
func (s *Server) SendSlashCommand(cmd url.Values) (envelopeID string, err error) {
	fields := map[string]string{}
	for k, vs := range cmd {
		if len(vs) > 0 {
			fields[k] = vs[0]
		}
	}
	defaults := map[string]func() string{
		"team_id":               func() string { return TeamID },
		"team_domain":           func() string { return TeamDomain },
		"api_app_id":            func() string { return AppID },
		"is_enterprise_install": func() string { return "false" },
		"token":                 func() string { return "fakeslack-verification-token" },
		"trigger_id":            newTriggerID,
		"response_url":          s.ResponseURL,
	}
	for k, def := range defaults {
		if fields[k] == "" {
			fields[k] = def()
		}
	}
	payload, err := json.Marshal(fields)
	if err != nil {
		return "", err
	}
	return s.send("slash_commands", payload, true)
}

// SendInteraction sends an "interactive" envelope (a block_actions click, a
// view submission, ...) to the most recent Socket Mode connection and returns
// its envelope id. payload is marshalled as JSON (json.RawMessage and []byte
// are taken as JSON text) and must be an object; response_url and trigger_id
// are filled in when it lacks them or has them empty. accepts_response_payload
// is true for view_submission and block_suggestion payloads, as on Slack.
func (s *Server) SendInteraction(payload any) (envelopeID string, err error) {
	var data []byte
	switch p := payload.(type) {
	case json.RawMessage:
		data = p
	case []byte:
		data = p
	default:
		if data, err = json.Marshal(payload); err != nil {
			return "", fmt.Errorf("fakeslack: marshalling interaction payload: %w", err)
		}
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil || fields == nil {
		return "", fmt.Errorf("fakeslack: interaction payload is not a JSON object")
	}
	fill := func(key string, value func() string) {
		var str string
		if raw, ok := fields[key]; ok && (json.Unmarshal(raw, &str) != nil || str != "") {
			return
		}
		fields[key], _ = json.Marshal(value())
	}
	fill("response_url", s.ResponseURL)
	fill("trigger_id", newTriggerID)
	var typ string
	_ = json.Unmarshal(fields["type"], &typ)
	accepts := typ == "view_submission" || typ == "block_suggestion"
	data, err = json.Marshal(fields)
	if err != nil {
		return "", err
	}
	return s.send("interactive", data, accepts)
}

// SendDisconnect sends a "disconnect" message (reason "refresh_requested",
// "warning", "link_disabled", ...) to the most recent Socket Mode connection,
// as Slack does before it recycles one.
func (s *Server) SendDisconnect(reason string) error {
	c := s.current()
	if c == nil {
		return errors.New("fakeslack: no open Socket Mode connection")
	}
	return c.writeJSON(map[string]any{
		"type":       "disconnect",
		"reason":     reason,
		"debug_info": debugInfo{Host: fakeHost},
	})
}

// WaitAck waits for the client's acknowledgement of envelopeID and returns
// its payload: nil when the ack carried none. It fails at once for an id the
// fake never sent.
func (s *Server) WaitAck(ctx context.Context, envelopeID string) (json.RawMessage, error) {
	s.mu.Lock()
	known := s.sent[envelopeID]
	s.mu.Unlock()
	if !known {
		return nil, fmt.Errorf("fakeslack: envelope %q was never sent", envelopeID)
	}
	var payload json.RawMessage
	err := s.waitFor(ctx, func() bool {
		p, ok := s.acks[envelopeID]
		payload = bytes.Clone(p)
		return ok
	})
	if err != nil {
		return nil, fmt.Errorf("fakeslack: waiting for the ack of envelope %s: %w", envelopeID, err)
	}
	return payload, nil
}

// current returns the most recent open connection that was sent its hello.
func (s *Server) current() *sockConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.currentLocked()
}

func (s *Server) currentLocked() *sockConn {
	for _, c := range slices.Backward(s.live) {
		if c.helloed {
			return c
		}
	}
	return nil
}

// send writes an envelope to the most recent connection.
func (s *Server) send(typ string, payload json.RawMessage, accepts bool) (string, error) {
	c := s.current()
	if c == nil {
		return "", errors.New("fakeslack: no open Socket Mode connection")
	}
	id := newEnvelopeID()
	s.mu.Lock()
	s.sent[id] = true
	s.mu.Unlock()
	err := c.writeJSON(envelope{
		EnvelopeID:             id,
		Type:                   typ,
		Payload:                payload,
		AcceptsResponsePayload: accepts,
	})
	if err != nil {
		return "", fmt.Errorf("fakeslack: sending %s envelope: %w", typ, err)
	}
	return id, nil
}

// serveSocket upgrades /link/?ticket=… to a Socket Mode websocket, says
// hello, pings it and reads the app's acks until it closes.
func (s *Server) serveSocket(w http.ResponseWriter, r *http.Request) {
	ticket := r.URL.Query().Get("ticket")
	s.mu.Lock()
	valid := s.tickets[ticket] && !s.closed
	delete(s.tickets, ticket) // a ticket is good for one connection
	s.mu.Unlock()
	if !valid {
		http.Error(w, "invalid or used ticket", http.StatusUnauthorized)
		return
	}
	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // Upgrade has answered the client
	}
	c := &sockConn{ws: ws, closed: make(chan struct{})}

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = ws.Close()
		return
	}
	s.connections++
	s.live = append(s.live, c)
	numConnections := len(s.live)
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()
	defer s.drop(c)

	err = c.writeJSON(map[string]any{
		"type":            "hello",
		"num_connections": numConnections,
		"debug_info": debugInfo{
			Host:                      fakeHost,
			BuildNumber:               1,
			ApproximateConnectionTime: 18060,
		},
		"connection_info": map[string]string{"app_id": AppID},
	})
	if err != nil {
		return
	}
	s.mu.Lock()
	c.helloed = true
	s.notifyLocked()
	s.wg.Add(1) // safe: this goroutine's count keeps the group above zero
	s.mu.Unlock()
	go s.pingLoop(c)

	s.readAcks(c)
}

// drop forgets c and closes it.
func (s *Server) drop(c *sockConn) {
	s.mu.Lock()
	if i := slices.Index(s.live, c); i >= 0 {
		s.live = slices.Delete(s.live, i, i+1)
		s.notifyLocked()
	}
	s.mu.Unlock()
	c.close()
}

// readAcks records the app's acks on c until the connection fails.
func (s *Server) readAcks(c *sockConn) {
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		var ack struct {
			EnvelopeID string          `json:"envelope_id"`
			Payload    json.RawMessage `json:"payload"`
		}
		if json.Unmarshal(data, &ack) != nil || ack.EnvelopeID == "" {
			continue
		}
		payload := bytes.TrimSpace(ack.Payload)
		if len(payload) == 0 || string(payload) == "null" {
			payload = nil
		}
		s.mu.Lock()
		s.acks[ack.EnvelopeID] = payload
		s.notifyLocked()
		s.mu.Unlock()
	}
}

// pingLoop sends a websocket ping on c at once and then every ping interval
// until c or the server closes.
func (s *Server) pingLoop(c *sockConn) {
	defer s.wg.Done()
	for n := 1; ; n++ {
		// WriteControl may run alongside writeJSON (gorilla allows it).
		if err := c.ws.WriteControl(websocket.PingMessage, fmt.Appendf(nil, "ping-%d", n), time.Now().Add(writeTimeout)); err != nil {
			return
		}
		s.mu.Lock()
		interval := s.pingInterval
		s.mu.Unlock()
		t := time.NewTimer(interval)
		select {
		case <-t.C:
		case <-c.closed:
			t.Stop()
			return
		case <-s.done:
			t.Stop()
			return
		}
	}
}

// newEnvelopeID returns an id shaped like Slack's (a UUID).
func newEnvelopeID() string {
	h := randomHex(16)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// newTriggerID returns an id shaped like Slack's trigger_ids.
func newTriggerID() string {
	return fmt.Sprintf("%d.%d.%s", time.Now().Unix(), 1000000+time.Now().Nanosecond()%1000000, randomHex(16))
}
