package fakediscord

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/tocsin/tocsin/internal/discordhttp"
)

const (
	botToken = "tocsin-test-token"
	channel  = "789"
	guild    = "456"
)

func newFake(t *testing.T) *Server {
	t.Helper()
	f := New()
	t.Cleanup(f.Close)
	return f
}

// newSession is a discordgo session pointed at f the way tocsin does it.
func newSession(t *testing.T, f *Server, token string) *discordgo.Session {
	t.Helper()
	s, err := discordgo.New("Bot " + token)
	if err != nil {
		t.Fatal(err)
	}
	if s.Client, err = discordhttp.Client(f.URL(), nil); err != nil {
		t.Fatal(err)
	}
	s.ShouldRetryOnRateLimit = false
	return s
}

func timeout(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// restErr asserts err is a *discordgo.RESTError with status and code.
func restErr(t *testing.T, err error, status, code int) {
	t.Helper()
	var re *discordgo.RESTError
	if !errors.As(err, &re) {
		t.Fatalf("error = %v (%T), want a *discordgo.RESTError", err, err)
	}
	if re.Response.StatusCode != status {
		t.Errorf("status = %d, want %d (%s)", re.Response.StatusCode, status, re.ResponseBody)
	}
	if re.Message == nil || re.Message.Code != code {
		t.Errorf("body = %s, want code %d", re.ResponseBody, code)
	}
}

func alertSend() *discordgo.MessageSend {
	return &discordgo.MessageSend{
		Content: "web-1 is DOWN",
		Embeds: []*discordgo.MessageEmbed{{
			Title:       "web-1 is DOWN",
			Description: "HTTP 503",
			Fields:      []*discordgo.MessageEmbedField{{Name: "since", Value: "12:00"}},
		}},
		Components: []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{
			discordgo.Button{Label: "Acknowledge", Style: discordgo.PrimaryButton, CustomID: "ack:web-1"},
		}}},
	}
}

func TestSendEditReply(t *testing.T) {
	f := newFake(t)
	s := newSession(t, f, botToken)

	m, err := s.ChannelMessageSendComplex(channel, alertSend())
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	if m.ID == "" || m.ChannelID != channel || m.Content != "web-1 is DOWN" || len(m.Embeds) != 1 || len(m.Components) != 1 ||
		m.Author == nil || !m.Author.Bot || m.Timestamp.IsZero() {
		t.Fatalf("sent message = %+v", m)
	}
	row, ok := m.Components[0].(*discordgo.ActionsRow)
	if !ok || len(row.Components) != 1 || row.Components[0].(*discordgo.Button).CustomID != "ack:web-1" {
		t.Errorf("components = %#v", m.Components)
	}

	edited, err := s.ChannelMessageEditComplex(discordgo.NewMessageEdit(channel, m.ID).
		SetContent("web-1 is UP").SetEmbeds([]*discordgo.MessageEmbed{{Title: "web-1 recovered"}}))
	if err != nil {
		t.Fatalf("edit: %v", err)
	}
	if edited.Content != "web-1 is UP" || edited.EditedTimestamp == nil || len(edited.Components) != 1 {
		t.Errorf("edited = %+v", edited)
	}

	reply, err := s.ChannelMessageSendReply(channel, "recovered after 5m", m.Reference())
	if err != nil {
		t.Fatalf("reply: %v", err)
	}
	if reply.Type != discordgo.MessageTypeReply || reply.MessageReference == nil || reply.MessageReference.MessageID != m.ID ||
		reply.ReferencedMessage == nil || reply.ReferencedMessage.ID != m.ID {
		t.Errorf("reply = %+v", reply)
	}
	if reply.ID <= m.ID && len(reply.ID) == len(m.ID) {
		t.Errorf("ids not increasing: %s then %s", m.ID, reply.ID)
	}

	got, err := s.ChannelMessage(channel, m.ID)
	if err != nil || got.Content != "web-1 is UP" {
		t.Errorf("get = %+v, %v", got, err)
	}

	msgs := f.Messages(channel)
	if len(msgs) != 2 {
		t.Fatalf("Messages = %+v", msgs)
	}
	if msgs[0].ID != m.ID || msgs[0].Edits != 1 || msgs[0].Content != "web-1 is UP" ||
		!strings.Contains(string(msgs[0].Embeds), "web-1 recovered") || !strings.Contains(string(msgs[0].Components), "ack:web-1") {
		t.Errorf("first = %+v", msgs[0])
	}
	if msgs[1].ReferenceID != m.ID || msgs[1].Embeds != nil || msgs[1].Components != nil || msgs[1].Webhook {
		t.Errorf("reply = %+v", msgs[1])
	}

	_, err = s.ChannelMessageEdit(channel, "1", "nope")
	restErr(t, err, 404, 10008)
	_, err = s.ChannelMessageSendReply(channel, "x", &discordgo.MessageReference{MessageID: "1"})
	restErr(t, err, 400, 50035)

	if err := s.ChannelMessageDelete(channel, msgs[1].ID); err != nil {
		t.Errorf("delete: %v", err)
	}
	if n := len(f.Messages(channel)); n != 1 {
		t.Errorf("%d messages after delete", n)
	}

	routes := []string{}
	for _, c := range f.Calls() {
		routes = append(routes, c.Route)
		if c.Auth != "Bot "+botToken {
			t.Errorf("call %s: Auth %q", c.Route, c.Auth)
		}
	}
	want := []string{
		"POST /channels/{id}/messages", "PATCH /channels/{id}/messages/{mid}", "POST /channels/{id}/messages",
		"GET /channels/{id}/messages/{mid}", "PATCH /channels/{id}/messages/{mid}", "POST /channels/{id}/messages",
		"DELETE /channels/{id}/messages/{mid}",
	}
	if strings.Join(routes, ",") != strings.Join(want, ",") {
		t.Errorf("routes = %q\nwant     %q", routes, want)
	}
	if err := f.WaitCalls(timeout(t), "POST /channels/{id}/messages", 2); err != nil {
		t.Error(err)
	}
}

// rawSend posts a message the way tocsin must to carry a nonce.
func rawSend(s *discordgo.Session, ch string, body map[string]any) (*discordgo.Message, error) {
	resp, err := s.RequestWithBucketID("POST", discordgo.EndpointChannelMessages(ch), body, discordgo.EndpointChannelMessages(ch))
	if err != nil {
		return nil, err
	}
	var m discordgo.Message
	return &m, json.Unmarshal(resp, &m)
}

func TestNonceDedup(t *testing.T) {
	f := newFake(t)
	s := newSession(t, f, botToken)

	body := map[string]any{"content": "web-1 is DOWN", "nonce": "tocsin-42", "enforce_nonce": true}
	first, err := rawSend(s, channel, body)
	if err != nil {
		t.Fatal(err)
	}
	second, err := rawSend(s, channel, body)
	if err != nil {
		t.Fatal(err)
	}
	if first.ID != second.ID {
		t.Errorf("a resend with the same nonce made message %s after %s", second.ID, first.ID)
	}
	if msgs := f.Messages(channel); len(msgs) != 1 || msgs[0].Nonce != "tocsin-42" {
		t.Errorf("Messages = %+v", msgs)
	}

	// Other channels, and sends without enforce_nonce, are not deduplicated.
	other, err := rawSend(s, "790", body)
	if err != nil || other.ID == first.ID {
		t.Errorf("other channel: %+v, %v", other, err)
	}
	loose := map[string]any{"content": "x", "nonce": "tocsin-43"}
	a, _ := rawSend(s, channel, loose)
	b, _ := rawSend(s, channel, loose)
	if a == nil || b == nil || a.ID == b.ID {
		t.Errorf("without enforce_nonce: %v, %v", a, b)
	}

	// An integer nonce works too; a nonce older than the window does not dedup.
	f.SetNonceWindow(time.Nanosecond)
	num := map[string]any{"content": "y", "nonce": 12345, "enforce_nonce": true}
	a, _ = rawSend(s, channel, num)
	b, _ = rawSend(s, channel, num)
	if a == nil || b == nil || a.ID == b.ID {
		t.Errorf("after the window: %v, %v", a, b)
	}
	if n := len(f.Messages(channel)); n != 5 {
		t.Errorf("%d messages, want 5", n)
	}

	_, err = rawSend(s, channel, map[string]any{"content": "z", "nonce": strings.Repeat("n", 26), "enforce_nonce": true})
	restErr(t, err, 400, 50035)
}

func TestValidation(t *testing.T) {
	long := func(n int) string { return strings.Repeat("é", n) }
	embeds := func(n int) []*discordgo.MessageEmbed {
		out := make([]*discordgo.MessageEmbed, n)
		for i := range out {
			out[i] = &discordgo.MessageEmbed{Title: "t"}
		}
		return out
	}
	fields := func(n int) []*discordgo.MessageEmbedField {
		out := make([]*discordgo.MessageEmbedField, n)
		for i := range out {
			out[i] = &discordgo.MessageEmbedField{Name: "n", Value: "v"}
		}
		return out
	}
	button := func(id string) []discordgo.MessageComponent {
		return []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{
			discordgo.Button{Label: "Ack", CustomID: id},
		}}}
	}
	tests := []struct {
		name string
		send *discordgo.MessageSend
		code int
	}{
		{"content at the limit", &discordgo.MessageSend{Content: long(2000)}, 0},
		{"content too long", &discordgo.MessageSend{Content: long(2001)}, 50035},
		{"empty", &discordgo.MessageSend{}, 50006},
		{"11 embeds", &discordgo.MessageSend{Embeds: embeds(11)}, 50035},
		{"title too long", &discordgo.MessageSend{Embeds: []*discordgo.MessageEmbed{{Title: long(257)}}}, 50035},
		{"description too long", &discordgo.MessageSend{Embeds: []*discordgo.MessageEmbed{{Description: long(4097)}}}, 50035},
		{"26 fields", &discordgo.MessageSend{Embeds: []*discordgo.MessageEmbed{{Fields: fields(26)}}}, 50035},
		{"embeds over 6000", &discordgo.MessageSend{Embeds: []*discordgo.MessageEmbed{
			{Description: long(4000)}, {Description: long(2001)},
		}}, 50035},
		{"custom_id at the limit", &discordgo.MessageSend{Components: button(long(100))}, 0},
		{"custom_id too long", &discordgo.MessageSend{Components: button(long(101))}, 50035},
	}
	f := newFake(t)
	s := newSession(t, f, botToken)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.ChannelMessageSendComplex(channel, tt.send)
			if tt.code == 0 {
				if err != nil {
					t.Fatalf("send: %v", err)
				}
				return
			}
			restErr(t, err, 400, tt.code)
		})
	}
	if n := len(f.Messages(channel)); n != 2 {
		t.Errorf("%d messages stored, want the 2 valid ones", n)
	}
}

func TestCommands(t *testing.T) {
	f := newFake(t)
	s := newSession(t, f, botToken)
	app := DefaultApplicationID
	cmds := []*discordgo.ApplicationCommand{
		{Name: "ping", Description: "ICMP echo", Options: []*discordgo.ApplicationCommandOption{
			{Type: discordgo.ApplicationCommandOptionString, Name: "host", Description: "host", Required: true},
		}},
		{Name: "status", Description: "Target status", Options: []*discordgo.ApplicationCommandOption{
			{Type: discordgo.ApplicationCommandOptionString, Name: "target", Description: "target", Autocomplete: true},
		}},
	}
	got, err := s.ApplicationCommandBulkOverwrite(app, guild, cmds)
	if err != nil {
		t.Fatalf("overwrite: %v", err)
	}
	if len(got) != 2 || got[0].ID == "" || got[0].Name != "ping" || got[0].GuildID != guild || got[0].ApplicationID != app ||
		got[1].Options[0].Name != "target" || got[0].Type != discordgo.ChatApplicationCommand {
		t.Fatalf("answer = %+v", got)
	}
	again, err := s.ApplicationCommandBulkOverwrite(app, guild, cmds[:1])
	if err != nil || len(again) != 1 || again[0].ID != got[0].ID {
		t.Errorf("second overwrite = %+v, %v (want the id kept)", again, err)
	}
	stored := f.Commands(app, guild)
	if len(stored) != 1 || !bytes.Contains(stored[0], []byte(`"name":"ping"`)) || !bytes.Contains(stored[0], []byte(got[0].ID)) {
		t.Errorf("Commands = %s", stored)
	}
	if f.Commands(app, "") != nil {
		t.Error("global commands set by a guild overwrite")
	}
	if _, err := s.ApplicationCommandBulkOverwrite(app, "", cmds); err != nil || len(f.Commands(app, "")) != 2 {
		t.Errorf("global overwrite: %v", err)
	}
	list, err := s.ApplicationCommands(app, guild)
	if err != nil || len(list) != 1 {
		t.Errorf("list = %+v, %v", list, err)
	}

	for name, bad := range map[string]*discordgo.ApplicationCommand{
		"upper-case name":    {Name: "Ping", Description: "d"},
		"no description":     {Name: "ping"},
		"required after opt": {Name: "mute", Description: "d", Options: []*discordgo.ApplicationCommandOption{{Type: 3, Name: "a", Description: "a"}, {Type: 3, Name: "b", Description: "b", Required: true}}},
	} {
		_, err := s.ApplicationCommandBulkOverwrite(app, guild, []*discordgo.ApplicationCommand{bad})
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		restErr(t, err, 400, 50035)
	}

	f.SetApplicationID("999")
	_, err = s.ApplicationCommandBulkOverwrite(app, guild, cmds)
	restErr(t, err, 403, 20012)
}

func TestInteractionRespond(t *testing.T) {
	f := newFake(t)
	s := newSession(t, f, botToken)
	ctx := timeout(t)

	id, token := f.NewInteraction(2)
	in := &discordgo.Interaction{ID: id, Token: token, AppID: DefaultApplicationID, Type: discordgo.InteractionApplicationCommand}
	err := s.InteractionRespond(in, &discordgo.InteractionResponse{
		Type: discordgo.InteractionResponseDeferredChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{Flags: discordgo.MessageFlagsEphemeral},
	})
	if err != nil {
		t.Fatalf("respond: %v", err)
	}
	resp, err := f.WaitInteractionResponse(ctx, id)
	if err != nil || resp.Type != 5 || resp.Token != token || !bytes.Contains(resp.Data, []byte(`"flags":64`)) {
		t.Errorf("response = %+v (%s), %v", resp, resp.Data, err)
	}
	err = s.InteractionRespond(in, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{Content: "twice"}})
	restErr(t, err, 400, 40060)
	err = s.InteractionRespond(&discordgo.Interaction{ID: "1", Token: "nope"}, &discordgo.InteractionResponse{Type: 4})
	restErr(t, err, 404, 10062)

	text := "web-1: up, 12 ms"
	orig, err := s.InteractionResponseEdit(in, &discordgo.WebhookEdit{Content: &text})
	if err != nil || orig.Content != text {
		t.Fatalf("edit original = %+v, %v", orig, err)
	}
	body, err := f.WaitOriginal(ctx, token)
	if err != nil || !bytes.Contains(body, []byte(text)) {
		t.Errorf("original = %s, %v", body, err)
	}
	if got := f.Originals()[token]; !bytes.Equal(got, body) {
		t.Errorf("Originals = %s", got)
	}
	if m, err := s.InteractionResponse(in); err != nil || m.Content != text {
		t.Errorf("get original = %+v, %v", m, err)
	}

	fu, err := s.FollowupMessageCreate(in, true, &discordgo.WebhookParams{Content: "more"})
	if err != nil || fu.ID == "" || fu.Content != "more" {
		t.Fatalf("follow-up = %+v, %v", fu, err)
	}
	more := "more, edited"
	if _, err := s.FollowupMessageEdit(in, fu.ID, &discordgo.WebhookEdit{Content: &more}); err != nil {
		t.Fatalf("follow-up edit: %v", err)
	}
	fus := f.Followups(token)
	if len(fus) != 1 || fus[0].Content != more || fus[0].Edits != 1 || !fus[0].Webhook {
		t.Errorf("Followups = %+v", fus)
	}

	// Autocomplete takes only type 8.
	aid, atok := f.NewInteraction(4)
	ain := &discordgo.Interaction{ID: aid, Token: atok}
	err = s.InteractionRespond(ain, &discordgo.InteractionResponse{Type: 4, Data: &discordgo.InteractionResponseData{Content: "x"}})
	restErr(t, err, 400, 50035)
	err = s.InteractionRespond(ain, &discordgo.InteractionResponse{Type: discordgo.InteractionApplicationCommandAutocompleteResult,
		Data: &discordgo.InteractionResponseData{Choices: []*discordgo.ApplicationCommandOptionChoice{{Name: "web-1", Value: "web-1"}}}})
	if err != nil {
		t.Errorf("autocomplete: %v", err)
	}
	if n := len(f.InteractionResponses()); n != 2 {
		t.Errorf("%d responses recorded, want 2", n)
	}
	for _, c := range f.Calls() {
		if strings.HasPrefix(c.Route, "POST /interactions") && c.Route != "POST /interactions/{id}/{token}/callback" ||
			strings.HasPrefix(c.Route, "PATCH /webhooks") && !strings.HasPrefix(c.Route, "PATCH /webhooks/{app}/{token}/messages/") {
			t.Errorf("route %q", c.Route)
		}
	}
}

func TestComponentUpdatesMessage(t *testing.T) {
	f := newFake(t)
	s := newSession(t, f, botToken)
	m, err := s.ChannelMessageSendComplex(channel, alertSend())
	if err != nil {
		t.Fatal(err)
	}
	id, token, err := f.NewComponentInteraction(channel, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	in := &discordgo.Interaction{ID: id, Token: token, AppID: DefaultApplicationID, Type: discordgo.InteractionMessageComponent}
	err = s.InteractionRespond(in, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseUpdateMessage,
		Data: &discordgo.InteractionResponseData{Content: "web-1 is DOWN, acked by alice", Components: []discordgo.MessageComponent{}}})
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	got := f.Messages(channel)[0]
	if got.Content != "web-1 is DOWN, acked by alice" || got.Components != nil || got.Embeds == nil || got.Edits != 1 {
		t.Errorf("after UPDATE_MESSAGE: %+v", got)
	}
	text := "web-1 is UP"
	if _, err := s.InteractionResponseEdit(in, &discordgo.WebhookEdit{Content: &text}); err != nil {
		t.Fatal(err)
	}
	if got := f.Messages(channel)[0]; got.Content != text || got.Edits != 2 {
		t.Errorf("after @original edit: %+v", got)
	}
	if _, _, err := f.NewComponentInteraction(channel, "1"); err == nil {
		t.Error("NewComponentInteraction accepted an unknown message")
	}
}

func TestWebhook(t *testing.T) {
	f := newFake(t)
	s := newSession(t, f, botToken)
	id, token := f.Webhook()
	if f.WebhookURL() != f.URL()+"/api/webhooks/"+id+"/"+token {
		t.Errorf("WebhookURL = %s", f.WebhookURL())
	}

	m, err := s.WebhookExecute(id, token, true, &discordgo.WebhookParams{Content: "web-1 is DOWN",
		Embeds: []*discordgo.MessageEmbed{{Title: "web-1"}}})
	if err != nil || m == nil || m.ID == "" || m.WebhookID != id || m.ChannelID != WebhookChannelID {
		t.Fatalf("execute = %+v, %v", m, err)
	}
	text := "web-1 is UP"
	if _, err := s.WebhookMessageEdit(id, token, m.ID, &discordgo.WebhookEdit{Content: &text}); err != nil {
		t.Fatalf("edit: %v", err)
	}

	// A plain POST to the URL as given (no API version, no wait): 204.
	resp, err := http.Post(f.WebhookURL(), "application/json", strings.NewReader(`{"content":"web-2 is DOWN"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Errorf("plain POST: %s", resp.Status)
	}

	msgs := f.Messages(WebhookChannelID)
	if len(msgs) != 2 || msgs[0].Content != text || msgs[0].Edits != 1 || !msgs[0].Webhook || !msgs[1].Webhook ||
		msgs[1].Content != "web-2 is DOWN" {
		t.Errorf("Messages = %+v", msgs)
	}
	_, err = s.WebhookExecute(id, "wrong", true, &discordgo.WebhookParams{Content: "x"})
	restErr(t, err, 401, 50027)
	_, err = s.WebhookExecute("1", token, true, &discordgo.WebhookParams{Content: "x"})
	restErr(t, err, 404, 10015)
	_, err = s.ChannelMessageEdit(WebhookChannelID, m.ID, "not mine")
	restErr(t, err, 403, 50005)
}

func TestScriptedErrors(t *testing.T) {
	f := newFake(t)
	s := newSession(t, f, botToken)
	const route = "POST /channels/{id}/messages"
	f.Script(route,
		Answer{Status: 429, RetryAfter: 0.25},
		Answer{Status: 500},
		Answer{Status: 403, Code: 50001},
		Answer{}, // normal, uses its place
		Answer{Status: 404, Code: 10003},
	)

	_, err := s.ChannelMessageSend(channel, "a")
	var rl *discordgo.RateLimitError
	if !errors.As(err, &rl) || rl.RetryAfter != 250*time.Millisecond || rl.Message != "You are being rate limited." {
		t.Fatalf("429: %v (%T)", err, err)
	}
	last := f.Calls()[0]
	if last.Status != 429 {
		t.Errorf("call status %d", last.Status)
	}

	start := time.Now()
	_, err = s.ChannelMessageSend(channel, "b")
	restErr(t, err, 500, 0)
	if waited := time.Since(start); waited < 200*time.Millisecond {
		t.Errorf("discordgo did not hold the bucket after the 429 (waited %v): rate limit headers not read?", waited)
	}
	_, err = s.ChannelMessageSend(channel, "c")
	restErr(t, err, 403, 50001)
	if _, err = s.ChannelMessageSend(channel, "d"); err != nil {
		t.Errorf("zero Answer: %v", err)
	}
	_, err = s.ChannelMessageSend(channel, "e")
	restErr(t, err, 404, 10003)
	if _, err = s.ChannelMessageSend(channel, "f"); err != nil {
		t.Errorf("after the script: %v", err)
	}
	if msgs := f.Messages(channel); len(msgs) != 2 || msgs[0].Content != "d" || msgs[1].Content != "f" {
		t.Errorf("Messages = %+v", msgs)
	}

	// A global 429 carries its flag.
	f.Script(route, Answer{Status: 429, RetryAfter: 0.01, Global: true})
	_, err = s.ChannelMessageSend(channel, "g")
	if !errors.As(err, &rl) {
		t.Fatalf("global 429: %v", err)
	}
}

func TestRateLimitHeaders(t *testing.T) {
	f := newFake(t)
	f.Script("POST /channels/{id}/messages", Answer{Status: 429, RetryAfter: 1.5})
	req, _ := http.NewRequest("POST", f.URL()+"/api/v10/channels/1/messages", strings.NewReader(`{"content":"x"}`))
	req.Header.Set("Authorization", "Bot x")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	h := resp.Header
	if resp.StatusCode != 429 || h.Get("Retry-After") != "2" || h.Get("X-RateLimit-Reset-After") != "1.500" ||
		h.Get("X-RateLimit-Remaining") != "0" || h.Get("X-RateLimit-Scope") != "user" || h.Get("X-RateLimit-Bucket") == "" {
		t.Errorf("429 %v", h)
	}
	var b struct {
		Message    string  `json:"message"`
		RetryAfter float64 `json:"retry_after"`
		Global     *bool   `json:"global"`
	}
	if json.Unmarshal(body, &b) != nil || b.RetryAfter != 1.5 || b.Global == nil || *b.Global || b.Message != "You are being rate limited." {
		t.Errorf("429 body %s", body)
	}
}

func TestSetDown(t *testing.T) {
	f := newFake(t)
	s := newSession(t, f, botToken)
	f.SetDown(true)
	_, err := s.ChannelMessageSend(channel, "a")
	var re *discordgo.RESTError
	if err == nil || errors.As(err, &re) || !strings.Contains(err.Error(), "502") {
		t.Errorf("while down: %v (%T); discordgo turns repeated 502s into a plain error", err, err)
	}
	calls := f.Calls()
	if len(calls) != 1+s.MaxRestRetries {
		t.Errorf("%d calls, want 1 + %d retries", len(calls), s.MaxRestRetries)
	}
	for _, c := range calls {
		if c.Status != 502 {
			t.Errorf("status %d", c.Status)
		}
	}
	if len(f.Messages(channel)) != 0 {
		t.Error("a message was stored while down")
	}
	f.SetDown(false)
	if _, err := s.ChannelMessageSend(channel, "b"); err != nil {
		t.Errorf("back up: %v", err)
	}
}

func TestToken(t *testing.T) {
	f := newFake(t)
	f.SetToken(botToken)
	_, err := newSession(t, f, "stolen").ChannelMessageSend(channel, "a")
	restErr(t, err, 401, 0)
	var re *discordgo.RESTError
	if errors.As(err, &re) && re.Message.Message != "401: Unauthorized" {
		t.Errorf("message %q", re.Message.Message)
	}
	if _, err := newSession(t, f, botToken).ChannelMessageSend(channel, "b"); err != nil {
		t.Errorf("right token: %v", err)
	}

	for _, auth := range []string{"", botToken, "Bearer " + botToken} {
		req, _ := http.NewRequest("GET", f.URL()+"/api/v9/gateway/bot", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Errorf("Authorization %q: %s", auth, resp.Status)
		}
	}
	if c := f.Calls()[0]; c.Auth != "Bot stolen" || c.Status != 401 {
		t.Errorf("call = %+v", c)
	}
}

func TestGatewayAndUnknownRoutes(t *testing.T) {
	f := newFake(t)
	s := newSession(t, f, botToken)
	gw, err := s.Gateway()
	if err != nil || gw != f.GatewayURL()+"/" {
		t.Errorf("Gateway = %q, %v", gw, err)
	}
	bot, err := s.GatewayBot()
	if err != nil || bot.Shards != 1 || bot.SessionStartLimit.MaxConcurrency != 1 {
		t.Errorf("GatewayBot = %+v, %v", bot, err)
	}
	u, err := s.User("@me")
	if err != nil || !u.Bot || u.ID != DefaultApplicationID || u.Username != BotUsername {
		t.Errorf("@me = %+v, %v", u, err)
	}
	_, err = s.Request("GET", discordgo.EndpointGuild(guild), nil)
	restErr(t, err, 404, 0)
	_, err = s.Request("PUT", discordgo.EndpointChannelMessages(channel), nil)
	restErr(t, err, 405, 0)
	calls := f.Calls()
	if r := calls[len(calls)-2].Route; r != "GET /guilds/"+guild {
		t.Errorf("unknown route recorded as %q", r)
	}
}

func TestMultipart(t *testing.T) {
	f := newFake(t)
	s := newSession(t, f, botToken)
	m, err := s.ChannelMessageSendComplex(channel, &discordgo.MessageSend{
		Content: "report attached",
		Files:   []*discordgo.File{{Name: "report.txt", ContentType: "text/plain", Reader: strings.NewReader("web-1 down")}},
	})
	if err != nil || m.Content != "report attached" {
		t.Fatalf("send with a file = %+v, %v", m, err)
	}
	// A file alone is not an empty message.
	if _, err := s.ChannelMessageSendComplex(channel, &discordgo.MessageSend{
		Files: []*discordgo.File{{Name: "a.txt", Reader: strings.NewReader("a")}},
	}); err != nil {
		t.Errorf("file only: %v", err)
	}
	if n := len(f.Messages(channel)); n != 2 {
		t.Errorf("%d messages", n)
	}
}

func TestDelayedAnswer(t *testing.T) {
	f := newFake(t)
	s := newSession(t, f, botToken)
	s.Client.Timeout = 200 * time.Millisecond
	s.MaxRestRetries = 0
	f.Script("POST /channels/{id}/messages", Answer{Delay: 5 * time.Second})
	body := map[string]any{"content": "web-1 is DOWN", "nonce": "tocsin-7", "enforce_nonce": true}
	if _, err := rawSend(s, channel, body); err == nil {
		t.Fatal("the delayed answer arrived within the client's timeout")
	}
	// Discord acted on the call whose answer was lost.
	if msgs := f.Messages(channel); len(msgs) != 1 {
		t.Fatalf("Messages = %+v", msgs)
	}
	if c := f.Calls()[0]; c.Status != http.StatusOK {
		t.Errorf("call recorded with %d", c.Status)
	}
	// The resend with the same nonce gets the same message.
	m, err := rawSend(s, channel, body)
	if err != nil || m.ID != f.Messages(channel)[0].ID || len(f.Messages(channel)) != 1 {
		t.Errorf("resend = %+v, %v", m, err)
	}
}
