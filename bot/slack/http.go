package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/slack-go/slack"
)

// NewHTTP returns the handlers of HTTP mode, which the daemon mounts at
// "POST /slack/commands" (slash commands) and "POST /slack/interactions"
// (button clicks).
//
// Both read at most 64 KB of body and verify Slack's v0 signature with
// opts.SigningSecret: a missing or wrong signature, or a timestamp more
// than five minutes from now (either way), is answered 401 and goes no
// further. A slash command is answered at once with the rendered
// Response.Now; a Response.Later runs in the background, on a context of
// its own bounded to 30 s, and its reply is posted to the command's
// response_url. A click on an Acknowledge button is answered 200 with no
// body at once; the ack runs in the background and a refusal is posted to
// the click's response_url for the clicking user alone. Other interactions
// are answered 200 and ignored; an unreadable payload is 400.
func NewHTTP(opts Options) (commands, interactions http.Handler) {
	a := newAdapter(opts)
	return http.HandlerFunc(a.serveCommand), http.HandlerFunc(a.serveInteraction)
}

// verified reads r's body, checks its signature and restores the body for
// parsing. It answers the request itself and returns false when the
// request goes no further.
func (a *adapter) verified(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			http.Error(w, "request too large", http.StatusRequestEntityTooLarge)
		} else {
			http.Error(w, "unreadable request", http.StatusBadRequest)
		}
		return false
	}
	if err := a.verify(r.Header, body); err != nil {
		a.log.Warn("slack: request refused", "path", r.URL.Path, "remote", r.RemoteAddr, "err", err)
		http.Error(w, "invalid or stale signature", http.StatusUnauthorized)
		return false
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return true
}

// errNoSecret refuses every request when no signing secret is configured.
var errNoSecret = errors.New("no signing secret configured")

// verify checks body against the X-Slack-Signature and
// X-Slack-Request-Timestamp headers. slack.NewSecretsVerifier refuses a
// timestamp more than five minutes away from the clock in either
// direction, so a replayed or future-dated request fails here too.
func (a *adapter) verify(h http.Header, body []byte) error {
	if a.secret == "" {
		return errNoSecret
	}
	sv, err := slack.NewSecretsVerifier(h, a.secret)
	if err != nil {
		return err
	}
	if _, err := sv.Write(body); err != nil {
		return err
	}
	return sv.Ensure()
}

// serveCommand answers a slash command.
func (a *adapter) serveCommand(w http.ResponseWriter, r *http.Request) {
	if !a.verified(w, r) {
		return
	}
	sc, err := slack.SlashCommandParse(r)
	if err != nil {
		http.Error(w, "unreadable command", http.StatusBadRequest)
		return
	}
	cmd := a.slashCommand(sc)
	// The answer is due within Slack's three seconds, but a started ack
	// or mute may finish after the request is gone.
	ctx := context.WithoutCancel(r.Context())
	nowCtx, cancel := context.WithTimeout(ctx, nowTimeout)
	resp := a.handle(nowCtx, cmd)
	cancel()
	if resp.Later != nil {
		a.followUp(ctx, cmd, sc.ResponseURL, resp.Later)
	}
	msg := render(resp.Now, maxText)
	if msg.Text == "" {
		// An empty 200 tells Slack the command arrived; Later answers.
		w.WriteHeader(http.StatusOK)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(msg); err != nil {
		a.log.Warn("slack: writing a command's answer failed", "command", cmd.Name, "err", err)
	}
}

// serveInteraction answers a button click.
func (a *adapter) serveInteraction(w http.ResponseWriter, r *http.Request) {
	if !a.verified(w, r) {
		return
	}
	cb, err := slack.InteractionCallbackParse(r)
	if err != nil {
		http.Error(w, "unreadable payload", http.StatusBadRequest)
		return
	}
	a.interaction(context.WithoutCancel(r.Context()), cb)
	w.WriteHeader(http.StatusOK)
}

// interaction starts the ack a button click asks for, if it is one; other
// interactions are ignored.
func (a *adapter) interaction(ctx context.Context, cb slack.InteractionCallback) {
	cmd, ok, err := a.ackCommand(cb)
	if err != nil {
		a.log.Warn("slack: ignoring a button", "user", cb.User.ID, "err", err)
	}
	if !ok {
		return
	}
	a.wg.Go(func() { a.buttonAck(ctx, cmd, cb.ResponseURL) })
}
