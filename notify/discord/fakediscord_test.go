package discord

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/tocsin/tocsin/internal/fakediscord"
	"github.com/tocsin/tocsin/notify"
	"github.com/tocsin/tocsin/state"
)

// These tests run the notifier against internal/fakediscord, the fake
// Discord the rest of tocsin's tests share, which checks payloads against
// Discord's documented limits and formats.

// newSharedFake returns a started fakediscord that wants testToken, and a
// bot Notifier on testChannel pointed at it.
func newSharedFake(t *testing.T) (*fakediscord.Server, *Notifier) {
	t.Helper()
	fake := fakediscord.New()
	t.Cleanup(fake.Close)
	fake.SetToken(testToken)
	n, err := New(Config{Token: testToken, ChannelID: testChannel, APIURL: fake.URL()})
	if err != nil {
		t.Fatal(err)
	}
	return fake, n
}

func TestSharedFakeIncident(t *testing.T) {
	fake, n := newSharedFake(t)
	ctx := t.Context()
	down := shopEvent(state.EventDown)
	down.Reason = hugeReason() // within every limit, or the fake says 50035
	ref, err := n.Post(ctx, down)
	if err != nil {
		t.Fatal(err)
	}
	// The same post again (a retry after a lost answer): no second message.
	if again, err := n.Post(ctx, down); err != nil || again != ref {
		t.Fatalf("Post again = %q, %v; want %q", again, err, ref)
	}
	ack := shopEvent(state.EventAck)
	ack.ID, ack.Actor, ack.Reason, ack.AckedBy, ack.AckedAt = 8, "alice", "on it", "alice", since.Add(time.Minute)
	if err := n.Edit(ctx, ref, ack); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Reply(ctx, ref, ack); err != nil {
		t.Fatal(err)
	}
	up := shopEvent(state.EventUp)
	up.ID, up.Duration = 9, 4*time.Minute+12*time.Second
	if _, err := n.Reply(ctx, ref, up); err != nil {
		t.Fatal(err)
	}
	if err := n.Edit(ctx, ref, up); err != nil {
		t.Fatal(err)
	}

	msgs := fake.Messages(testChannel)
	if len(msgs) != 3 {
		t.Fatalf("%d messages, want 3: %+v", len(msgs), msgs)
	}
	alert := msgs[0]
	if notify.Ref(testChannel+"/"+alert.ID) != ref || alert.Edits != 2 || alert.Nonce != Nonce("tp", down) {
		t.Errorf("alert: %+v", alert)
	}
	if len(alert.Components) != 0 || !strings.Contains(string(alert.Embeds), `"title":"RESOLVED shop"`) {
		t.Errorf("alert after the recovery: components %s, embeds %.200s", alert.Components, alert.Embeds)
	}
	for i, want := range []string{"Acknowledged by alice: on it", "shop is up again after 4m12s"} {
		m := msgs[i+1]
		if m.Content != want || m.ReferenceID != alert.ID {
			t.Errorf("reply %d: %q in reply to %q; want %q to %q", i, m.Content, m.ReferenceID, want, alert.ID)
		}
	}

	// UNACK brings the button back: the custom_id the bot adapter reads.
	if err := n.Edit(ctx, ref, shopEvent(state.EventUnack)); err != nil {
		t.Fatal(err)
	}
	var rows []struct {
		Components []struct {
			CustomID string `json:"custom_id"`
		} `json:"components"`
	}
	alert = fake.Messages(testChannel)[0]
	if err := json.Unmarshal(alert.Components, &rows); err != nil || len(rows) != 1 || rows[0].Components[0].CustomID != "tocsin_ack:42" {
		t.Errorf("components %s (%v)", alert.Components, err)
	}
	// A deleted or unknown alert: the edit is done, the reply a plain message.
	if err := n.Edit(ctx, testChannel+"/1", up); err != nil {
		t.Errorf("edit of an unknown message = %v", err)
	}
	if _, err := n.Reply(ctx, testChannel+"/1", up); err != nil {
		t.Errorf("reply to an unknown message = %v", err)
	}
}

// TestSharedFakeLostAnswer: Discord stores the alert but the answer comes
// too late for the call's deadline (a crash, a stop, a timeout); the retry
// gets the same message back by its nonce.
func TestSharedFakeLostAnswer(t *testing.T) {
	fake, n := newSharedFake(t)
	fake.Script("POST /channels/{id}/messages", fakediscord.Answer{Delay: 5 * time.Second})
	ev := shopEvent(state.EventDown)
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	if _, err := n.Post(ctx, ev); err == nil {
		t.Fatal("the lost answer gave no error")
	}
	ref, err := n.Post(t.Context(), ev)
	if err != nil {
		t.Fatal(err)
	}
	msgs := fake.Messages(testChannel)
	if len(msgs) != 1 || ref != notify.Ref(testChannel+"/"+msgs[0].ID) {
		t.Errorf("ref %q, messages %+v; want the one message", ref, msgs)
	}
}

func TestSharedFakeErrors(t *testing.T) {
	const route = "POST /channels/{id}/messages"
	tests := []struct {
		name       string
		set        func(*fakediscord.Server)
		permanent  bool
		retryAfter time.Duration
	}{
		{"429", func(f *fakediscord.Server) { f.Script(route, fakediscord.Answer{Status: 429, RetryAfter: 0.25}) }, false, 250 * time.Millisecond},
		{"502 down", func(f *fakediscord.Server) { f.SetDown(true) }, false, 0},
		{"500", func(f *fakediscord.Server) { f.Script(route, fakediscord.Answer{Status: 500}) }, false, 0},
		{"403 Missing Access", func(f *fakediscord.Server) { f.Script(route, fakediscord.Answer{Status: 403, Code: 50001}) }, true, 0},
		{"404 Unknown Channel", func(f *fakediscord.Server) { f.Script(route, fakediscord.Answer{Status: 404, Code: 10003}) }, true, 0},
		{"bad token", func(f *fakediscord.Server) { f.SetToken("another") }, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, n := newSharedFake(t)
			tt.set(fake)
			_, err := n.Post(t.Context(), shopEvent(state.EventDown))
			perm, after := notify.Classify(err)
			if err == nil || perm != tt.permanent || after != tt.retryAfter {
				t.Errorf("Post = %v: Classify = %v, %v; want %v, %v", err, perm, after, tt.permanent, tt.retryAfter)
			}
			if got := len(fake.Calls()); got != 1 {
				t.Errorf("%d calls, want 1 (discordgo must not retry)", got)
			}
			for _, c := range fake.Calls() {
				if strings.Contains(err.Error(), testToken) || c.Auth != "Bot "+testToken {
					t.Errorf("auth %q, error %v", c.Auth, err)
				}
			}
		})
	}
	t.Run("plain fallback after 50035", func(t *testing.T) {
		fake, n := newSharedFake(t)
		fake.Script(route, fakediscord.Answer{Status: 400, Code: 50035})
		ev := shopEvent(state.EventDown)
		ev.Reason = "HTTP 503"
		if _, err := n.Post(t.Context(), ev); err != nil {
			t.Fatal(err)
		}
		m := fake.Messages(testChannel)
		if len(m) != 1 || m[0].Content != "DOWN shop: HTTP 503" || len(m[0].Embeds) != 0 {
			t.Errorf("messages: %+v", m)
		}
	})
}

func TestSharedFakeWebhook(t *testing.T) {
	fake := fakediscord.New()
	t.Cleanup(fake.Close)
	n, err := New(Config{WebhookURL: fake.WebhookURL()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	down := shopEvent(state.EventDown)
	ref, err := n.Post(ctx, down)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Edit(ctx, ref, shopEvent(state.EventAck)); err != nil {
		t.Fatal(err)
	}
	up := shopEvent(state.EventUp)
	up.Duration = time.Minute
	if _, err := n.Reply(ctx, ref, up); err != nil {
		t.Fatal(err)
	}
	msgs := fake.Messages(fakediscord.WebhookChannelID)
	if len(msgs) != 2 || !msgs[0].Webhook || len(msgs[0].Components) != 0 || msgs[0].Edits != 0 {
		t.Fatalf("messages: %+v", msgs)
	}
	if msgs[1].Content != "shop is up again after 1m0s" || !strings.Contains(string(msgs[1].Embeds), "RESOLVED shop") {
		t.Errorf("recovery: %+v", msgs[1])
	}
	if ch, id, ok := ParseRef(ref); !ok || ch != fakediscord.WebhookChannelID || id != msgs[0].ID {
		t.Errorf("ref = %q", ref)
	}
	// Another webhook token: permanent, and the URL shows nowhere.
	_, token := fake.Webhook()
	bad, err := New(Config{WebhookURL: strings.Replace(fake.WebhookURL(), token, "x"+token[1:], 1)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = bad.Post(ctx, down)
	if perm, _ := notify.Classify(err); !perm || strings.Contains(err.Error(), token[1:]) {
		t.Errorf("Post with a wrong webhook = %v", err)
	}
}
