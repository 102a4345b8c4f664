package fakediscord

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// maxBody bounds a request body the fake reads (Discord's own upload limit
// is larger, but tocsin sends no files).
const maxBody = 25 << 20

// request is one REST call as the handlers see it.
type request struct {
	method string
	route  string            // "POST /channels/{id}/messages"
	params map[string]string // "id" → "789"
	query  url.Values
	body   []byte // the JSON payload (payload_json of a multipart body)
	files  int    // file parts of a multipart body
	auth   string
	now    time.Time
	delay  time.Duration // scripted Answer.Delay
}

// reply is an answer to a REST call, built with s.mu held and written after
// it is released.
type reply struct {
	status  int
	body    any    // JSON-encoded unless html is set; nil with 204
	html    string // a non-JSON body (502 from the edge)
	headers map[string]string
}

func okReply(body any) reply { return reply{status: http.StatusOK, body: body} }

func noContent() reply { return reply{status: http.StatusNoContent} }

// errorMessages are the messages Discord sends with its JSON error codes.
var errorMessages = map[int]string{
	10003: "Unknown Channel",
	10004: "Unknown Guild",
	10008: "Unknown Message",
	10015: "Unknown Webhook",
	10062: "Unknown interaction",
	20012: "You are not authorized to perform this action on this application",
	40060: "Interaction has already been acknowledged.",
	50001: "Missing Access",
	50005: "Cannot edit a message authored by another user",
	50006: "Cannot send an empty message",
	50013: "Missing Permissions",
	50027: "Invalid Webhook Token",
	50035: "Invalid Form Body",
	50109: "The request body contains invalid JSON.",
}

// errReply is Discord's JSON error body: {"message": ..., "code": code}.
// Code 0 gives the generic "404: Not Found" message.
func errReply(status, code int) reply {
	msg, ok := errorMessages[code]
	if !ok || code == 0 {
		msg = fmt.Sprintf("%d: %s", status, http.StatusText(status))
	}
	return reply{status: status, body: map[string]any{"message": msg, "code": code}}
}

// rateLimited is a 429 as Discord sends it for one route (or globally).
func rateLimited(route string, retryAfter float64, global bool) reply {
	scope := "user"
	if global {
		scope = "global"
	}
	reset := float64(time.Now().UnixMilli())/1000 + retryAfter
	h := map[string]string{
		"Retry-After":             strconv.Itoa(int(math.Ceil(retryAfter))),
		"X-RateLimit-Limit":       "5",
		"X-RateLimit-Remaining":   "0",
		"X-RateLimit-Reset":       strconv.FormatFloat(reset, 'f', 3, 64),
		"X-RateLimit-Reset-After": strconv.FormatFloat(retryAfter, 'f', 3, 64),
		"X-RateLimit-Bucket":      bucketHash(route),
		"X-RateLimit-Scope":       scope,
	}
	if global {
		h["X-RateLimit-Global"] = "true"
	}
	return reply{
		status:  http.StatusTooManyRequests,
		body:    map[string]any{"message": "You are being rate limited.", "retry_after": retryAfter, "global": global},
		headers: h,
	}
}

// bucketHash is a stable stand-in for Discord's opaque bucket ids.
func bucketHash(route string) string {
	h := fnv.New64a()
	_, _ = io.WriteString(h, route)
	return fmt.Sprintf("%016x", h.Sum64())
}

func (r reply) write(w http.ResponseWriter, route string) {
	for k, v := range r.headers {
		w.Header().Set(k, v)
	}
	if r.html != "" {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(r.status)
		_, _ = io.WriteString(w, r.html)
		return
	}
	if r.status != http.StatusTooManyRequests {
		// Discord sends its bucket headers on every answer; the
		// remaining count never runs out here, so discordgo never
		// waits ahead of a call on the fake's account.
		reset := float64(time.Now().UnixMilli())/1000 + 1
		w.Header().Set("X-RateLimit-Limit", "50")
		w.Header().Set("X-RateLimit-Remaining", "49")
		w.Header().Set("X-RateLimit-Reset", strconv.FormatFloat(reset, 'f', 3, 64))
		w.Header().Set("X-RateLimit-Reset-After", "1.000")
		w.Header().Set("X-RateLimit-Bucket", bucketHash(route))
	}
	if r.status == http.StatusNoContent {
		w.WriteHeader(r.status)
		return
	}
	data, err := json.Marshal(r.body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(r.status)
	_, _ = w.Write(data)
}

// route is one REST route the fake serves.
type route struct {
	method  string
	pattern []string // path segments; "{x}" captures
	bot     bool     // needs the bot's Authorization
	handle  func(*Server, *request) reply
}

// routes are the REST routes; webhook routes are told apart by the token
// in their path (see matchRoute).
var routes = []route{
	{"GET", split("/gateway"), false, (*Server).getGateway},
	{"GET", split("/gateway/bot"), true, (*Server).getGatewayBot},
	{"GET", split("/users/@me"), true, (*Server).getMe},
	{"POST", split("/channels/{id}/messages"), true, (*Server).createMessage},
	{"GET", split("/channels/{id}/messages/{mid}"), true, (*Server).getMessage},
	{"PATCH", split("/channels/{id}/messages/{mid}"), true, (*Server).editMessage},
	{"DELETE", split("/channels/{id}/messages/{mid}"), true, (*Server).deleteMessage},
	{"PUT", split("/applications/{app}/commands"), true, (*Server).overwriteCommands},
	{"GET", split("/applications/{app}/commands"), true, (*Server).getCommands},
	{"PUT", split("/applications/{app}/guilds/{guild}/commands"), true, (*Server).overwriteCommands},
	{"GET", split("/applications/{app}/guilds/{guild}/commands"), true, (*Server).getCommands},
	{"POST", split("/interactions/{id}/{token}/callback"), false, (*Server).interactionCallback},
	// Interaction webhooks (the token is one NewInteraction handed out).
	{"POST", split("/webhooks/{app}/{token}"), false, (*Server).createFollowup},
	{"GET", split("/webhooks/{app}/{token}/messages/@original"), false, (*Server).getOriginal},
	{"PATCH", split("/webhooks/{app}/{token}/messages/@original"), false, (*Server).editOriginal},
	{"DELETE", split("/webhooks/{app}/{token}/messages/@original"), false, (*Server).deleteOriginal},
	{"GET", split("/webhooks/{app}/{token}/messages/{mid}"), false, (*Server).getFollowup},
	{"PATCH", split("/webhooks/{app}/{token}/messages/{mid}"), false, (*Server).editFollowup},
	// Incoming webhooks (and any webhook path whose token is not an
	// interaction's).
	{"POST", split("/webhooks/{id}/{token}"), false, (*Server).executeWebhook},
	{"GET", split("/webhooks/{id}/{token}/messages/{mid}"), false, (*Server).getWebhookMessage},
	{"PATCH", split("/webhooks/{id}/{token}/messages/{mid}"), false, (*Server).editWebhookMessage},
	{"DELETE", split("/webhooks/{id}/{token}/messages/{mid}"), false, (*Server).deleteWebhookMessage},
}

func split(p string) []string { return strings.Split(strings.Trim(p, "/"), "/") }

// apiPath strips the /api/v9, /api/v10 or /api prefix; ok is false for
// paths outside the API.
func apiPath(p string) (rest string, ok bool) {
	rest, ok = strings.CutPrefix(p, "/api")
	if !ok || (rest != "" && rest[0] != '/') {
		return "", false
	}
	for _, v := range []string{"/v9", "/v10"} {
		if r, cut := strings.CutPrefix(rest, v); cut && (r == "" || r[0] == '/') {
			return r, true
		}
	}
	return rest, true
}

// matchRoute finds the route for method and path (without the API prefix);
// s.mu must be held, since interaction webhook routes are told from incoming
// webhook routes by whether the token is one the fake handed out.
// pathKnown reports whether some route serves the path with another method.
func (s *Server) matchRouteLocked(method, path string) (rt *route, params map[string]string, pathKnown bool) {
	segs := split(path)
	for i := range routes {
		r := &routes[i]
		p, ok := matchSegs(r.pattern, segs)
		if !ok {
			continue
		}
		if _, isApp := p["app"]; isApp && r.pattern[0] == "webhooks" {
			if s.byToken[p["token"]] == nil {
				continue
			}
		}
		if _, isID := p["id"]; isID && r.pattern[0] == "webhooks" {
			if s.byToken[p["token"]] != nil {
				continue
			}
		}
		if r.method != method {
			pathKnown = true
			continue
		}
		return r, p, true
	}
	return nil, nil, pathKnown
}

func matchSegs(pattern, segs []string) (map[string]string, bool) {
	if len(pattern) != len(segs) {
		return nil, false
	}
	params := map[string]string{}
	for i, p := range pattern {
		if strings.HasPrefix(p, "{") {
			if segs[i] == "" {
				return nil, false
			}
			params[strings.Trim(p, "{}")] = segs[i]
			continue
		}
		if p != segs[i] {
			return nil, false
		}
	}
	return params, true
}

// serveREST handles everything under /api/.
func (s *Server) serveREST(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	raw, readErr := io.ReadAll(io.LimitReader(r.Body, maxBody))
	req := &request{
		method: r.Method,
		query:  r.URL.Query(),
		auth:   r.Header.Get("Authorization"),
		now:    now,
	}

	s.mu.Lock()
	path, inAPI := apiPath(r.URL.Path)
	var rt *route
	pathKnown := false
	if inAPI {
		rt, req.params, pathKnown = s.matchRouteLocked(r.Method, path)
	}
	if rt != nil {
		req.route = rt.method + " /" + strings.Join(rt.pattern, "/")
	} else {
		req.route = r.Method + " " + path
	}
	rep := s.answerLocked(req, rt, pathKnown, r.Header.Get("Content-Type"), raw, readErr)
	s.calls = append(s.calls, Call{
		Method: r.Method,
		Path:   r.URL.Path,
		Query:  r.URL.RawQuery,
		Route:  req.route,
		Body:   raw,
		Status: rep.status,
		Auth:   req.auth,
		Time:   now,
	})
	s.notifyLocked()
	s.mu.Unlock()

	if req.delay > 0 {
		t := time.NewTimer(req.delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return
		case <-s.done:
			return
		}
	}
	rep.write(w, req.route)
}

// answerLocked decides the answer to one call and applies its side effects;
// s.mu must be held.
func (s *Server) answerLocked(req *request, rt *route, pathKnown bool, ctype string, raw []byte, readErr error) reply {
	if s.down {
		return reply{status: http.StatusBadGateway, html: "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n"}
	}
	if q := s.scripts[req.route]; len(q) > 0 {
		a := q[0]
		if len(q) == 1 {
			delete(s.scripts, req.route)
		} else {
			s.scripts[req.route] = q[1:]
		}
		req.delay = a.Delay
		if rep, scripted := scriptedReply(req.route, a); scripted {
			return rep
		}
	}
	switch {
	case rt == nil && pathKnown:
		return errReply(http.StatusMethodNotAllowed, 0)
	case rt == nil:
		return errReply(http.StatusNotFound, 0)
	case rt.bot && !s.authorizedLocked(req.auth):
		return reply{status: http.StatusUnauthorized, body: map[string]any{"message": "401: Unauthorized", "code": 0}}
	case readErr != nil:
		return errReply(http.StatusBadRequest, 50109)
	}
	body, files, ok := payload(ctype, raw)
	if !ok {
		return errReply(http.StatusBadRequest, 50109)
	}
	req.body, req.files = body, files
	return rt.handle(s, req)
}

// authorizedLocked checks an Authorization header against the bot token.
func (s *Server) authorizedLocked(auth string) bool {
	tok, ok := strings.CutPrefix(auth, "Bot ")
	if !ok || tok == "" {
		return false
	}
	return s.token == "" || tok == s.token
}

// scriptedReply turns a scripted Answer into a reply; scripted is false when
// the call is to be handled normally.
func scriptedReply(route string, a Answer) (rep reply, scripted bool) {
	switch {
	case a.Status == 0 || a.Status >= 200 && a.Status < 300:
		return reply{}, false
	case a.Status == http.StatusTooManyRequests:
		return rateLimited(route, a.RetryAfter, a.Global), true
	case a.Status >= 502 && a.Status <= 504 && a.Code == 0:
		text := fmt.Sprintf("%d %s", a.Status, http.StatusText(a.Status))
		return reply{status: a.Status, html: "<html><head><title>" + text + "</title></head><body><center><h1>" + text + "</h1></center></body></html>"}, true
	default:
		return errReply(a.Status, a.Code), true
	}
}

// payload returns a request's JSON payload: the body itself, or the
// payload_json part of a multipart/form-data body (files counts the other
// parts). ok is false when the payload is not JSON.
func payload(ctype string, raw []byte) (body []byte, files int, ok bool) {
	mt, params, _ := mime.ParseMediaType(ctype)
	if mt == "multipart/form-data" {
		mr := multipart.NewReader(bytes.NewReader(raw), params["boundary"])
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, 0, false
			}
			data, err := io.ReadAll(p)
			if err != nil {
				return nil, 0, false
			}
			if p.FormName() == "payload_json" {
				body = data
			} else {
				files++
			}
		}
	} else {
		body = raw
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, files, true
	}
	return body, files, json.Valid(body)
}

// fields decodes a JSON object payload; ok is false when it is not one.
func fields(body []byte) (map[string]json.RawMessage, bool) {
	if body == nil {
		return map[string]json.RawMessage{}, true
	}
	var f map[string]json.RawMessage
	if json.Unmarshal(body, &f) != nil || f == nil {
		return nil, false
	}
	return f, true
}

// getGateway answers GET /gateway (no token needed, as on Discord).
func (s *Server) getGateway(*request) reply {
	return okReply(map[string]any{"url": s.GatewayURL()})
}

// getGatewayBot answers GET /gateway/bot.
func (s *Server) getGatewayBot(*request) reply {
	return okReply(map[string]any{
		"url":    s.GatewayURL(),
		"shards": 1,
		"session_start_limit": map[string]any{
			"total":           1000,
			"remaining":       1000 - s.identifies,
			"reset_after":     86400000,
			"max_concurrency": 1,
		},
	})
}

// getMe answers GET /users/@me with the bot user.
func (s *Server) getMe(*request) reply { return okReply(s.botUserLocked()) }

// botUserLocked is the bot's user object.
func (s *Server) botUserLocked() map[string]any {
	return map[string]any{
		"id":            s.appID,
		"username":      BotUsername,
		"discriminator": "0",
		"global_name":   nil,
		"avatar":        nil,
		"bot":           true,
		"verified":      true,
		"flags":         0,
	}
}
