package fakeslack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

const (
	botToken = "xoxb-1-tocsin-test"
	appToken = "xapp-1-tocsin-test"
	channel  = "C0ALERTS"
)

func newFake(t *testing.T) *Server {
	t.Helper()
	f := New()
	t.Cleanup(f.Close)
	return f
}

func newClient(f *Server, token string) *slack.Client {
	return slack.New(token, slack.OptionAppLevelToken(appToken), slack.OptionAPIURL(f.APIURL()))
}

func timeout(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// tsBefore reports whether Slack timestamp a is earlier than b.
func tsBefore(t *testing.T, a, b string) bool {
	t.Helper()
	parse := func(ts string) (int64, int64) {
		sec, micro, ok := strings.Cut(ts, ".")
		if !ok || len(micro) != 6 {
			t.Fatalf("timestamp %q is not SECONDS.MICROS", ts)
		}
		s, err1 := strconv.ParseInt(sec, 10, 64)
		m, err2 := strconv.ParseInt(micro, 10, 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("timestamp %q is not numeric", ts)
		}
		return s, m
	}
	as, am := parse(a)
	bs, bm := parse(b)
	return as < bs || as == bs && am < bm
}

func TestAuthTest(t *testing.T) {
	f := newFake(t)
	resp, err := newClient(f, botToken).AuthTestContext(timeout(t))
	if err != nil {
		t.Fatalf("AuthTest: %v", err)
	}
	if resp.TeamID != TeamID || resp.UserID != BotUserID || resp.BotID != BotID || resp.Team != TeamDomain || resp.URL == "" || resp.User != BotUserName {
		t.Errorf("AuthTest = %+v", resp)
	}
	calls := f.Calls()
	if len(calls) != 1 || calls[0].Method != "auth.test" || calls[0].Token != botToken || !calls[0].OK || calls[0].Status != 200 {
		t.Errorf("Calls() = %+v", calls)
	}
}

func TestTokens(t *testing.T) {
	tests := []struct {
		name, token, wantErr string
	}{
		{"missing", "", "not_authed"},
		{"not a slack token", "hunter2", "invalid_auth"},
		{"app-level token on chat", "xapp-1-nope", "not_allowed_token_type"},
		{"bot token", botToken, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			_, _, err := newClient(f, tt.token).PostMessageContext(timeout(t), channel, slack.MsgOptionText("hi", false))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("PostMessage: %v", err)
				}
				return
			}
			var serr slack.SlackErrorResponse
			if !errors.As(err, &serr) || serr.Err != tt.wantErr {
				t.Fatalf("PostMessage error = %v, want %s", err, tt.wantErr)
			}
			if n := len(f.Messages(channel)); n != 0 {
				t.Errorf("%d messages stored after a refused call", n)
			}
		})
	}
}

func TestPostUpdateThread(t *testing.T) {
	f := newFake(t)
	ctx := timeout(t)
	api := newClient(f, botToken)

	block := slack.NewSectionBlock(slack.NewTextBlockObject("mrkdwn", "*web-1* is DOWN", false, false), nil, nil)
	ch, ts1, err := api.PostMessageContext(ctx, channel, slack.MsgOptionText("web-1 is DOWN", false), slack.MsgOptionBlocks(block))
	if err != nil || ch != channel {
		t.Fatalf("PostMessage = %q, %q, %v", ch, ts1, err)
	}
	_, _, text, err := api.UpdateMessageContext(ctx, channel, ts1, slack.MsgOptionText("web-1 is UP again", false), slack.MsgOptionBlocks())
	if err != nil || text != "web-1 is UP again" {
		t.Fatalf("UpdateMessage = %q, %v", text, err)
	}
	_, ts2, err := api.PostMessageContext(ctx, channel, slack.MsgOptionText("recovered after 3m", false), slack.MsgOptionTS(ts1))
	if err != nil {
		t.Fatalf("thread reply: %v", err)
	}
	// A reply to a reply lands in the same thread.
	_, _, msg, err := api.PostMessageWithResponseContext(ctx, channel, slack.MsgOptionText("reminder", false), slack.MsgOptionTS(ts2))
	if err != nil {
		t.Fatalf("reply to a reply: %v", err)
	}
	ts3 := msg.Timestamp
	if msg.ThreadTimestamp != ts1 || msg.Text != "reminder" || msg.BotID != BotID {
		t.Errorf("returned message = %+v", msg.Msg)
	}
	if !tsBefore(t, ts1, ts2) || !tsBefore(t, ts2, ts3) {
		t.Errorf("timestamps not strictly increasing: %s %s %s", ts1, ts2, ts3)
	}

	got := f.Messages(channel)
	if len(got) != 3 {
		t.Fatalf("Messages = %+v, want 3", got)
	}
	if m := got[0]; m.TS != ts1 || m.ThreadTS != "" || m.Text != "web-1 is UP again" || m.Updates != 1 || m.Blocks != nil {
		t.Errorf("updated alert = %+v", m)
	}
	if m := got[1]; m.TS != ts2 || m.ThreadTS != ts1 || m.Text != "recovered after 3m" || m.Updates != 0 {
		t.Errorf("reply = %+v", m)
	}
	if m, ok := f.MessageAt(channel, ts3); !ok || m.ThreadTS != ts1 {
		t.Errorf("MessageAt(%s) = %+v, %v", ts3, m, ok)
	}
	if len(f.Messages("C0OTHER")) != 0 {
		t.Error("messages leaked into another channel")
	}

	// The form slack-go sent is recorded, blocks as JSON text.
	calls := f.Calls()
	first := calls[0]
	if first.Method != "chat.postMessage" || first.Form.Get("channel") != channel || first.Token != botToken {
		t.Errorf("first call = %+v", first)
	}
	var blocks []map[string]any
	if err := json.Unmarshal([]byte(first.Form.Get("blocks")), &blocks); err != nil || len(blocks) != 1 || blocks[0]["type"] != "section" {
		t.Errorf("blocks form field = %q (%v)", first.Form.Get("blocks"), err)
	}
	if err := f.WaitCalls(ctx, "chat.postMessage", 3); err != nil {
		t.Error(err)
	}
	if err := f.WaitCalls(ctx, "chat.update", 1); err != nil {
		t.Error(err)
	}
}

func TestChatErrors(t *testing.T) {
	tests := []struct {
		name    string
		call    func(ctx context.Context, api *slack.Client) error
		wantErr string
	}{
		{"unknown thread", func(ctx context.Context, api *slack.Client) error {
			_, _, err := api.PostMessageContext(ctx, channel, slack.MsgOptionText("x", false), slack.MsgOptionTS("1.000001"))
			return err
		}, "thread_not_found"},
		{"empty channel", func(ctx context.Context, api *slack.Client) error {
			_, _, err := api.PostMessageContext(ctx, "", slack.MsgOptionText("x", false))
			return err
		}, "channel_not_found"},
		{"no text", func(ctx context.Context, api *slack.Client) error {
			_, _, err := api.PostMessageContext(ctx, channel)
			return err
		}, "no_text"},
		{"update unknown message", func(ctx context.Context, api *slack.Client) error {
			_, _, _, err := api.UpdateMessageContext(ctx, channel, "1.000001", slack.MsgOptionText("x", false))
			return err
		}, "message_not_found"},
		{"unknown method", func(ctx context.Context, api *slack.Client) error {
			_, err := api.GetConversationInfoContext(ctx, &slack.GetConversationInfoInput{ChannelID: channel})
			return err
		}, "unknown_method"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			err := tt.call(timeout(t), newClient(f, botToken))
			var serr slack.SlackErrorResponse
			if !errors.As(err, &serr) || serr.Err != tt.wantErr {
				t.Fatalf("error = %v, want %s", err, tt.wantErr)
			}
			if calls := f.Calls(); len(calls) != 1 || calls[0].OK || calls[0].Status != 200 {
				t.Errorf("Calls() = %+v", calls)
			}
		})
	}
}

func TestScript(t *testing.T) {
	tests := []struct {
		name   string
		answer Answer
		status int
		check  func(t *testing.T, err error)
	}{
		{"rate limited", Answer{Status: 429, RetryAfter: 7}, 429, func(t *testing.T, err error) {
			var rl *slack.RateLimitedError
			if !errors.As(err, &rl) || rl.RetryAfter != 7*time.Second {
				t.Fatalf("error = %#v, want *slack.RateLimitedError after 7s", err)
			}
		}},
		{"server error", Answer{Status: 500}, 500, func(t *testing.T, err error) {
			var sc slack.StatusCodeError
			if !errors.As(err, &sc) || sc.Code != 500 {
				t.Fatalf("error = %#v, want slack.StatusCodeError 500", err)
			}
		}},
		{"api error", Answer{Error: "channel_not_found"}, 200, func(t *testing.T, err error) {
			var serr slack.SlackErrorResponse
			if !errors.As(err, &serr) || serr.Err != "channel_not_found" {
				t.Fatalf("error = %#v, want channel_not_found", err)
			}
		}},
		{"pass through", Answer{}, 200, func(t *testing.T, err error) {
			if err != nil {
				t.Fatalf("error = %v, want none", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			ctx := timeout(t)
			api := newClient(f, botToken)
			f.Script("chat.postMessage", tt.answer)
			_, _, err := api.PostMessageContext(ctx, channel, slack.MsgOptionText("first", false))
			tt.check(t, err)
			// The script is used up: the next call is handled normally.
			if _, _, err := api.PostMessageContext(ctx, channel, slack.MsgOptionText("second", false)); err != nil {
				t.Fatalf("call after the script: %v", err)
			}
			calls := f.Calls()
			if len(calls) != 2 || calls[0].Status != tt.status || calls[0].OK != (tt.answer == Answer{}) || !calls[1].OK {
				t.Errorf("Calls() = %+v", calls)
			}
			want := 1
			if tt.answer == (Answer{}) {
				want = 2
			}
			if got := len(f.Messages(channel)); got != want {
				t.Errorf("%d messages stored, want %d", got, want)
			}
		})
	}
}

func TestScriptOrderAndRetryHeader(t *testing.T) {
	f := newFake(t)
	f.Script("auth.test", Answer{Status: 503, RetryAfter: 2}, Answer{Error: "invalid_auth"})
	for i, want := range []int{503, 200, 200} {
		req, _ := http.NewRequest(http.MethodPost, f.APIURL()+"auth.test", strings.NewReader("token="+botToken))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("call %d: status %d, want %d", i, resp.StatusCode, want)
		}
		if i == 0 && resp.Header.Get("Retry-After") != "2" {
			t.Errorf("Retry-After = %q, want 2", resp.Header.Get("Retry-After"))
		}
	}
	calls := f.Calls()
	if calls[0].OK || calls[1].OK || !calls[2].OK {
		t.Errorf("Calls() = %+v", calls)
	}
}

func TestSetDown(t *testing.T) {
	f := newFake(t)
	ctx := timeout(t)
	api := newClient(f, botToken)
	f.SetDown(true)
	for _, call := range []func() error{
		func() error { _, err := api.AuthTestContext(ctx); return err },
		func() error {
			_, _, err := api.PostMessageContext(ctx, channel, slack.MsgOptionText("x", false))
			return err
		},
	} {
		var sc slack.StatusCodeError
		if err := call(); !errors.As(err, &sc) || sc.Code != 500 {
			t.Errorf("while down: error = %v, want status 500", err)
		}
	}
	if len(f.Messages(channel)) != 0 {
		t.Error("a message was stored while down")
	}
	for _, c := range f.Calls() {
		if c.Status != 500 || c.OK {
			t.Errorf("call while down = %+v", c)
		}
	}
	f.SetDown(false)
	if _, _, err := api.PostMessageContext(ctx, channel, slack.MsgOptionText("x", false)); err != nil {
		t.Fatalf("after down: %v", err)
	}
	if len(f.Calls()) != 3 {
		t.Errorf("%d calls recorded, want 3", len(f.Calls()))
	}
}

func TestJSONBody(t *testing.T) {
	f := newFake(t)
	body := `{"channel":"` + channel + `","text":"db is DOWN","unfurl_links":false,"blocks":[{"type":"divider"}],"metadata":null}`
	req, _ := http.NewRequest(http.MethodPost, f.APIURL()+"chat.postMessage", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Authorization", "Bearer "+botToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		OK      bool   `json:"ok"`
		Channel string `json:"channel"`
		TS      string `json:"ts"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || !out.OK || out.Channel != channel || out.TS == "" {
		t.Fatalf("answer = %+v, %v", out, err)
	}
	c := f.Calls()[0]
	want := url.Values{"channel": {channel}, "text": {"db is DOWN"}, "unfurl_links": {"false"}, "blocks": {`[{"type":"divider"}]`}}
	if c.Token != botToken || c.Form.Encode() != want.Encode() {
		t.Errorf("call = %+v, want form %v", c, want)
	}
	m := f.Messages(channel)
	if len(m) != 1 || string(m[0].Blocks) != `[{"type":"divider"}]` {
		t.Errorf("Messages = %+v", m)
	}
}

func TestEphemeral(t *testing.T) {
	f := newFake(t)
	ts, err := newClient(f, botToken).PostEphemeralContext(timeout(t), channel, "U0ALICE", slack.MsgOptionText("only you", false))
	if err != nil || ts == "" {
		t.Fatalf("PostEphemeral = %q, %v", ts, err)
	}
	if n := len(f.Messages(channel)); n != 0 {
		t.Errorf("ephemeral listed in Messages (%d)", n)
	}
	e := f.Ephemerals(channel)
	if len(e) != 1 || e[0].TS != ts || e[0].User != "U0ALICE" || !e[0].Ephemeral || e[0].Text != "only you" {
		t.Errorf("Ephemerals = %+v", e)
	}
}

func TestResponseURL(t *testing.T) {
	f := newFake(t)
	ctx := timeout(t)
	u1, u2 := f.ResponseURL(), f.ResponseURL()
	if u1 == u2 || !strings.HasPrefix(u1, "http://127.0.0.1:") {
		t.Fatalf("ResponseURL() = %q, %q", u1, u2)
	}
	if err := slack.PostWebhookContext(ctx, u1, &slack.WebhookMessage{Text: "web-1 is up", ResponseType: "in_channel", ReplaceOriginal: true}); err != nil {
		t.Fatalf("PostWebhook: %v", err)
	}
	// The way a bot answers through slack-go's chat helpers.
	api := newClient(f, botToken)
	if _, _, err := api.PostMessageContext(ctx, "", slack.MsgOptionText("pong", false), slack.MsgOptionResponseURL(u2, slack.ResponseTypeEphemeral)); err != nil {
		t.Fatalf("PostMessage to response_url: %v", err)
	}
	if err := f.WaitResponsePosts(ctx, 2); err != nil {
		t.Fatal(err)
	}
	posts := f.ResponsePosts()
	if len(posts) != 2 {
		t.Fatalf("ResponsePosts = %+v", posts)
	}
	if p := posts[0]; p.URL != u1 || p.Body["text"] != "web-1 is up" || p.Body["response_type"] != "in_channel" || p.Body["replace_original"] != true {
		t.Errorf("first post = %+v", p)
	}
	if p := posts[1]; p.URL != u2 || p.Body["text"] != "pong" || p.Body["response_type"] != "ephemeral" {
		t.Errorf("second post = %+v", p)
	}
	if len(f.Calls()) != 0 {
		t.Errorf("response_url posts recorded as Web API calls: %+v", f.Calls())
	}
	if err := slack.PostWebhookContext(ctx, f.URL()+"/commands/T0TOCSIN/1/nope", &slack.WebhookMessage{Text: "x"}); err == nil {
		t.Error("a response_url never handed out was accepted")
	}
}

func TestWaitCalls(t *testing.T) {
	f := newFake(t)
	api := newClient(f, botToken)
	go func() {
		time.Sleep(50 * time.Millisecond)
		_, _, _ = api.PostMessage(channel, slack.MsgOptionText("late", false))
	}()
	if err := f.WaitCalls(timeout(t), "chat.postMessage", 1); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := f.WaitCalls(short, "chat.postMessage", 2); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitCalls for a call never made = %v", err)
	}
	f.Close()
	if err := f.WaitCalls(timeout(t), "chat.postMessage", 2); err == nil {
		t.Error("WaitCalls after Close did not fail")
	}
}

// socketClient runs a slack-go Socket Mode client against f until the test
// ends. It acks slash commands with a payload echoing their text and
// interactions with none, and hands both on.
type socketClient struct {
	cmds         chan slack.SlashCommand
	interactions chan slack.InteractionCallback
}

func startSocketClient(t *testing.T, f *Server, opts ...socketmode.Option) *socketClient {
	t.Helper()
	api := newClient(f, botToken)
	smc := socketmode.New(api, opts...)
	sc := &socketClient{
		cmds:         make(chan slack.SlashCommand, 10),
		interactions: make(chan slack.InteractionCallback, 10),
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = smc.RunContext(ctx) })
	wg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case evt := <-smc.Events:
				switch evt.Type {
				case socketmode.EventTypeSlashCommand:
					cmd := evt.Data.(slack.SlashCommand)
					_ = smc.Ack(*evt.Request, map[string]any{"response_type": "ephemeral", "text": "echo " + cmd.Text})
					sc.cmds <- cmd
				case socketmode.EventTypeInteractive:
					_ = smc.Ack(*evt.Request)
					sc.interactions <- evt.Data.(slack.InteractionCallback)
				}
			}
		}
	})
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	return sc
}

func (sc *socketClient) nextCmd(t *testing.T) slack.SlashCommand {
	t.Helper()
	select {
	case cmd := <-sc.cmds:
		return cmd
	case <-time.After(5 * time.Second):
		t.Fatal("no slash command reached the client")
		return slack.SlashCommand{}
	}
}

func TestSocketMode(t *testing.T) {
	f := newFake(t)
	ctx := timeout(t)
	if _, err := f.SendSlashCommand(url.Values{"command": {"/tocsin"}}); err == nil {
		t.Error("SendSlashCommand without a connection did not fail")
	}
	sc := startSocketClient(t, f)
	if err := f.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}

	id, err := f.SendSlashCommand(url.Values{
		"command": {"/tocsin"}, "text": {"status web-1"},
		"user_id": {"U0ALICE"}, "user_name": {"alice"}, "channel_id": {channel},
	})
	if err != nil {
		t.Fatal(err)
	}
	cmd := sc.nextCmd(t)
	if cmd.Command != "/tocsin" || cmd.Text != "status web-1" || cmd.UserID != "U0ALICE" || cmd.ChannelID != channel ||
		cmd.TeamID != TeamID || cmd.APIAppID != AppID || cmd.TriggerID == "" || !strings.HasPrefix(cmd.ResponseURL, f.URL()+"/commands/") {
		t.Errorf("command the client saw = %+v", cmd)
	}
	payload, err := f.WaitAck(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	var ack map[string]string
	if err := json.Unmarshal(payload, &ack); err != nil || ack["text"] != "echo status web-1" || ack["response_type"] != "ephemeral" {
		t.Errorf("ack payload = %s (%v)", payload, err)
	}

	// A button click; the client acks without a payload.
	id, err = f.SendInteraction(map[string]any{
		"type":    "block_actions",
		"user":    map[string]any{"id": "U0ALICE", "username": "alice"},
		"channel": map[string]any{"id": channel},
		"actions": []map[string]any{{"type": "button", "action_id": "ack", "value": "web-1", "block_id": "b1"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case cb := <-sc.interactions:
		if cb.Type != slack.InteractionTypeBlockActions || cb.User.ID != "U0ALICE" || len(cb.ActionCallback.BlockActions) != 1 ||
			cb.ActionCallback.BlockActions[0].ActionID != "ack" || cb.ResponseURL == "" {
			t.Errorf("interaction the client saw = %+v", cb)
		}
	case <-ctx.Done():
		t.Fatal("no interaction reached the client")
	}
	if payload, err := f.WaitAck(ctx, id); err != nil || payload != nil {
		t.Errorf("WaitAck = %s, %v; want no payload", payload, err)
	}
	if _, err := f.WaitAck(ctx, "no-such-envelope"); err == nil {
		t.Error("WaitAck for an unknown envelope did not fail")
	}

	// A network failure: the client reconnects and commands still arrive.
	f.DropConnections()
	if err := f.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	if n := f.Connections(); n != 2 {
		t.Errorf("Connections() = %d after a drop, want 2", n)
	}
	if _, err := f.SendSlashCommand(url.Values{"command": {"/ping"}, "text": {"db"}}); err != nil {
		t.Fatal(err)
	}
	if cmd := sc.nextCmd(t); cmd.Command != "/ping" || cmd.Text != "db" {
		t.Errorf("command after reconnect = %+v", cmd)
	}

	// Slack recycling a connection: the client opens a new one.
	if err := f.SendDisconnect("refresh_requested"); err != nil {
		t.Fatal(err)
	}
	if err := f.waitFor(ctx, func() bool { return f.connections == 3 && f.currentLocked() != nil }); err != nil {
		t.Fatalf("no reconnect after disconnect: %v", err)
	}
	if _, err := f.SendSlashCommand(url.Values{"command": {"/tocsin"}, "text": {"help"}}); err != nil {
		t.Fatal(err)
	}
	if cmd := sc.nextCmd(t); cmd.Text != "help" {
		t.Errorf("command after disconnect = %+v", cmd)
	}

	// Every connection went through apps.connections.open with the app token.
	opens := 0
	for _, c := range f.Calls() {
		if c.Method == "apps.connections.open" {
			opens++
			if c.Token != appToken || !c.OK {
				t.Errorf("apps.connections.open call = %+v", c)
			}
		}
	}
	if opens != 3 {
		t.Errorf("%d apps.connections.open calls, want 3", opens)
	}
}

func TestSocketModePings(t *testing.T) {
	f := newFake(t)
	f.SetPingInterval(50 * time.Millisecond)
	startSocketClient(t, f, socketmode.OptionPingInterval(300*time.Millisecond))
	ctx := timeout(t)
	if err := f.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second) // several of the client's ping checks
	if n := f.Connections(); n != 1 {
		t.Errorf("Connections() = %d, want 1: the client gave up on the pings", n)
	}
}

func TestConnectionsOpenNeedsAppToken(t *testing.T) {
	f := newFake(t)
	api := slack.New(botToken, slack.OptionAppLevelToken(botToken), slack.OptionAPIURL(f.APIURL()))
	_, _, err := api.StartSocketModeContext(timeout(t))
	var serr slack.SlackErrorResponse
	if !errors.As(err, &serr) || serr.Err != "invalid_auth" {
		t.Fatalf("apps.connections.open with a bot token: %v, want invalid_auth", err)
	}
	_, u, err := newClient(f, botToken).StartSocketModeContext(timeout(t))
	if err != nil || !strings.HasPrefix(u, "ws://127.0.0.1:") {
		t.Fatalf("apps.connections.open = %q, %v", u, err)
	}
}

func TestCopies(t *testing.T) {
	f := newFake(t)
	api := newClient(f, botToken)
	_, _, err := api.PostMessageContext(timeout(t), channel, slack.MsgOptionText("x", false), slack.MsgOptionBlocks(slack.NewDividerBlock()))
	if err != nil {
		t.Fatal(err)
	}
	m := f.Messages(channel)
	m[0].Blocks[0] = 'X'
	f.Calls()[0].Form.Set("channel", "changed")
	if !bytes.HasPrefix(f.Messages(channel)[0].Blocks, []byte("[")) || f.Calls()[0].Form.Get("channel") != channel {
		t.Error("returned values share memory with the fake")
	}
}
