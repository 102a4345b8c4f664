package fakediscord

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// interaction is one interaction NewInteraction handed out.
type interaction struct {
	id, token string
	kind      int
	responded bool
	// message is the channel message a component interaction came from
	// (NewComponentInteraction): UPDATE_MESSAGE callbacks and @original
	// edits change it.
	message *message
	// original is the response message otherwise, made on the first
	// message callback or @original call.
	original *message
}

// NewInteraction makes a fresh interaction of kind (2 application command,
// 3 message component, 4 autocomplete, 5 modal submit) and returns its id and
// token, for a test to put in an INTERACTION_CREATE payload (Dispatch) or an
// HTTP interaction. The fake then accepts one callback for it and, for the
// token, @original edits and follow-ups: since an HTTP-mode interaction is
// answered in the HTTP response the fake never sees, the token works whether
// or not a callback came.
func (s *Server) NewInteraction(kind int) (id, token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.newInteractionLocked(kind)
	return in.id, in.token
}

// NewComponentInteraction is NewInteraction for a click on a component of
// channel message messageID in channelID (kind 3): an UPDATE_MESSAGE
// callback (type 7) and PATCHes of @original then edit that message, as on
// Discord, and Messages shows the result. It fails when the fake holds no
// such message.
func (s *Server) NewComponentInteraction(channelID, messageID string) (id, token string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.channelMessageLocked(channelID, messageID)
	if m == nil {
		return "", "", fmt.Errorf("fakediscord: no message %s in channel %s", messageID, channelID)
	}
	in := s.newInteractionLocked(3)
	in.message = m
	return in.id, in.token, nil
}

func (s *Server) newInteractionLocked(kind int) *interaction {
	in := &interaction{
		id:    s.nextIDLocked(),
		token: "aW50ZXJhY3Rpb246" + randomToken(120),
		kind:  kind,
	}
	s.interactions[in.id] = in
	s.byToken[in.token] = in
	return in
}

// InteractionResponses returns every accepted interaction callback, in
// order (copies).
func (s *Server) InteractionResponses() []InteractionResponse {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]InteractionResponse, len(s.responses))
	for i, r := range s.responses {
		r.Data = cloneRaw(r.Data)
		out[i] = r
	}
	return out
}

// WaitInteractionResponse waits for the accepted callback of interaction id
// and returns it, or fails when ctx ends or the server is closed.
func (s *Server) WaitInteractionResponse(ctx context.Context, id string) (InteractionResponse, error) {
	var got InteractionResponse
	err := s.waitFor(ctx, func() bool {
		for _, r := range s.responses {
			if r.ID == id {
				got = r
				got.Data = cloneRaw(r.Data)
				return true
			}
		}
		return false
	})
	if err != nil {
		return InteractionResponse{}, fmt.Errorf("fakediscord: waiting for the response to interaction %s: %w", id, err)
	}
	return got, nil
}

// Originals returns, by interaction token, the body of the last accepted
// PATCH /webhooks/{app}/{token}/messages/@original (copies).
func (s *Server) Originals() map[string]json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]json.RawMessage, len(s.originals))
	for k, v := range s.originals {
		out[k] = cloneRaw(v)
	}
	return out
}

// WaitOriginal waits until @original of token was edited and returns the
// last edit's body, or fails when ctx ends or the server is closed.
func (s *Server) WaitOriginal(ctx context.Context, token string) (json.RawMessage, error) {
	var got json.RawMessage
	err := s.waitFor(ctx, func() bool {
		body, ok := s.originals[token]
		got = cloneRaw(body)
		return ok
	})
	if err != nil {
		return nil, fmt.Errorf("fakediscord: waiting for an @original edit: %w", err)
	}
	return got, nil
}

// Followups returns the current state of the follow-up messages created
// with POST /webhooks/{app}/{token} for interaction token, in post order
// (copies). Their ChannelID is "".
func (s *Server) Followups(token string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, m := range s.followups {
		if m.token == token {
			out = append(out, m.public())
		}
	}
	return out
}

// Commands returns the commands of the last bulk overwrite for appID in
// guildID ("" = global), as the fake answered them: the objects sent, with
// id, application_id, guild_id, version and type filled in. Nil when there
// was none.
func (s *Server) Commands(appID, guildID string) []json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	cmds := s.commands[appID+"/"+guildID]
	if cmds == nil {
		return nil
	}
	out := make([]json.RawMessage, len(cmds))
	for i, c := range cmds {
		out[i] = cloneRaw(c)
	}
	return out
}

// Discord's command limits.
const (
	maxCommands      = 100
	maxOptions       = 25
	maxChoices       = 25
	maxCmdDesc       = 100
	maxCmdNameLength = 32
)

// commandName is Discord's rule for CHAT_INPUT command and option names
// (which must also have no upper-case letters).
var commandName = regexp.MustCompile(`^[-_\p{L}\p{N}\p{Devanagari}\p{Thai}]{1,32}$`)

func validName(name string) bool {
	return commandName.MatchString(name) && !strings.ContainsFunc(name, unicode.IsUpper)
}

// option is the part of a command option the checks are about.
type option struct {
	Type         int               `json:"type"`
	Name         string            `json:"name"`
	Description  string            `json:"description"`
	Required     bool              `json:"required"`
	Autocomplete bool              `json:"autocomplete"`
	Choices      []json.RawMessage `json:"choices"`
	Options      []json.RawMessage `json:"options"`
}

func validateOptions(path string, raw []json.RawMessage, errs *formErrors) {
	if len(raw) > maxOptions {
		errs.add(path, "BASE_TYPE_MAX_LENGTH", "Must be %d or fewer in length.", maxOptions)
	}
	names := map[string]bool{}
	optional := false
	for i, el := range raw {
		p := path + "." + strconv.Itoa(i)
		var o option
		if json.Unmarshal(el, &o) != nil {
			errs.add(p, "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType")
			continue
		}
		if o.Type < 1 || o.Type > 11 {
			errs.add(p+".type", "BASE_TYPE_CHOICES", "Value must be one of {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}.")
		}
		if !validName(o.Name) {
			errs.add(p+".name", "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
		}
		if names[o.Name] {
			errs.add(p+".name", "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS", "Option name %s is already used in these options", o.Name)
		}
		names[o.Name] = true
		if n := utf8.RuneCountInString(o.Description); n < 1 || n > maxCmdDesc {
			errs.add(p+".description", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and %d in length.", maxCmdDesc)
		}
		if o.Required && optional {
			errs.add(p+".required", "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID", "Required options must be placed before non-required options")
		}
		if !o.Required {
			optional = true
		}
		if len(o.Choices) > maxChoices {
			errs.add(p+".choices", "BASE_TYPE_MAX_LENGTH", "Must be %d or fewer in length.", maxChoices)
		}
		if o.Autocomplete && len(o.Choices) > 0 {
			errs.add(p+".autocomplete", "AUTOCOMPLETE_AND_CHOICES_BOTH_SET", "Autocomplete and choices cannot both be set")
		}
		if o.Type <= 2 && len(o.Options) > 0 {
			validateOptions(p+".options", o.Options, errs)
		}
	}
}

// overwriteCommands answers PUT /applications/{app}/commands and PUT
// /applications/{app}/guilds/{guild}/commands.
func (s *Server) overwriteCommands(req *request) reply {
	app, guild := req.params["app"], req.params["guild"]
	if s.appIDSet && app != s.appID {
		return errReply(http.StatusForbidden, 20012)
	}
	var list []json.RawMessage
	if json.Unmarshal(req.body, &list) != nil {
		var errs formErrors
		errs.add("", "BASE_TYPE_ARRAY", "Must be an array.")
		return errs.reply()
	}
	var errs formErrors
	if len(list) > maxCommands {
		errs.add("", "BASE_TYPE_MAX_LENGTH", "Must be %d or fewer in length.", maxCommands)
	}
	type parsed struct {
		obj  map[string]json.RawMessage
		typ  int
		name string
	}
	cmds := make([]parsed, len(list))
	seen := map[string]bool{}
	for i, raw := range list {
		p := strconv.Itoa(i)
		var obj map[string]json.RawMessage
		var c struct {
			Type        int               `json:"type"`
			Name        string            `json:"name"`
			Description string            `json:"description"`
			Options     []json.RawMessage `json:"options"`
		}
		if json.Unmarshal(raw, &obj) != nil || obj == nil || json.Unmarshal(raw, &c) != nil {
			errs.add(p, "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType")
			continue
		}
		if c.Type == 0 {
			c.Type = 1
		}
		cmds[i] = parsed{obj, c.Type, c.Name}
		switch c.Type {
		case 1:
			if !validName(c.Name) {
				errs.add(p+".name", "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
			}
			if n := utf8.RuneCountInString(c.Description); n < 1 || n > maxCmdDesc {
				errs.add(p+".description", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and %d in length.", maxCmdDesc)
			}
			validateOptions(p+".options", c.Options, &errs)
		case 2, 3:
			if n := utf8.RuneCountInString(c.Name); n < 1 || n > maxCmdNameLength {
				errs.add(p+".name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and %d in length.", maxCmdNameLength)
			}
			if c.Description != "" {
				errs.add(p+".description", "APPLICATION_COMMAND_CONTEXT_MENU_DESCRIPTION", "Context menu commands cannot have description")
			}
		default:
			errs.add(p+".type", "BASE_TYPE_CHOICES", "Value must be one of {1, 2, 3, 4}.")
		}
		key := strconv.Itoa(c.Type) + "/" + c.Name
		if seen[key] {
			errs.add(p+".name", "APPLICATION_COMMANDS_DUPLICATE_NAME", "Application command names must be unique")
		}
		seen[key] = true
	}
	if len(errs) > 0 {
		return errs.reply()
	}
	version := s.nextIDLocked()
	out := make([]json.RawMessage, len(cmds))
	answer := make([]map[string]json.RawMessage, len(cmds))
	for i, c := range cmds {
		idKey := app + "/" + guild + "/" + strconv.Itoa(c.typ) + "/" + c.name
		id := s.cmdIDs[idKey]
		if id == "" {
			id = s.nextIDLocked()
			s.cmdIDs[idKey] = id
		}
		obj := c.obj
		set := func(k string, v any) { obj[k], _ = json.Marshal(v) }
		set("id", id)
		set("application_id", app)
		set("version", version)
		set("type", c.typ)
		if guild != "" {
			set("guild_id", guild)
		} else {
			delete(obj, "guild_id")
		}
		if _, ok := obj["default_member_permissions"]; !ok {
			obj["default_member_permissions"] = json.RawMessage("null")
		}
		if _, ok := obj["nsfw"]; !ok {
			set("nsfw", false)
		}
		if _, ok := obj["description"]; !ok {
			set("description", "")
		}
		answer[i] = obj
		out[i], _ = json.Marshal(obj)
	}
	s.commands[app+"/"+guild] = out
	return okReply(answer)
}

// getCommands answers GET for the command lists.
func (s *Server) getCommands(req *request) reply {
	app, guild := req.params["app"], req.params["guild"]
	if s.appIDSet && app != s.appID {
		return errReply(http.StatusForbidden, 20012)
	}
	cmds := s.commands[app+"/"+guild]
	if cmds == nil {
		cmds = []json.RawMessage{}
	}
	return okReply(cmds)
}

// callbackTypes are the callback types each interaction kind takes.
var callbackTypes = map[int][]int{
	2: {4, 5, 9},
	3: {4, 5, 6, 7, 9},
	4: {8},
	5: {4, 5, 6, 7},
}

// interactionCallback answers POST /interactions/{id}/{token}/callback.
func (s *Server) interactionCallback(req *request) reply {
	in := s.interactions[req.params["id"]]
	if in == nil || in.token != req.params["token"] {
		return errReply(http.StatusNotFound, 10062)
	}
	if in.responded {
		return errReply(http.StatusBadRequest, 40060)
	}
	f, ok := fields(req.body)
	if !ok {
		return errReply(http.StatusBadRequest, 50109)
	}
	var errs formErrors
	var typ int
	if json.Unmarshal(f["type"], &typ) != nil {
		errs.add("type", "BASE_TYPE_REQUIRED", "This field is required")
		return errs.reply()
	}
	allowed := false
	for _, t := range callbackTypes[in.kind] {
		allowed = allowed || t == typ
	}
	if !allowed {
		errs.add("type", "INTERACTION_RESPONSE_TYPE_INVALID", "Interaction response type %d is invalid for interaction type %d", typ, in.kind)
		return errs.reply()
	}
	data := f["data"]
	var d map[string]json.RawMessage
	if !isNull(data) && json.Unmarshal(data, &d) != nil {
		errs.add("data", "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType")
		return errs.reply()
	}
	switch typ {
	case 7:
		if in.message == nil {
			// A component on a message the fake does not hold:
			// validate and keep the result as the original.
			c := readContent(d, &errs)
			if len(errs) > 0 {
				return errs.reply()
			}
			in.original = s.originalFromLocked(in, c)
			break
		}
		if d == nil {
			d = map[string]json.RawMessage{}
		}
		if rep := s.applyEditLocked(in.message, d, req.files, req.now); rep.status != http.StatusOK {
			return rep
		}
	case 4:
		c := readContent(d, &errs)
		if len(errs) > 0 {
			return errs.reply()
		}
		if c.content == "" && c.embeds == nil && c.components == nil && req.files == 0 {
			return errReply(http.StatusBadRequest, 50006)
		}
		in.original = s.originalFromLocked(in, c)
	case 5:
		in.original = s.originalFromLocked(in, content{})
	case 8:
		var choices []json.RawMessage
		if raw, ok := d["choices"]; ok && json.Unmarshal(raw, &choices) != nil {
			errs.add("data.choices", "BASE_TYPE_ARRAY", "Must be an array.")
		}
		if len(choices) > maxChoices {
			errs.add("data.choices", "BASE_TYPE_MAX_LENGTH", "Must be %d or fewer in length.", maxChoices)
		}
	case 9:
		var m struct {
			CustomID string `json:"custom_id"`
			Title    string `json:"title"`
		}
		_ = json.Unmarshal(data, &m)
		if m.CustomID == "" {
			errs.add("data.custom_id", "BASE_TYPE_REQUIRED", "This field is required")
		}
		errs.maxLen("data.custom_id", m.CustomID, maxCustomID)
		if n := utf8.RuneCountInString(m.Title); n < 1 || n > 45 {
			errs.add("data.title", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 45 in length.")
		}
	}
	if len(errs) > 0 {
		return errs.reply()
	}
	in.responded = true
	var kept json.RawMessage
	if !isNull(data) {
		kept = cloneRaw(data)
	}
	s.responses = append(s.responses, InteractionResponse{ID: in.id, Token: in.token, Type: typ, Data: kept})
	return noContent()
}

// originalFromLocked makes (or refreshes) the message an interaction's
// response is.
func (s *Server) originalFromLocked(in *interaction, c content) *message {
	m := in.original
	if m == nil {
		m = &message{token: in.token, webhookID: s.appID, Message: Message{Webhook: true}}
		s.storeLocked(m)
	}
	m.Content, m.Embeds, m.Components, m.flags = c.content, c.embeds, c.components, c.flags
	return m
}

// interactionWebhookLocked checks the {app}/{token} of an interaction
// webhook route.
func (s *Server) interactionWebhookLocked(req *request) (*interaction, reply, bool) {
	in := s.byToken[req.params["token"]]
	if in == nil || (s.appIDSet && req.params["app"] != s.appID) {
		return nil, errReply(http.StatusNotFound, 10015), false
	}
	return in, reply{}, true
}

// originalLocked is the message @original names: the component's message,
// else the response message (made empty when there is none yet).
func (s *Server) originalLocked(in *interaction) *message {
	if in.message != nil && in.original == nil {
		return in.message
	}
	if in.original == nil {
		in.original = s.originalFromLocked(in, content{})
	}
	return in.original
}

// getOriginal answers GET /webhooks/{app}/{token}/messages/@original.
func (s *Server) getOriginal(req *request) reply {
	in, rep, ok := s.interactionWebhookLocked(req)
	if !ok {
		return rep
	}
	m := s.originalLocked(in)
	if s.byID[m.ID] == nil {
		return errReply(http.StatusNotFound, 10008)
	}
	return okReply(s.wireLocked(m, true))
}

// editOriginal answers PATCH /webhooks/{app}/{token}/messages/@original.
func (s *Server) editOriginal(req *request) reply {
	in, rep, ok := s.interactionWebhookLocked(req)
	if !ok {
		return rep
	}
	m := s.originalLocked(in)
	if s.byID[m.ID] == nil {
		return errReply(http.StatusNotFound, 10008)
	}
	rep = s.editLocked(m, req)
	if rep.status == http.StatusOK {
		s.originals[in.token] = cloneRaw(req.body)
	}
	return rep
}

// deleteOriginal answers DELETE /webhooks/{app}/{token}/messages/@original.
func (s *Server) deleteOriginal(req *request) reply {
	in, rep, ok := s.interactionWebhookLocked(req)
	if !ok {
		return rep
	}
	m := s.originalLocked(in)
	if s.byID[m.ID] == nil {
		return errReply(http.StatusNotFound, 10008)
	}
	s.removeLocked(m)
	return noContent()
}

// createFollowup answers POST /webhooks/{app}/{token}: a follow-up message
// (always returned, as Discord does for interaction webhooks).
func (s *Server) createFollowup(req *request) reply {
	in, rep, ok := s.interactionWebhookLocked(req)
	if !ok {
		return rep
	}
	m, rep, ok := s.webhookPostLocked(req, "", s.appID, in.token)
	if !ok {
		return rep
	}
	s.followups = append(s.followups, m)
	return okReply(s.wireLocked(m, true))
}

// followupLocked finds follow-up mid of an interaction webhook route.
func (s *Server) followupLocked(req *request) (*message, reply, bool) {
	in, rep, ok := s.interactionWebhookLocked(req)
	if !ok {
		return nil, rep, false
	}
	m := s.byID[req.params["mid"]]
	if m == nil || m.token != in.token || m == in.original {
		return nil, errReply(http.StatusNotFound, 10008), false
	}
	return m, reply{}, true
}

// getFollowup answers GET /webhooks/{app}/{token}/messages/{mid}.
func (s *Server) getFollowup(req *request) reply {
	m, rep, ok := s.followupLocked(req)
	if !ok {
		return rep
	}
	return okReply(s.wireLocked(m, true))
}

// editFollowup answers PATCH /webhooks/{app}/{token}/messages/{mid}.
func (s *Server) editFollowup(req *request) reply {
	m, rep, ok := s.followupLocked(req)
	if !ok {
		return rep
	}
	return s.editLocked(m, req)
}
