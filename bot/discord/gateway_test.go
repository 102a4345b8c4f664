package discord

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/tocsin/tocsin/bot"
	"github.com/tocsin/tocsin/internal/fakediscord"
)

// logBuffer collects a test's log, shown when the test fails.
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

func testLogger(t *testing.T) *slog.Logger {
	t.Helper()
	lb := &logBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("log:\n%s", lb)
		}
	})
	return slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// dispatch sends an INTERACTION_CREATE of a fresh interaction of kind with
// data from w, and returns its id and token.
func dispatch(t *testing.T, fake *fakediscord.Server, kind int, data map[string]any, w who) (id, token string) {
	t.Helper()
	id, token = fake.NewInteraction(kind)
	m := interactionMap(kind, id, token, fakediscord.DefaultApplicationID, data, w)
	if err := fake.Dispatch("INTERACTION_CREATE", m); err != nil {
		t.Fatal(err)
	}
	return id, token
}

// waitResponse waits for the callback of interaction id, at most 5 s.
func waitResponse(t *testing.T, fake *fakediscord.Server, id string) fakediscord.InteractionResponse {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	r, err := fake.WaitInteractionResponse(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// gatewayRespond answers the gateway test's commands: ping with a Later,
// ack by button with a refusal for incident 7, status with a text.
func gatewayRespond(cmd bot.Command) bot.Response {
	switch {
	case cmd.Name == bot.CmdPing:
		return bot.Response{
			Now: bot.Reply{Text: "Pinging " + cmd.Args[0] + " (3 echoes)…"},
			Later: func(context.Context) bot.Reply {
				return bot.Reply{Text: cmd.Args[0] + " answered 3 of 3 @everyone", Block: "rtt 0.1 ms"}
			},
		}
	case cmd.Name == bot.CmdAck && cmd.Incident == 7:
		return bot.Response{Now: bot.Reply{Text: "that incident of db is over", Ephemeral: true}}
	case cmd.Name == bot.CmdAck:
		return bot.Response{Now: bot.Reply{Text: cmd.User.Name + " acknowledged db"}}
	}
	return bot.Response{Now: bot.Reply{Text: "2 targets up"}}
}

func TestGateway(t *testing.T) {
	fake := fakediscord.New()
	defer fake.Close()
	fake.SetToken("bot-token")
	app := fakediscord.DefaultApplicationID

	rec := newRecorder(gatewayRespond)
	rec.names = []string{"shop", "db"}
	opts := Options{
		Handler: rec, Token: "bot-token", ApplicationID: app, GuildID: testGuild,
		APIURL: fake.URL(), Logger: testLogger(t),
	}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()

	// Registration: the eight commands, in the guild.
	if err := Register(ctx, opts); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, raw := range fake.Commands(app, testGuild) {
		var c struct{ Name string }
		if err := json.Unmarshal(raw, &c); err != nil {
			t.Fatal(err)
		}
		names = append(names, c.Name)
	}
	if strings.Join(names, " ") != "ping status ack unack mute unmute oncall help" {
		t.Fatalf("registered %v", names)
	}

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- RunGateway(runCtx, opts) }()
	waitReady := func() {
		t.Helper()
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := fake.WaitReady(wctx); err != nil {
			t.Fatal(err)
		}
	}
	waitReady()
	if n := fake.Identifies(); n != 1 {
		t.Errorf("%d identifies, want 1", n)
	}

	t.Run("ping is deferred, then @original edited", func(t *testing.T) {
		id, token := dispatch(t, fake, 2, commandData("ping", opt{name: "host", value: "web-1"}), alice)
		if r := waitResponse(t, fake, id); r.Type != 5 {
			t.Fatalf("response type %d (%s), want 5", r.Type, r.Data)
		}
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		orig, err := fake.WaitOriginal(wctx, token)
		if err != nil {
			t.Fatal(err)
		}
		var edit struct {
			Content         string
			AllowedMentions struct{ Parse []string } `json:"allowed_mentions"`
		}
		if err := json.Unmarshal(orig, &edit); err != nil {
			t.Fatal(err)
		}
		if edit.Content != "web-1 answered 3 of 3 @everyone\n```\nrtt 0.1 ms\n```" || edit.AllowedMentions.Parse == nil || len(edit.AllowedMentions.Parse) != 0 {
			t.Errorf("@original edited to %s", orig)
		}
		cmd := rec.wait(t)
		if cmd.Name != "ping" || cmd.Platform != "discord" || cmd.User.ID != alice.id || !cmd.Allowed {
			t.Errorf("command %+v", cmd)
		}
	})

	t.Run("a command's reply", func(t *testing.T) {
		id, _ := dispatch(t, fake, 2, commandData("status"), bob)
		r := waitResponse(t, fake, id)
		var data struct{ Content string }
		_ = json.Unmarshal(r.Data, &data)
		if r.Type != 4 || data.Content != "2 targets up" {
			t.Errorf("response %d %s", r.Type, r.Data)
		}
		rec.wait(t)
	})

	t.Run("button acks with a deferred update", func(t *testing.T) {
		id, token := dispatch(t, fake, 3, buttonData("tocsin_ack:42"), alice)
		if r := waitResponse(t, fake, id); r.Type != 6 {
			t.Fatalf("response type %d, want 6", r.Type)
		}
		cmd := rec.wait(t)
		if cmd.Name != "ack" || cmd.Incident != 42 || cmd.User.Name != "al" {
			t.Errorf("command %+v", cmd)
		}
		// A done ack posts nothing: the notifier edits the alert.
		time.Sleep(100 * time.Millisecond)
		if f := fake.Followups(token); len(f) != 0 {
			t.Errorf("follow-ups %+v", f)
		}
	})

	t.Run("button refused: an ephemeral follow-up", func(t *testing.T) {
		id, token := dispatch(t, fake, 3, buttonData("tocsin_ack:7"), bob)
		if r := waitResponse(t, fake, id); r.Type != 6 {
			t.Fatalf("response type %d, want 6", r.Type)
		}
		rec.wait(t)
		deadline := time.Now().Add(5 * time.Second)
		for len(fake.Followups(token)) == 0 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		f := fake.Followups(token)
		if len(f) != 1 || f[0].Content != "that incident of db is over" {
			t.Errorf("follow-ups %+v", f)
		}
		for _, c := range fake.Calls() {
			if strings.HasPrefix(c.Route, "POST /webhooks/") && !strings.Contains(string(c.Body), `"flags":64`) {
				t.Errorf("follow-up not ephemeral: %s", c.Body)
			}
		}
	})

	t.Run("autocomplete", func(t *testing.T) {
		id, _ := dispatch(t, fake, 4, commandData("ack", opt{name: "target", value: "d", focused: true}), alice)
		r := waitResponse(t, fake, id)
		var data struct {
			Choices []struct{ Name, Value string }
		}
		_ = json.Unmarshal(r.Data, &data)
		if r.Type != 8 || len(data.Choices) != 1 || data.Choices[0].Name != "db" || data.Choices[0].Value != "db" {
			t.Errorf("response %d %s", r.Type, r.Data)
		}
	})

	t.Run("dropped connections are reopened", func(t *testing.T) {
		before := fake.Connections()
		fake.DropConnections()
		waitReady()
		if fake.Connections() <= before {
			t.Fatalf("no new connection (%d before, %d now)", before, fake.Connections())
		}
		id, _ := dispatch(t, fake, 2, commandData("status"), carol)
		if r := waitResponse(t, fake, id); r.Type != 4 {
			t.Errorf("response type %d after the reconnection", r.Type)
		}
		if cmd := rec.wait(t); cmd.User.ID != carol.id {
			t.Errorf("command %+v", cmd)
		}
		t.Logf("identifies %d, resumes %d", fake.Identifies(), fake.Resumes())
	})

	t.Run("ctx ends the run", func(t *testing.T) {
		stop()
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("RunGateway: %v", err)
			}
		case <-wctx.Done():
			t.Fatal("RunGateway did not return within 5 s of ctx's end")
		}
	})

	for _, c := range fake.Calls() {
		if strings.Contains(c.Path, "bot-token") {
			t.Errorf("the token in a path: %s", c.Path)
		}
	}
}

func TestRunGatewayRefusesBadOptions(t *testing.T) {
	for _, opts := range []Options{
		{Token: "t"},
		{Handler: newRecorder(nil)},
		{Handler: newRecorder(nil), Token: "t", APIURL: "ftp://x"},
	} {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		if err := RunGateway(ctx, opts); err == nil {
			t.Errorf("RunGateway(%+v) accepted", opts)
		}
		cancel()
	}
}

func TestGatewayRetriesUntilDiscordAnswers(t *testing.T) {
	fake := fakediscord.New()
	defer fake.Close()
	fake.SetDown(true) // GET /gateway fails: Open fails
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- RunGateway(runCtx, Options{Handler: newRecorder(nil), Token: "bot-token", APIURL: fake.URL(), Logger: testLogger(t)})
	}()
	time.Sleep(300 * time.Millisecond)
	fake.SetDown(false)
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	if err := fake.WaitReady(wctx); err != nil {
		t.Fatal(err)
	}
	stop()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("RunGateway did not return")
	}
}

// TestGatewayStopsWhileOpening ends a run whose gateway accepted the
// WebSocket but never says Hello: discordgo's Open reads without a
// deadline, and RunGateway must still return soon after ctx ends.
func TestGatewayStopsWhileOpening(t *testing.T) {
	var up websocket.Upgrader
	accepted := make(chan struct{}, 4)
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/v9/gateway":
			_, _ = io.WriteString(w, `{"url": "ws`+strings.TrimPrefix(srv.URL, "http")+`/silent"}`)
		case "/silent/":
			c, err := up.Upgrade(w, r, nil)
			if err != nil {
				return
			}
			defer c.Close()
			accepted <- struct{}{}
			for {
				if _, _, err := c.ReadMessage(); err != nil {
					return
				}
			}
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()

	ctx, stop := context.WithCancel(t.Context())
	defer stop()
	done := make(chan error, 1)
	go func() {
		done <- RunGateway(ctx, Options{Handler: newRecorder(nil), Token: "bot-token", APIURL: srv.URL, Logger: testLogger(t)})
	}()
	select {
	case <-accepted:
	case <-time.After(5 * time.Second):
		t.Fatal("the gateway was not dialled")
	}
	stop()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("RunGateway did not return within 5 s of ctx's end")
	}
}
