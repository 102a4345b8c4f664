package discord

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/bwmarrin/discordgo"
)

const (
	// maxBody bounds a request body read in HTTP mode. Discord's
	// interaction payloads are a few KB.
	maxBody = 64 << 10
	// maxSkew is how far X-Signature-Timestamp may be from the clock,
	// either way, for a request to be taken: a replayed request is
	// refused after it.
	maxSkew = 5 * time.Minute
)

// NewHTTP returns the handler of HTTP interactions mode, which the daemon
// mounts at "POST /discord/interactions" (the application's Interactions
// Endpoint URL). It fails when opts lack a Handler, PublicKey is not a
// 32-byte Ed25519 key in hex, or APIURL is not an absolute http(s) URL.
//
// Every request is read (at most 64 KB) and verified before anything else:
// its X-Signature-Ed25519 must be the signature, by PublicKey, of
// X-Signature-Timestamp followed by the body, and that timestamp (Unix
// seconds) must be within five minutes of Options.Now either way.
// discordgo.VerifyInteraction checks the signature only; the freshness
// check is tocsin's, so a captured request cannot be replayed later. A
// request failing either is answered 401 and goes no further.
//
// The interaction's response is the HTTP response's body: PONG (type 1) to
// Discord's PING, a message (4), a deferred message (5), a deferred update
// (6) or autocomplete choices (8). What remains after it (a Later, a
// button's ack) runs in the background on a context of its own, and
// reaches Discord through its REST API (the edit of @original, a
// follow-up), which the interaction's token authorizes. An unreadable
// payload is 400, and so is an interaction type tocsin does not take.
func NewHTTP(opts Options) (http.Handler, error) {
	a, err := newAdapter(opts)
	if err != nil {
		return nil, err
	}
	key, err := hex.DecodeString(opts.PublicKey)
	if err != nil || len(key) != ed25519.PublicKeySize {
		return nil, errors.New("discord: public_key must be the application's Ed25519 public key in hex (64 digits)")
	}
	return &httpHandler{a: a, key: ed25519.PublicKey(key)}, nil
}

// httpHandler serves HTTP interactions.
type httpHandler struct {
	a   *adapter
	key ed25519.PublicKey
}

func (h *httpHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a := h.a
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			http.Error(w, "request too large", http.StatusRequestEntityTooLarge)
		} else {
			http.Error(w, "unreadable request", http.StatusBadRequest)
		}
		return
	}
	if err := h.verify(r, body); err != nil {
		a.log.Warn("discord: request refused", "path", r.URL.Path, "remote", r.RemoteAddr, "err", err)
		http.Error(w, "invalid request signature", http.StatusUnauthorized)
		return
	}
	var i discordgo.Interaction
	if err := json.Unmarshal(body, &i); err != nil {
		http.Error(w, "unreadable interaction", http.StatusBadRequest)
		return
	}
	// The response is due within Discord's three seconds, but a started
	// ack or mute may finish after the request is gone.
	ctx := context.WithoutCancel(r.Context())
	resp, after := a.answer(ctx, &i)
	if resp == nil {
		a.log.Warn("discord: ignoring an interaction", "type", int(i.Type))
		http.Error(w, "unsupported interaction", http.StatusBadRequest)
		return
	}
	js, err := json.Marshal(resp)
	if err != nil {
		a.log.Error("discord: encoding a response failed", "type", int(resp.Type), "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	// With its length known, the flush below completes the response.
	w.Header().Set("Content-Length", strconv.Itoa(len(js)))
	if _, err := w.Write(js); err != nil {
		a.log.Warn("discord: writing a response failed", "type", int(resp.Type), "err", err)
		return
	}
	if after == nil {
		return
	}
	// Send the response before the work after it starts, so that Discord
	// knows of the deferred message before anything edits it.
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	a.work.Go(func() { after(ctx) })
}

// verify checks the request's signature and the freshness of its
// timestamp; body is the request's body, already read.
func (h *httpHandler) verify(r *http.Request, body []byte) error {
	ts := r.Header.Get("X-Signature-Timestamp")
	if ts == "" || r.Header.Get("X-Signature-Ed25519") == "" {
		return errors.New("no signature or timestamp")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("timestamp %q is not Unix seconds", ts)
	}
	if skew := h.a.now().Sub(time.Unix(sec, 0)); skew.Abs() > maxSkew {
		return fmt.Errorf("timestamp %s away from the clock", skew.Round(time.Second))
	}
	// VerifyInteraction reads the body it is given: hand it a copy.
	vr := r.Clone(r.Context())
	vr.Body = io.NopCloser(bytes.NewReader(body))
	if !discordgo.VerifyInteraction(vr, h.key) {
		return errors.New("bad signature")
	}
	return nil
}
