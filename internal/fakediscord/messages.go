package fakediscord

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Discord's limits the fake enforces (in characters).
const (
	maxContent          = 2000
	maxEmbeds           = 10
	maxEmbedTitle       = 256
	maxEmbedDescription = 4096
	maxEmbedFields      = 25
	maxFieldName        = 256
	maxFieldValue       = 1024
	maxFooterText       = 2048
	maxAuthorName       = 256
	maxEmbedTotal       = 6000
	maxActionRows       = 5
	maxRowComponents    = 5
	maxCustomID         = 100
	maxButtonLabel      = 80
	maxNonce            = 25
	// flagComponentsV2 lets a message carry layout components at top level.
	flagComponentsV2 = 1 << 15
)

// message is a stored message.
type message struct {
	Message
	created   time.Time
	edited    time.Time // zero until edited
	flags     int64
	webhookID string // incoming webhook or application id; "" for the bot's own posts
	token     string // interaction token of a follow-up or original
	refChan   string // message_reference.channel_id
}

func (m *message) public() Message {
	c := m.Message
	c.Embeds = cloneRaw(m.Embeds)
	c.Components = cloneRaw(m.Components)
	return c
}

// nonceUse is the message a nonce created.
type nonceUse struct {
	id   string
	when time.Time
}

// wireLocked is the message object Discord returns; s.mu must be held.
func (s *Server) wireLocked(m *message, withRef bool) map[string]any {
	author := s.botUserLocked()
	if m.webhookID != "" && m.webhookID != s.appID {
		author = map[string]any{"id": m.webhookID, "username": "tocsin", "discriminator": "0000", "avatar": nil, "bot": true}
	}
	embeds, components := json.RawMessage("[]"), json.RawMessage("[]")
	if m.Embeds != nil {
		embeds = m.Embeds
	}
	if m.Components != nil {
		components = m.Components
	}
	typ := 0
	if m.ReferenceID != "" {
		typ = 19 // REPLY
	}
	w := map[string]any{
		"id":               m.ID,
		"channel_id":       m.ChannelID,
		"type":             typ,
		"content":          m.Content,
		"author":           author,
		"timestamp":        m.created.Format(timeFormat),
		"edited_timestamp": nil,
		"tts":              false,
		"mention_everyone": false,
		"mentions":         []any{},
		"mention_roles":    []any{},
		"attachments":      []any{},
		"embeds":           embeds,
		"components":       components,
		"pinned":           false,
		"flags":            m.flags,
	}
	if !m.edited.IsZero() {
		w["edited_timestamp"] = m.edited.Format(timeFormat)
	}
	if m.Nonce != "" {
		w["nonce"] = m.Nonce
	}
	if m.webhookID != "" {
		w["webhook_id"] = m.webhookID
	}
	if m.webhookID != "" && m.webhookID == s.appID {
		w["application_id"] = s.appID
	}
	if m.ReferenceID != "" {
		w["message_reference"] = map[string]any{"type": 0, "message_id": m.ReferenceID, "channel_id": m.refChan}
		w["referenced_message"] = nil
		if ref := s.byID[m.ReferenceID]; ref != nil && withRef {
			w["referenced_message"] = s.wireLocked(ref, false)
		}
	}
	return w
}

// timeFormat is how Discord writes timestamps.
const timeFormat = "2006-01-02T15:04:05.000000-07:00"

// formError is one entry of a 50035 Invalid Form Body answer.
type formError struct {
	path, code, message string
}

// formErrors is what validation found.
type formErrors []formError

func (e *formErrors) add(path, code, format string, args ...any) {
	*e = append(*e, formError{path, code, fmt.Sprintf(format, args...)})
}

func (e *formErrors) maxLen(path, s string, limit int) {
	if utf8.RuneCountInString(s) > limit {
		e.add(path, "BASE_TYPE_MAX_LENGTH", "Must be %d or fewer in length.", limit)
	}
}

// reply is Discord's 400 {"code":50035,"errors":{...},"message":"Invalid
// Form Body"}, the errors nested by path as Discord nests them.
func (e formErrors) reply() reply {
	tree := map[string]any{}
	for _, fe := range e {
		node := tree
		if fe.path != "" {
			for _, part := range strings.Split(fe.path, ".") {
				next, _ := node[part].(map[string]any)
				if next == nil {
					next = map[string]any{}
					node[part] = next
				}
				node = next
			}
		}
		list, _ := node["_errors"].([]any)
		node["_errors"] = append(list, map[string]any{"code": fe.code, "message": fe.message})
	}
	return reply{status: http.StatusBadRequest, body: map[string]any{"code": 50035, "message": "Invalid Form Body", "errors": tree}}
}

func isNull(r json.RawMessage) bool {
	r = bytes.TrimSpace(r)
	return len(r) == 0 || string(r) == "null"
}

// array returns a JSON array's elements; nil when null. ok is false for
// anything else.
func array(r json.RawMessage) (elems []json.RawMessage, ok bool) {
	if isNull(r) {
		return nil, true
	}
	return elems, json.Unmarshal(r, &elems) == nil
}

// storedArray is how Message keeps Embeds and Components: nil for absent,
// null or empty, else the JSON as sent.
func storedArray(r json.RawMessage) json.RawMessage {
	elems, _ := array(r)
	if len(elems) == 0 {
		return nil
	}
	return cloneRaw(bytes.TrimSpace(r))
}

// content is the message-shaped part of a create or edit payload.
type content struct {
	content             string
	hasContent          bool
	embeds, components  json.RawMessage
	hasEmbeds, hasComps bool
	flags               int64
	hasFlags            bool
}

// readContent reads and validates content, embeds, components and flags.
// A null field counts as absent: Discord leaves it unchanged in an edit
// (an empty array clears embeds or components).
func readContent(f map[string]json.RawMessage, errs *formErrors) content {
	var c content
	if raw, ok := f["content"]; ok && !isNull(raw) {
		c.hasContent = true
		if json.Unmarshal(raw, &c.content) != nil {
			errs.add("content", "BASE_TYPE_STRING", "Must be a string.")
		}
		errs.maxLen("content", c.content, maxContent)
	}
	if raw, ok := f["flags"]; ok && !isNull(raw) {
		c.hasFlags = true
		if json.Unmarshal(raw, &c.flags) != nil {
			errs.add("flags", "NUMBER_TYPE_COERCE", "Value %q is not int.", string(raw))
		}
	}
	if raw, ok := f["embeds"]; ok && !isNull(raw) {
		c.hasEmbeds = true
		c.embeds = storedArray(raw)
		validateEmbeds(raw, errs)
	}
	if raw, ok := f["components"]; ok && !isNull(raw) {
		c.hasComps = true
		c.components = storedArray(raw)
		validateComponents(raw, c.flags&flagComponentsV2 != 0, errs)
	}
	return c
}

// embed is the part of an embed the limits are about.
type embed struct {
	Title       string `json:"title"`
	Description string `json:"description"`
	Fields      []struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	} `json:"fields"`
	Footer *struct {
		Text string `json:"text"`
	} `json:"footer"`
	Author *struct {
		Name string `json:"name"`
	} `json:"author"`
}

func validateEmbeds(raw json.RawMessage, errs *formErrors) {
	elems, ok := array(raw)
	if !ok {
		errs.add("embeds", "BASE_TYPE_ARRAY", "Must be an array.")
		return
	}
	if len(elems) > maxEmbeds {
		errs.add("embeds", "BASE_TYPE_MAX_LENGTH", "Must be %d or fewer in length.", maxEmbeds)
	}
	total := 0
	for i, el := range elems {
		p := "embeds." + strconv.Itoa(i)
		var e embed
		if json.Unmarshal(el, &e) != nil {
			errs.add(p, "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType")
			continue
		}
		errs.maxLen(p+".title", e.Title, maxEmbedTitle)
		errs.maxLen(p+".description", e.Description, maxEmbedDescription)
		total += utf8.RuneCountInString(e.Title) + utf8.RuneCountInString(e.Description)
		if len(e.Fields) > maxEmbedFields {
			errs.add(p+".fields", "BASE_TYPE_MAX_LENGTH", "Must be %d or fewer in length.", maxEmbedFields)
		}
		for j, fl := range e.Fields {
			fp := p + ".fields." + strconv.Itoa(j)
			if fl.Name == "" {
				errs.add(fp+".name", "BASE_TYPE_REQUIRED", "This field is required")
			}
			if fl.Value == "" {
				errs.add(fp+".value", "BASE_TYPE_REQUIRED", "This field is required")
			}
			errs.maxLen(fp+".name", fl.Name, maxFieldName)
			errs.maxLen(fp+".value", fl.Value, maxFieldValue)
			total += utf8.RuneCountInString(fl.Name) + utf8.RuneCountInString(fl.Value)
		}
		if e.Footer != nil {
			errs.maxLen(p+".footer.text", e.Footer.Text, maxFooterText)
			total += utf8.RuneCountInString(e.Footer.Text)
		}
		if e.Author != nil {
			errs.maxLen(p+".author.name", e.Author.Name, maxAuthorName)
			total += utf8.RuneCountInString(e.Author.Name)
		}
	}
	if total > maxEmbedTotal {
		errs.add("embeds", "MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of %d", maxEmbedTotal)
	}
}

// component is the part of a component the checks are about.
type component struct {
	Type       int               `json:"type"`
	Style      int               `json:"style"`
	Label      string            `json:"label"`
	CustomID   *string           `json:"custom_id"`
	URL        string            `json:"url"`
	Components []json.RawMessage `json:"components"`
}

func validateComponents(raw json.RawMessage, v2 bool, errs *formErrors) {
	elems, ok := array(raw)
	if !ok {
		errs.add("components", "BASE_TYPE_ARRAY", "Must be an array.")
		return
	}
	if !v2 && len(elems) > maxActionRows {
		errs.add("components", "BASE_TYPE_MAX_LENGTH", "Must be %d or fewer in length.", maxActionRows)
	}
	ids := map[string]bool{}
	var walk func(path string, el json.RawMessage, depth int)
	walk = func(path string, el json.RawMessage, depth int) {
		var c component
		if json.Unmarshal(el, &c) != nil {
			errs.add(path, "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType")
			return
		}
		if c.CustomID != nil {
			errs.maxLen(path+".custom_id", *c.CustomID, maxCustomID)
			if ids[*c.CustomID] {
				errs.add(path+".custom_id", "COMPONENT_CUSTOM_ID_DUPLICATED", "Component custom id cannot be duplicated")
			}
			ids[*c.CustomID] = true
		}
		switch {
		case !v2 && depth == 0 && c.Type != 1:
			errs.add(path+".type", "UNION_TYPE_CHOICES", "Value of field \"type\" must be one of (1,).")
		case !v2 && depth == 0 && (len(c.Components) == 0 || len(c.Components) > maxRowComponents):
			errs.add(path+".components", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and %d in length.", maxRowComponents)
		case !v2 && depth == 1 && c.Type == 1:
			errs.add(path+".type", "COMPONENT_LAYOUT_WIDTH_EXCEEDED", "The specified component exceeds the maximum width")
		}
		if c.Type == 2 {
			errs.maxLen(path+".label", c.Label, maxButtonLabel)
			switch {
			case c.Style == 5 && (c.URL == "" || c.CustomID != nil):
				errs.add(path+".url", "BUTTON_COMPONENT_URL_REQUIRED", "A url is required and custom_id forbidden on link buttons")
			case c.Style >= 1 && c.Style <= 4 && (c.CustomID == nil || *c.CustomID == ""):
				errs.add(path+".custom_id", "BUTTON_COMPONENT_CUSTOM_ID_REQUIRED", "A custom id required")
			}
		}
		for i, sub := range c.Components {
			walk(path+".components."+strconv.Itoa(i), sub, depth+1)
		}
	}
	for i, el := range elems {
		walk("components."+strconv.Itoa(i), el, 0)
	}
}

// readNonce reads a nonce: a string of at most 25 characters or an integer
// (kept as its digits).
func readNonce(raw json.RawMessage, errs *formErrors) string {
	if isNull(raw) {
		return ""
	}
	var str string
	if json.Unmarshal(raw, &str) == nil {
		errs.maxLen("nonce", str, maxNonce)
		return str
	}
	var n json.Number
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if dec.Decode(&n) == nil {
		if _, err := n.Int64(); err == nil {
			return n.String()
		}
	}
	errs.add("nonce", "BASE_TYPE_BAD_TYPE", "Must be a string or an integer.")
	return ""
}

// createMessage answers POST /channels/{id}/messages.
func (s *Server) createMessage(req *request) reply {
	channel := req.params["id"]
	f, ok := fields(req.body)
	if !ok {
		return errReply(http.StatusBadRequest, 50109)
	}
	var errs formErrors
	c := readContent(f, &errs)
	nonce := readNonce(f["nonce"], &errs)
	var enforce bool
	if raw, ok := f["enforce_nonce"]; ok && !isNull(raw) && json.Unmarshal(raw, &enforce) != nil {
		errs.add("enforce_nonce", "BASE_TYPE_BOOLEAN", "Must be either true or false.")
	}
	var ref struct {
		MessageID       string `json:"message_id"`
		ChannelID       string `json:"channel_id"`
		FailIfNotExists *bool  `json:"fail_if_not_exists"`
	}
	if raw, ok := f["message_reference"]; ok && !isNull(raw) && json.Unmarshal(raw, &ref) != nil {
		errs.add("message_reference", "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType")
	}
	if len(errs) > 0 {
		return errs.reply()
	}
	if c.content == "" && c.embeds == nil && c.components == nil && req.files == 0 && isNull(f["sticker_ids"]) {
		return errReply(http.StatusBadRequest, 50006)
	}
	if ref.MessageID != "" {
		refChan := ref.ChannelID
		if refChan == "" {
			refChan = channel
		}
		if m := s.byID[ref.MessageID]; m == nil || m.ChannelID != refChan || m.token != "" {
			if ref.FailIfNotExists == nil || *ref.FailIfNotExists {
				errs.add("message_reference", "MESSAGE_REFERENCE_UNKNOWN_MESSAGE", "Unknown message")
				return errs.reply()
			}
			ref.MessageID = ""
		}
		ref.ChannelID = refChan
	}
	key := channel + "\x00" + nonce
	if enforce && nonce != "" {
		if use, ok := s.nonces[key]; ok && req.now.Sub(use.when) < s.nonceWindow {
			if m := s.byID[use.id]; m != nil {
				return okReply(s.wireLocked(m, true))
			}
		}
	}
	m := &message{
		Message: Message{
			ChannelID:   channel,
			Content:     c.content,
			Embeds:      c.embeds,
			Components:  c.components,
			ReferenceID: ref.MessageID,
			Nonce:       nonce,
		},
		refChan: ref.ChannelID,
		flags:   c.flags,
	}
	s.storeLocked(m)
	if enforce && nonce != "" {
		s.nonces[key] = nonceUse{id: m.ID, when: req.now}
	}
	return okReply(s.wireLocked(m, true))
}

// storeLocked gives m its id and time and keeps it.
func (s *Server) storeLocked(m *message) {
	m.ID = s.nextIDLocked()
	id, _ := strconv.ParseUint(m.ID, 10, 64)
	m.created = snowflakeTime(id)
	if m.token == "" {
		s.messages = append(s.messages, m)
	}
	s.byID[m.ID] = m
}

// channelMessageLocked finds message mid in channel (not follow-ups or
// originals).
func (s *Server) channelMessageLocked(channel, mid string) *message {
	m := s.byID[mid]
	if m == nil || m.ChannelID != channel || m.token != "" {
		return nil
	}
	return m
}

// getMessage answers GET /channels/{id}/messages/{mid}.
func (s *Server) getMessage(req *request) reply {
	m := s.channelMessageLocked(req.params["id"], req.params["mid"])
	if m == nil {
		return errReply(http.StatusNotFound, 10008)
	}
	return okReply(s.wireLocked(m, true))
}

// editMessage answers PATCH /channels/{id}/messages/{mid}.
func (s *Server) editMessage(req *request) reply {
	m := s.channelMessageLocked(req.params["id"], req.params["mid"])
	if m == nil {
		return errReply(http.StatusNotFound, 10008)
	}
	if m.webhookID != "" {
		return errReply(http.StatusForbidden, 50005)
	}
	return s.editLocked(m, req)
}

// editLocked applies the edit payload of req to m.
func (s *Server) editLocked(m *message, req *request) reply {
	f, ok := fields(req.body)
	if !ok {
		return errReply(http.StatusBadRequest, 50109)
	}
	return s.applyEditLocked(m, f, req.files, req.now)
}

// applyEditLocked applies an edit payload to m: absent or null fields stay
// as they are, [] clears embeds or components.
func (s *Server) applyEditLocked(m *message, f map[string]json.RawMessage, files int, now time.Time) reply {
	var errs formErrors
	c := readContent(f, &errs)
	if len(errs) > 0 {
		return errs.reply()
	}
	next := *m
	if c.hasContent {
		next.Content = c.content
	}
	if c.hasEmbeds {
		next.Embeds = c.embeds
	}
	if c.hasComps {
		next.Components = c.components
	}
	if c.hasFlags {
		next.flags = c.flags
	}
	if next.Content == "" && next.Embeds == nil && next.Components == nil && files == 0 {
		return errReply(http.StatusBadRequest, 50006)
	}
	next.Edits++
	next.edited = now
	*m = next
	return okReply(s.wireLocked(m, true))
}

// deleteMessage answers DELETE /channels/{id}/messages/{mid}.
func (s *Server) deleteMessage(req *request) reply {
	m := s.channelMessageLocked(req.params["id"], req.params["mid"])
	if m == nil {
		return errReply(http.StatusNotFound, 10008)
	}
	s.removeLocked(m)
	return noContent()
}

func (s *Server) removeLocked(m *message) {
	delete(s.byID, m.ID)
	s.messages = slices.DeleteFunc(s.messages, func(x *message) bool { return x == m })
}

// incomingWebhookLocked checks the {id}/{token} of an incoming webhook
// route; rep is the error when they are not the fake's webhook.
func (s *Server) incomingWebhookLocked(req *request) (rep reply, ok bool) {
	switch {
	case req.params["id"] != s.webhookID:
		return errReply(http.StatusNotFound, 10015), false
	case req.params["token"] != s.webhookToken:
		return errReply(http.StatusUnauthorized, 50027), false
	}
	return reply{}, true
}

// executeWebhook answers POST /webhooks/{id}/{token}: a message in
// WebhookChannelID, returned with ?wait=true, else 204.
func (s *Server) executeWebhook(req *request) reply {
	if rep, ok := s.incomingWebhookLocked(req); !ok {
		return rep
	}
	m, rep, ok := s.webhookPostLocked(req, WebhookChannelID, s.webhookID, "")
	if !ok {
		return rep
	}
	if req.query.Get("wait") != "true" {
		return noContent()
	}
	return okReply(s.wireLocked(m, true))
}

// webhookPostLocked validates and stores a webhook execute payload.
func (s *Server) webhookPostLocked(req *request, channel, webhookID, token string) (*message, reply, bool) {
	f, ok := fields(req.body)
	if !ok {
		return nil, errReply(http.StatusBadRequest, 50109), false
	}
	var errs formErrors
	c := readContent(f, &errs)
	if raw, ok := f["username"]; ok && !isNull(raw) {
		var name string
		_ = json.Unmarshal(raw, &name)
		errs.maxLen("username", name, 80)
	}
	if len(errs) > 0 {
		return nil, errs.reply(), false
	}
	if c.content == "" && c.embeds == nil && c.components == nil && req.files == 0 {
		return nil, errReply(http.StatusBadRequest, 50006), false
	}
	m := &message{
		Message: Message{
			ChannelID:  channel,
			Content:    c.content,
			Embeds:     c.embeds,
			Components: c.components,
			Webhook:    true,
		},
		flags:     c.flags,
		webhookID: webhookID,
		token:     token,
	}
	s.storeLocked(m)
	return m, reply{}, true
}

// webhookMessageLocked finds a message of the incoming webhook.
func (s *Server) webhookMessageLocked(req *request) (*message, reply, bool) {
	if rep, ok := s.incomingWebhookLocked(req); !ok {
		return nil, rep, false
	}
	m := s.byID[req.params["mid"]]
	if m == nil || m.webhookID != s.webhookID || m.token != "" {
		return nil, errReply(http.StatusNotFound, 10008), false
	}
	return m, reply{}, true
}

// getWebhookMessage answers GET /webhooks/{id}/{token}/messages/{mid}.
func (s *Server) getWebhookMessage(req *request) reply {
	m, rep, ok := s.webhookMessageLocked(req)
	if !ok {
		return rep
	}
	return okReply(s.wireLocked(m, true))
}

// editWebhookMessage answers PATCH /webhooks/{id}/{token}/messages/{mid}.
func (s *Server) editWebhookMessage(req *request) reply {
	m, rep, ok := s.webhookMessageLocked(req)
	if !ok {
		return rep
	}
	return s.editLocked(m, req)
}

// deleteWebhookMessage answers DELETE /webhooks/{id}/{token}/messages/{mid}.
func (s *Server) deleteWebhookMessage(req *request) reply {
	m, rep, ok := s.webhookMessageLocked(req)
	if !ok {
		return rep
	}
	s.removeLocked(m)
	return noContent()
}
