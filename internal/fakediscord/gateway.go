package fakediscord

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// writeTimeout bounds every write on a gateway connection.
const writeTimeout = 5 * time.Second

// maxReplay is how many dispatches a session keeps for Resume replays.
const maxReplay = 1000

// Gateway opcodes.
const (
	opDispatch       = 0
	opHeartbeat      = 1
	opIdentify       = 2
	opPresenceUpdate = 3
	opVoiceState     = 4
	opResume         = 6
	opReconnect      = 7
	opRequestMembers = 8
	opInvalidSession = 9
	opHello          = 10
	opHeartbeatACK   = 11
)

// gwConn is one gateway websocket.
type gwConn struct {
	ws     *websocket.Conn
	wmu    sync.Mutex // serialises data frames (gorilla allows one writer) and orders seqs
	closed chan struct{}
	once   sync.Once

	// guarded by Server.mu
	sess  *gwSession
	ready bool // READY or RESUMED written
}

// gwSession is one gateway session (what Identify makes and Resume
// continues); guarded by Server.mu.
type gwSession struct {
	id, token string
	version   int
	compress  bool
	seq       int64
	log       []gwEvent // the last dispatches, for Resume
	conn      *gwConn   // the connection it is on; nil between connections
	invalid   bool      // ended by a normal close: no Resume
}

// gwEvent is one dispatch sent in a session.
type gwEvent struct {
	seq   int64
	frame []byte
}

// gwPayload is a gateway message.
type gwPayload struct {
	Op int             `json:"op"`
	D  json.RawMessage `json:"d"`
	S  *int64          `json:"s"`
	T  *string         `json:"t"`
}

// close closes the websocket abruptly, with no close frame.
func (c *gwConn) close() {
	c.once.Do(func() {
		close(c.closed)
		_ = c.ws.Close()
	})
}

// closeWith sends a close frame with a gateway close code and closes.
func (c *gwConn) closeWith(code int, text string) {
	_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text), time.Now().Add(writeTimeout))
	c.close()
}

// writeLocked writes one frame; c.wmu must be held. compress sends it as
// a zlib-compressed binary frame, as Discord does for clients that asked
// for compress in Identify.
func (c *gwConn) writeLocked(frame []byte, compress bool) error {
	typ := websocket.TextMessage
	if compress {
		var buf bytes.Buffer
		zw := zlib.NewWriter(&buf)
		_, _ = zw.Write(frame)
		_ = zw.Close()
		frame, typ = buf.Bytes(), websocket.BinaryMessage
	}
	if err := c.ws.SetWriteDeadline(time.Now().Add(writeTimeout)); err != nil {
		return err
	}
	return c.ws.WriteMessage(typ, frame)
}

// writeOp writes a non-dispatch payload (s and t null), never compressed.
func (c *gwConn) writeOp(op int, d any) error {
	frame, err := json.Marshal(map[string]any{"op": op, "d": d, "s": nil, "t": nil})
	if err != nil {
		return err
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.writeLocked(frame, false)
}

// SetHeartbeatInterval sets the heartbeat_interval the Hello of later
// connections announces (DefaultHeartbeatInterval until then). The fake
// answers every heartbeat but does not close connections that miss them.
func (s *Server) SetHeartbeatInterval(d time.Duration) {
	if d <= 0 {
		d = DefaultHeartbeatInterval
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.heartbeat = d
}

// RejectResumes makes the gateway answer every Resume (op 6) with Invalid
// Session (op 9, d false) while reject is true, so the client must Identify
// afresh. By default a Resume of a known session succeeds.
func (s *Server) RejectResumes(reject bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rejectResume = reject
}

// WaitReady waits until a gateway connection is open and its session ready:
// it identified and got READY, or resumed and got RESUMED. After
// DropConnections it waits for the client to come back.
func (s *Server) WaitReady(ctx context.Context) error {
	err := s.waitFor(ctx, func() bool { return s.currentLocked() != nil })
	if err != nil {
		return fmt.Errorf("fakediscord: waiting for a ready gateway connection: %w", err)
	}
	return nil
}

// Identifies returns how many Identify (op 2) payloads the gateway received.
func (s *Server) Identifies() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.identifies
}

// Resumes returns how many Resume (op 6) payloads the gateway received,
// accepted or not.
func (s *Server) Resumes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.resumes
}

// Connections returns how many gateway websockets were opened in all.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connections
}

// Dispatch sends a dispatch (op 0) of event with data and the session's
// next sequence number to the newest ready connection. data is marshalled
// as JSON; json.RawMessage and []byte are taken as JSON text. It fails when
// no connection is ready (see WaitReady).
func (s *Server) Dispatch(event string, data any) error {
	var raw []byte
	switch d := data.(type) {
	case json.RawMessage:
		raw = d
	case []byte:
		raw = d
	default:
		var err error
		if raw, err = json.Marshal(data); err != nil {
			return fmt.Errorf("fakediscord: marshalling %s: %w", event, err)
		}
	}
	if !json.Valid(raw) {
		return fmt.Errorf("fakediscord: %s data is not JSON", event)
	}
	s.mu.Lock()
	c := s.currentLocked()
	s.mu.Unlock()
	if c == nil {
		return errors.New("fakediscord: no ready gateway connection")
	}
	if err := s.send(c, event, raw); err != nil {
		return fmt.Errorf("fakediscord: dispatching %s: %w", event, err)
	}
	return nil
}

// SendReconnect sends Reconnect (op 7) to the newest ready connection, as
// Discord does before it moves a session: the client should close and
// resume.
func (s *Server) SendReconnect() error {
	s.mu.Lock()
	c := s.currentLocked()
	s.mu.Unlock()
	if c == nil {
		return errors.New("fakediscord: no ready gateway connection")
	}
	return c.writeOp(opReconnect, nil)
}

// DropConnections closes every gateway connection abruptly, without a close
// frame, as a network failure would; the sessions stay resumable and the
// client must reconnect.
func (s *Server) DropConnections() {
	s.mu.Lock()
	conns := s.live
	s.live = nil
	for _, c := range conns {
		s.detachLocked(c)
	}
	s.notifyLocked()
	s.mu.Unlock()
	for _, c := range conns {
		c.close()
	}
}

// currentLocked returns the newest ready connection.
func (s *Server) currentLocked() *gwConn {
	for _, c := range slices.Backward(s.live) {
		if c.ready {
			return c
		}
	}
	return nil
}

// detachLocked takes c off its session.
func (s *Server) detachLocked(c *gwConn) {
	if c.sess != nil && c.sess.conn == c {
		c.sess.conn = nil
	}
	c.sess = nil
	c.ready = false
}

// send writes a dispatch with the next sequence number of c's session.
func (s *Server) send(c *gwConn, event string, data json.RawMessage) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	s.mu.Lock()
	sess := c.sess
	if sess == nil {
		s.mu.Unlock()
		return errors.New("connection has no session")
	}
	sess.seq++
	seq := sess.seq
	frame, err := json.Marshal(gwPayload{Op: opDispatch, D: data, S: &seq, T: &event})
	if err != nil {
		sess.seq--
		s.mu.Unlock()
		return err
	}
	sess.log = append(sess.log, gwEvent{seq: seq, frame: frame})
	if len(sess.log) > maxReplay {
		sess.log = slices.Delete(sess.log, 0, len(sess.log)-maxReplay)
	}
	compress := sess.compress
	s.mu.Unlock()
	return c.writeLocked(frame, compress)
}

// serveGateway upgrades /gateway to the gateway websocket, says Hello and
// reads the client's payloads until it closes.
func (s *Server) serveGateway(w http.ResponseWriter, r *http.Request) {
	version := 10
	badVersion := false
	switch v := r.URL.Query().Get("v"); v {
	case "9":
		version = 9
	case "", "10":
	default:
		badVersion = true
	}
	enc := r.URL.Query().Get("encoding")
	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // Upgrade has answered the client
	}
	ws.SetReadLimit(1 << 20)
	c := &gwConn{ws: ws, closed: make(chan struct{})}

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = ws.Close()
		return
	}
	s.connections++
	s.live = append(s.live, c)
	interval := s.heartbeat
	s.wg.Add(1)
	s.notifyLocked()
	s.mu.Unlock()
	defer s.wg.Done()
	defer s.drop(c)

	switch {
	case badVersion:
		c.closeWith(4012, "Invalid API version.")
		return
	case enc != "" && enc != "json":
		c.closeWith(4002, "Error while decoding payload.")
		return
	}
	err = c.writeOp(opHello, map[string]any{
		"heartbeat_interval": interval.Milliseconds(),
		"_trace":             []string{`["fakediscord-gateway",{"micros":0}]`},
	})
	if err != nil {
		return
	}
	s.readGateway(c, version)
}

// drop forgets c and closes it.
func (s *Server) drop(c *gwConn) {
	s.mu.Lock()
	if i := slices.Index(s.live, c); i >= 0 {
		s.live = slices.Delete(s.live, i, i+1)
	}
	s.detachLocked(c)
	s.notifyLocked()
	s.mu.Unlock()
	c.close()
}

// readGateway handles the client's payloads on c until the connection
// fails or is closed.
func (s *Server) readGateway(c *gwConn, version int) {
	for {
		typ, data, err := c.ws.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) && (ce.Code == websocket.CloseNormalClosure || ce.Code == websocket.CloseGoingAway) {
				// Discord ends the session of a client that closes
				// with 1000 or 1001: it cannot be resumed.
				s.mu.Lock()
				if c.sess != nil {
					c.sess.invalid = true
				}
				s.mu.Unlock()
			}
			return
		}
		var p gwPayload
		if typ != websocket.TextMessage || json.Unmarshal(data, &p) != nil {
			c.closeWith(4002, "Error while decoding payload.")
			return
		}
		switch p.Op {
		case opHeartbeat:
			if c.writeOp(opHeartbeatACK, nil) != nil {
				return
			}
		case opIdentify:
			if !s.identify(c, p.D, version) {
				return
			}
		case opResume:
			if !s.resume(c, p.D) {
				return
			}
		case opPresenceUpdate, opVoiceState, opRequestMembers:
			s.mu.Lock()
			authed := c.sess != nil
			s.mu.Unlock()
			if !authed {
				c.closeWith(4003, "Not authenticated.")
				return
			}
		default:
			c.closeWith(4001, "Unknown opcode.")
			return
		}
	}
}

// tokenOKLocked checks a gateway token (with or without "Bot ").
func (s *Server) tokenOKLocked(tok string) bool {
	tok = strings.TrimPrefix(tok, "Bot ")
	return tok != "" && (s.token == "" || tok == s.token)
}

// identify handles op 2; false means the connection was closed.
func (s *Server) identify(c *gwConn, d json.RawMessage, version int) bool {
	var id struct {
		Token    string  `json:"token"`
		Compress bool    `json:"compress"`
		Shard    *[2]int `json:"shard"`
	}
	if json.Unmarshal(d, &id) != nil {
		c.closeWith(4002, "Error while decoding payload.")
		return false
	}
	s.mu.Lock()
	s.identifies++
	s.notifyLocked()
	switch {
	case c.sess != nil:
		s.mu.Unlock()
		c.closeWith(4005, "Already authenticated.")
		return false
	case !s.tokenOKLocked(id.Token):
		s.mu.Unlock()
		c.closeWith(4004, "Authentication failed.")
		return false
	}
	sess := &gwSession{
		id:       randomHex(16),
		token:    strings.TrimPrefix(id.Token, "Bot "),
		version:  version,
		compress: id.Compress,
		conn:     c,
	}
	s.sessions[sess.id] = sess
	c.sess = sess
	ready := map[string]any{
		"v":                       version,
		"user":                    s.botUserLocked(),
		"guilds":                  []any{},
		"session_id":              sess.id,
		"session_type":            "normal",
		"resume_gateway_url":      s.GatewayURL(),
		"application":             map[string]any{"id": s.appID, "flags": 0},
		"private_channels":        []any{},
		"relationships":           []any{},
		"presences":               []any{},
		"guild_join_requests":     []any{},
		"geo_ordered_rtc_regions": []any{},
		"user_settings":           map[string]any{},
		"_trace":                  []string{`["fakediscord-gateway",{"micros":0}]`},
	}
	if id.Shard != nil {
		ready["shard"] = id.Shard
	}
	s.mu.Unlock()
	raw, _ := json.Marshal(ready)
	if s.send(c, "READY", raw) != nil {
		return false
	}
	s.markReady(c)
	return true
}

// resume handles op 6: replays what the session missed and says RESUMED,
// or answers Invalid Session (d false) for a session it cannot resume.
// False means the connection was closed.
func (s *Server) resume(c *gwConn, d json.RawMessage) bool {
	var r struct {
		Token     string `json:"token"`
		SessionID string `json:"session_id"`
		Seq       int64  `json:"seq"`
	}
	if json.Unmarshal(d, &r) != nil {
		c.closeWith(4002, "Error while decoding payload.")
		return false
	}
	s.mu.Lock()
	s.resumes++
	s.notifyLocked()
	if c.sess != nil {
		s.mu.Unlock()
		c.closeWith(4005, "Already authenticated.")
		return false
	}
	sess := s.sessions[r.SessionID]
	if sess == nil || sess.invalid || s.rejectResume || !s.tokenOKLocked(r.Token) ||
		strings.TrimPrefix(r.Token, "Bot ") != sess.token || r.Seq > sess.seq {
		s.mu.Unlock()
		return c.writeOp(opInvalidSession, false) == nil
	}
	old := sess.conn
	if old != nil {
		s.detachLocked(old)
	}
	sess.conn = c
	c.sess = sess
	var replay []gwEvent
	for _, ev := range sess.log {
		if ev.seq > r.Seq {
			replay = append(replay, ev)
		}
	}
	compress := sess.compress
	s.mu.Unlock()
	if old != nil {
		old.close()
	}
	c.wmu.Lock()
	for _, ev := range replay {
		if c.writeLocked(ev.frame, compress) != nil {
			c.wmu.Unlock()
			return false
		}
	}
	c.wmu.Unlock()
	if s.send(c, "RESUMED", json.RawMessage(`{"_trace":["[\"fakediscord-gateway\",{\"micros\":0}]"]}`)) != nil {
		return false
	}
	s.markReady(c)
	return true
}

// markReady lets Dispatch use c.
func (s *Server) markReady(c *gwConn) {
	s.mu.Lock()
	if c.sess != nil && slices.Contains(s.live, c) {
		c.ready = true
		s.notifyLocked()
	}
	s.mu.Unlock()
}
