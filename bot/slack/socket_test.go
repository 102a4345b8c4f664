package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tocsin/tocsin/bot"
	"github.com/tocsin/tocsin/internal/fakeslack"
)

const (
	testBotToken = "xoxb-0000-secret-bot-token"
	testAppToken = "xapp-1-secret-app-token"
)

// logBuffer collects a test's log lines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// runSocket runs RunSocketMode against fake until the test ends; the
// cleanup fails the test if it does not return within 10 s of ctx's end or
// if its log shows a token.
func runSocket(t *testing.T, fake *fakeslack.Server, h Handler) *logBuffer {
	t.Helper()
	logs := &logBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- RunSocketMode(ctx, Options{
			Handler:  h,
			BotToken: testBotToken,
			AppToken: testAppToken,
			// No trailing "/": RunSocketMode adds it.
			APIURL: strings.TrimSuffix(fake.APIURL(), "/"),
			Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("RunSocketMode: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("RunSocketMode did not return after its context ended")
		}
		if s := logs.String(); strings.Contains(s, testAppToken) || strings.Contains(s, testBotToken) {
			t.Errorf("a token is in the log:\n%s", s)
		}
		if t.Failed() {
			t.Logf("log:\n%s", logs.String())
		}
	})
	return logs
}

// waitFor polls cond until it holds or ctx ends.
func waitFor(ctx context.Context, t *testing.T, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v", what, ctx.Err())
		case <-tick.C:
		}
	}
}

// jsonEqual reports whether a and b hold the same JSON value.
func jsonEqual(t *testing.T, a []byte, b string) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatalf("%q: %v", a, err)
	}
	if err := json.Unmarshal([]byte(b), &y); err != nil {
		t.Fatalf("%q: %v", b, err)
	}
	return reflect.DeepEqual(x, y)
}

func TestSocketMode(t *testing.T) {
	fake := fakeslack.New()
	t.Cleanup(fake.Close)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()

	rec := newRecorder(func(cmd bot.Command) bot.Response {
		switch {
		case cmd.Name == bot.CmdPing:
			return bot.Response{
				Now: bot.Reply{Text: "Pinging " + strings.Join(cmd.Args, " ") + "…"},
				Later: func(context.Context) bot.Reply {
					return bot.Reply{Text: "3 replies from " + cmd.Args[0], Block: "rtt 0.1 ms"}
				},
			}
		case cmd.Name == bot.CmdAck && cmd.Incident != 0:
			return bot.Response{Now: bot.Reply{Text: "Already acknowledged by bob", Ephemeral: true}}
		default:
			return bot.Response{Now: bot.Reply{Text: "shop is up", Block: "shop  up", Ephemeral: true}}
		}
	})
	logs := runSocket(t, fake, rec.handler())
	if err := fake.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}

	alice := bot.User{ID: "U0ALICE", Name: "alice"}
	slash := func(command, text string) url.Values {
		return url.Values{"command": {command}, "text": {text},
			"user_id": {alice.ID}, "user_name": {alice.Name},
			"channel_id": {"C0ALERTS"}, "channel_name": {"alerts"}}
	}

	// A command answered at once and later.
	env, err := fake.SendSlashCommand(slash("/tocsin", "ping 127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := rec.wait(t), (bot.Command{Platform: "slack", Name: "ping", Args: []string{"127.0.0.1"},
		User: alice, Channel: "C0ALERTS", Allowed: true}); !reflect.DeepEqual(got, want) {
		t.Fatalf("handler got %+v, want %+v", got, want)
	}
	payload, err := fake.WaitAck(ctx, env)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"response_type":"in_channel","text":"Pinging 127.0.0.1…"}`; !jsonEqual(t, payload, want) {
		t.Fatalf("ack payload %s, want %s", payload, want)
	}
	if err := fake.WaitResponsePosts(ctx, 1); err != nil {
		t.Fatal(err)
	}
	post := fake.ResponsePosts()[0]
	if want := map[string]any{"response_type": "in_channel", "text": "3 replies from 127.0.0.1\n```\nrtt 0.1 ms\n```",
		"replace_original": false, "delete_original": false}; !reflect.DeepEqual(post.Body, want) {
		t.Fatalf("follow-up %v, want %v", post.Body, want)
	}

	// A dropped connection is reopened, and commands work on the new one.
	before := fake.Connections()
	fake.DropConnections()
	waitFor(ctx, t, "a new connection", func() bool { return fake.Connections() > before })
	if err := fake.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	env, err = fake.SendSlashCommand(slash("/tocsin", "status"))
	if err != nil {
		t.Fatal(err)
	}
	if got := rec.wait(t); got.Name != bot.CmdStatus {
		t.Fatalf("handler got %+v", got)
	}
	payload, err = fake.WaitAck(ctx, env)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"response_type":"ephemeral","text":"shop is up\n` + "```" + `\nshop  up\n` + "```" + `"}`; !jsonEqual(t, payload, want) {
		t.Fatalf("ack payload %s, want %s", payload, want)
	}

	// A click on Acknowledge: acked at once with no payload, the ack
	// reaches the handler, its refusal goes to the response_url.
	env, err = fake.SendInteraction(blockActions("tocsin_ack", "42", ""))
	if err != nil {
		t.Fatal(err)
	}
	payload, err = fake.WaitAck(ctx, env)
	if err != nil {
		t.Fatal(err)
	}
	if payload != nil {
		t.Errorf("button ack payload %s, want none", payload)
	}
	if got, want := rec.wait(t), (bot.Command{Platform: "slack", Name: "ack", Incident: 42,
		User: alice, Channel: "C0ALERTS", Allowed: true}); !reflect.DeepEqual(got, want) {
		t.Fatalf("handler got %+v, want %+v", got, want)
	}
	if err := fake.WaitResponsePosts(ctx, 2); err != nil {
		t.Fatal(err)
	}
	post = fake.ResponsePosts()[1]
	if want := map[string]any{"response_type": "ephemeral", "text": "Already acknowledged by bob",
		"replace_original": false, "delete_original": false}; !reflect.DeepEqual(post.Body, want) {
		t.Fatalf("refusal %v, want %v", post.Body, want)
	}

	// Another button is acknowledged and ignored.
	env, err = fake.SendInteraction(blockActions("other", "1", ""))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fake.WaitAck(ctx, env); err != nil {
		t.Fatal(err)
	}

	if n := len(rec.commands()); n != 3 {
		t.Errorf("handler called %d times, want 3", n)
	}
	if !strings.Contains(logs.String(), "socket mode reconnected") {
		t.Errorf("no reconnection in the log:\n%s", logs.String())
	}
}

// socketmode gives up on an authentication error; RunSocketMode starts it
// again after a wait.
func TestSocketModeRetriesAfterAuthError(t *testing.T) {
	fake := fakeslack.New()
	t.Cleanup(fake.Close)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	fake.Script("apps.connections.open", fakeslack.Answer{Error: "invalid_auth"})

	rec := newRecorder(func(bot.Command) bot.Response { return bot.Response{Now: bot.Reply{Text: "ok"}} })
	logs := runSocket(t, fake, rec.handler())
	if err := fake.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "invalid_auth") {
		t.Errorf("the auth error is not in the log:\n%s", logs.String())
	}
	env, err := fake.SendSlashCommand(url.Values{"command": {"/tocsin"}, "text": {"help"}, "user_id": {"U1"}, "channel_id": {"C1"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fake.WaitAck(ctx, env); err != nil {
		t.Fatal(err)
	}
}

func TestSocketModeOptions(t *testing.T) {
	h := HandlerFunc(func(context.Context, bot.Command) bot.Response { return bot.Response{} })
	for _, opts := range []Options{{AppToken: testAppToken}, {Handler: h, BotToken: testBotToken}} {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		err := RunSocketMode(ctx, opts)
		cancel()
		if err == nil {
			t.Errorf("RunSocketMode(%+v) = nil, want an error", opts.AppToken)
		}
	}
}
