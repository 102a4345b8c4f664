package fakediscord

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/gorilla/websocket"
)

// commandPayload is an INTERACTION_CREATE for /status target:web-1.
func commandPayload(id, token string) map[string]any {
	return map[string]any{
		"id":             id,
		"application_id": DefaultApplicationID,
		"type":           2,
		"token":          token,
		"version":        1,
		"guild_id":       guild,
		"channel_id":     channel,
		"locale":         "en-US",
		"member": map[string]any{
			"user":        map[string]any{"id": "1111", "username": "alice", "discriminator": "0"},
			"roles":       []string{},
			"permissions": "2147483647",
			"joined_at":   "2024-01-01T00:00:00.000000+00:00",
		},
		"data": map[string]any{
			"id":   "1300000000000000100",
			"name": "status",
			"type": 1,
			"options": []map[string]any{
				{"name": "target", "type": 3, "value": "web-1"},
			},
		},
	}
}

// openSession opens a gateway session against f and returns it with a
// channel of the interactions its handler sees.
func openSession(t *testing.T, f *Server) (*discordgo.Session, <-chan *discordgo.InteractionCreate, <-chan *discordgo.Ready) {
	t.Helper()
	s := newSession(t, f, botToken)
	interactions := make(chan *discordgo.InteractionCreate, 10)
	readies := make(chan *discordgo.Ready, 10)
	s.AddHandler(func(_ *discordgo.Session, r *discordgo.Ready) { readies <- r })
	s.AddHandler(func(_ *discordgo.Session, i *discordgo.InteractionCreate) { interactions <- i })
	if err := s.Open(); err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s, interactions, readies
}

func receive[T any](t *testing.T, ctx context.Context, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-ctx.Done():
		t.Fatalf("no %s: %v", what, ctx.Err())
		panic("unreachable")
	}
}

// noFakeGoroutines fails when a goroutine of the fake outlives Close.
func noFakeGoroutines(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		buf := make([]byte, 1<<20)
		stacks := string(buf[:runtime.Stack(buf, true)])
		leaked := ""
		for _, g := range strings.Split(stacks, "\n\n") {
			if strings.Contains(g, "fakediscord.(*Server)") && !strings.Contains(g, "noFakeGoroutines") {
				leaked = g
			}
		}
		if leaked == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("goroutine left after Close:\n%s", leaked)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestGatewaySession(t *testing.T) {
	f := New()
	f.SetToken(botToken)
	f.SetHeartbeatInterval(50 * time.Millisecond)
	ctx := timeout(t)

	s, interactions, readies := openSession(t, f)
	ready := receive(t, ctx, readies, "READY")
	if ready.SessionID == "" || ready.User == nil || !ready.User.Bot || ready.User.ID != DefaultApplicationID ||
		ready.Application == nil || ready.Application.ID != DefaultApplicationID || ready.Version != 9 {
		t.Errorf("READY = %+v", ready)
	}
	if err := f.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	if f.Identifies() != 1 || f.Resumes() != 0 || f.Connections() != 1 {
		t.Errorf("identifies %d, resumes %d, connections %d", f.Identifies(), f.Resumes(), f.Connections())
	}

	// Heartbeats are acknowledged.
	s.RLock()
	opened := s.LastHeartbeatAck
	s.RUnlock()
	for {
		s.RLock()
		acked := s.LastHeartbeatAck.After(opened)
		s.RUnlock()
		if acked {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("no heartbeat ACK")
		}
		time.Sleep(10 * time.Millisecond)
	}

	// An interaction reaches the handler, and its response the fake.
	id, token := f.NewInteraction(2)
	if err := f.Dispatch("INTERACTION_CREATE", commandPayload(id, token)); err != nil {
		t.Fatal(err)
	}
	ic := receive(t, ctx, interactions, "INTERACTION_CREATE")
	data := ic.ApplicationCommandData()
	if ic.ID != id || ic.Token != token || ic.Type != discordgo.InteractionApplicationCommand || data.Name != "status" ||
		data.Options[0].StringValue() != "web-1" || ic.Member == nil || ic.Member.User.ID != "1111" {
		t.Fatalf("interaction = %+v, data %+v", ic.Interaction, data)
	}
	err := s.InteractionRespond(ic.Interaction, &discordgo.InteractionResponse{
		Type: discordgo.InteractionResponseChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{Content: "web-1: up"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if r, err := f.WaitInteractionResponse(ctx, id); err != nil || r.Type != 4 {
		t.Errorf("response = %+v, %v", r, err)
	}

	// A dropped connection is resumed, and later dispatches arrive.
	f.DropConnections()
	if err := f.Dispatch("INTERACTION_CREATE", commandPayload(id, token)); err == nil {
		t.Error("Dispatch with no connection succeeded")
	}
	if err := f.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	if f.Identifies() != 1 || f.Resumes() != 1 || f.Connections() != 2 {
		t.Errorf("after the drop: identifies %d, resumes %d, connections %d", f.Identifies(), f.Resumes(), f.Connections())
	}
	id2, token2 := f.NewInteraction(2)
	if err := f.Dispatch("INTERACTION_CREATE", commandPayload(id2, token2)); err != nil {
		t.Fatal(err)
	}
	if ic := receive(t, ctx, interactions, "INTERACTION_CREATE after the drop"); ic.ID != id2 {
		t.Errorf("got interaction %s, want %s", ic.ID, id2)
	}

	// Op 7: the client closes and resumes.
	if err := f.SendReconnect(); err != nil {
		t.Fatal(err)
	}
	if err := f.waitFor(ctx, func() bool { return f.resumes == 2 && f.currentLocked() != nil }); err != nil {
		t.Fatalf("no resume after op 7: %v", err)
	}

	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	f.Close()
	noFakeGoroutines(t)
}

func TestGatewayRejectedResume(t *testing.T) {
	f := newFake(t)
	ctx := timeout(t)
	s, interactions, readies := openSession(t, f)
	defer s.Close()
	first := receive(t, ctx, readies, "READY")

	f.RejectResumes(true)
	f.DropConnections()
	second := receive(t, ctx, readies, "a second READY")
	if second.SessionID == first.SessionID {
		t.Error("the session was not renewed")
	}
	if err := f.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	if f.Identifies() != 2 || f.Resumes() != 1 {
		t.Errorf("identifies %d, resumes %d", f.Identifies(), f.Resumes())
	}
	id, token := f.NewInteraction(2)
	if err := f.Dispatch("INTERACTION_CREATE", commandPayload(id, token)); err != nil {
		t.Fatal(err)
	}
	if ic := receive(t, ctx, interactions, "INTERACTION_CREATE"); ic.ID != id {
		t.Errorf("got %s", ic.ID)
	}
}

func TestGatewayBadToken(t *testing.T) {
	f := newFake(t)
	f.SetToken(botToken)
	s := newSession(t, f, "stolen")
	s.ShouldReconnectOnError = false
	err := s.Open()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != 4004 {
		t.Fatalf("Open = %v, want close 4004", err)
	}
	if f.Identifies() != 1 {
		t.Errorf("identifies %d", f.Identifies())
	}
}

func TestGatewayProtocolErrors(t *testing.T) {
	f := newFake(t)
	dial := func(t *testing.T, query string) *websocket.Conn {
		t.Helper()
		ws, _, err := websocket.DefaultDialer.Dial(f.GatewayURL()+"/"+query, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ws.Close() })
		return ws
	}
	closeCode := func(t *testing.T, ws *websocket.Conn) int {
		t.Helper()
		_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
		for {
			if _, _, err := ws.ReadMessage(); err != nil {
				var ce *websocket.CloseError
				if errors.As(err, &ce) {
					return ce.Code
				}
				t.Fatalf("read: %v", err)
			}
		}
	}
	t.Run("bad version", func(t *testing.T) {
		if code := closeCode(t, dial(t, "?v=6&encoding=json")); code != 4012 {
			t.Errorf("close %d", code)
		}
	})
	t.Run("not authenticated", func(t *testing.T) {
		ws := dial(t, "?v=10&encoding=json")
		_ = ws.WriteJSON(map[string]any{"op": 3, "d": map[string]any{"status": "online"}})
		if code := closeCode(t, ws); code != 4003 {
			t.Errorf("close %d", code)
		}
	})
	t.Run("unknown opcode", func(t *testing.T) {
		ws := dial(t, "")
		_ = ws.WriteJSON(map[string]any{"op": 99})
		if code := closeCode(t, ws); code != 4001 {
			t.Errorf("close %d", code)
		}
	})
	t.Run("decode error", func(t *testing.T) {
		ws := dial(t, "")
		_ = ws.WriteMessage(websocket.TextMessage, []byte("{"))
		if code := closeCode(t, ws); code != 4002 {
			t.Errorf("close %d", code)
		}
	})
	t.Run("identify twice", func(t *testing.T) {
		ws := dial(t, "")
		ident := map[string]any{"op": 2, "d": map[string]any{"token": "Bot x", "intents": 0, "properties": map[string]any{}}}
		_ = ws.WriteJSON(ident)
		_ = ws.WriteJSON(ident)
		if code := closeCode(t, ws); code != 4005 {
			t.Errorf("close %d", code)
		}
	})
}
