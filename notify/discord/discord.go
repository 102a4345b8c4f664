// Package discord is tocsin's Discord notifier. With a bot token, a DOWN is
// a message in the alerts channel with an embed and an Acknowledge button;
// later events of the incident edit it and reply to it. With a webhook URL
// alone (alert-only mode) every event is a new message of the webhook's,
// without buttons.
//
// A message reference (notify.Ref) is the message's channel id and id
// joined by a slash: "123456789012345678/234567890123456789".
//
// Delivery: every message the bot creates carries a nonce derived from the
// event (see Nonce) with enforce_nonce, so a resend after a lost answer or a
// crash, within Discord's nonce window of a few minutes, returns the message
// already made instead of making a second one. Edits are idempotent.
// Webhooks do not deduplicate: webhook mode is at-least-once, a window of
// one request.
//
// Errors are *notify.Error where Discord's answer says more than "retry":
// RetryAfter for HTTP 429; Permanent for a bad token, an unknown channel or
// webhook, missing access or permissions, and any other 4xx. Content
// Discord refuses (Invalid Form Body) is sent once more as text alone, and
// an edit of a message that is gone is done. The bot token and the webhook
// URL never appear in an error or a log line.
//
// The calls go through a discordgo Session whose http.Client points at
// Config.APIURL (internal/discordhttp); discordgo's own retries are off
// (ShouldRetryOnRateLimit false, MaxRestRetries 0) so that the
// Dispatcher's backoff alone decides when to try again, and every call,
// rate-limit waits included, ends with its context.
package discord

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/bwmarrin/discordgo"

	"github.com/tocsin/tocsin/internal/discordhttp"
	"github.com/tocsin/tocsin/notify"
	"github.com/tocsin/tocsin/state"
)

// Config configures a Notifier. Exactly one of Token and WebhookURL is set.
type Config struct {
	// Token is the bot token, without "Bot " (a leading "Bot " is
	// tolerated); "" in webhook mode.
	Token string
	// ChannelID is the alerts channel's id; required with Token, unused in
	// webhook mode (the webhook names its channel).
	ChannelID string
	// WebhookURL is a channel webhook's URL
	// (https://discord.com/api/webhooks/ID/TOKEN): alert-only mode, used
	// when Token is "". It is a secret, like the token.
	WebhookURL string
	// APIURL replaces https://discord.com (a REST proxy, a test server);
	// paths keep /api/v9/…. A webhook URL on discord.com goes there too.
	APIURL string
	// HTTPClient makes the calls; nil is a client with
	// discordhttp.DefaultTimeout.
	HTTPClient *http.Client
	// Logger receives fallbacks and skipped edits; nil discards.
	Logger *slog.Logger
	// Now is the clock that stamps an event without a Time (nil:
	// time.Now).
	Now func() time.Time
}

// Notifier sends alerts to one Discord channel, as a bot or through a
// webhook. Safe for concurrent use.
type Notifier struct {
	s       *discordgo.Session
	channel string
	// webhook is the webhook URL with wait=true; nil in bot mode.
	webhook   *url.URL
	webhookID string
	secrets   []string
	log       *slog.Logger
	now       func() time.Time
}

var _ notify.Notifier = (*Notifier)(nil)

// New returns a Notifier for cfg. It checks that exactly one of the token
// and the webhook URL is set, that the channel is set in bot mode, and that
// the URLs are http(s) URLs; it makes no network call. Its errors never
// show the token or the webhook URL.
func New(cfg Config) (*Notifier, error) {
	token := strings.TrimPrefix(cfg.Token, "Bot ")
	hook := cfg.WebhookURL
	secrets := []string{token, hook}
	redact := func(s string) string { return notify.Redact(s, secrets...) }
	badChar := func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }
	switch {
	case strings.TrimSpace(token) == "" && strings.TrimSpace(hook) == "":
		return nil, errors.New("discord: neither a bot token nor a webhook URL")
	case token != "" && hook != "":
		return nil, errors.New("discord: both a bot token and a webhook URL; set one")
	case strings.IndexFunc(token, badChar) >= 0:
		// Not shown: it is (part of) the token.
		return nil, errors.New("discord: the bot token contains white space")
	case token != "" && strings.TrimSpace(cfg.ChannelID) == "":
		return nil, errors.New("discord: no channel id")
	case token != "" && strings.ContainsAny(cfg.ChannelID, "/?#% \t\r\n"):
		return nil, fmt.Errorf("discord: channel %q is not a channel id", redact(cfg.ChannelID))
	}
	n := &Notifier{channel: cfg.ChannelID, log: cfg.Logger, now: cfg.Now}
	if hook != "" {
		u, id, wtoken, err := parseWebhook(hook)
		if err != nil {
			return nil, err
		}
		secrets = append(secrets, wtoken, url.PathEscape(wtoken))
		q := u.Query()
		q.Set("wait", "true")
		u.RawQuery = q.Encode()
		secrets = append(secrets, u.String())
		n.webhook, n.webhookID, n.channel = u, id, ""
	}
	client, err := discordhttp.Client(cfg.APIURL, cfg.HTTPClient)
	if err != nil {
		return nil, errors.New("discord: " + redact(err.Error()))
	}
	auth := ""
	if token != "" {
		auth = "Bot " + token
	}
	s, err := discordgo.New(auth)
	if err != nil {
		return nil, errors.New("discord: " + redact(err.Error()))
	}
	s.Client = client
	// discordgo retries a 429 forever, sleeping without a context, and a
	// 502 up to MaxRestRetries times: the Dispatcher retries instead, with
	// backoff, Retry-After and a stop that ends the wait.
	s.ShouldRetryOnRateLimit = false
	s.MaxRestRetries = 0
	// Its log goes to the process's standard logger; tocsin logs for it.
	s.LogLevel = -1
	n.s = s
	n.secrets = secrets
	if n.log == nil {
		n.log = slog.New(slog.DiscardHandler)
	}
	if n.now == nil {
		n.now = time.Now
	}
	return n, nil
}

// webhookPath matches the path of a webhook URL: …/webhooks/ID/TOKEN.
var webhookPath = regexp.MustCompile(`/webhooks/([0-9A-Za-z]+)/([^/]+)/?$`)

// parseWebhook checks a webhook URL and returns it parsed, with the
// webhook's id and token. Its errors never show the URL.
func parseWebhook(s string) (u *url.URL, id, token string, err error) {
	u, err = url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, "", "", errors.New("discord: the webhook URL is not an http(s) URL")
	}
	m := webhookPath.FindStringSubmatch(u.Path)
	if m == nil {
		return nil, "", "", errors.New("discord: the webhook URL does not end in /webhooks/ID/TOKEN")
	}
	return u, m[1], m[2], nil
}

// Name returns "discord".
func (n *Notifier) Name() string { return "discord" }

// Post sends ev as a new message in the channel and returns its ref,
// "CHANNEL/MESSAGE". A DOWN (and any kind but FLAPPING) is the alert,
// AlertMessage(ev); a FLAPPING is a line of text (ReplyMessage). The
// message carries Nonce("tp", ev) with enforce_nonce. Should Discord refuse
// the embed (Invalid Form Body), AlertText(ev) alone is posted at once
// instead. In webhook mode the alert goes through the webhook, without
// the button or a nonce.
func (n *Notifier) Post(ctx context.Context, ev state.Event) (notify.Ref, error) {
	nonce := Nonce("tp", ev)
	ev = n.stamp(ev)
	msg := AlertMessage(ev)
	if ev.Kind == state.EventFlapping {
		msg = ReplyMessage(ev, false)
	}
	if n.webhook != nil {
		return n.execute(ctx, ev, msg)
	}
	return n.create(ctx, ev, n.channel, msg, nil, nonce)
}

// Edit replaces the alert ref with AlertMessage(ev), a PATCH of its
// content, embed and buttons. An alert Discord no longer has (Unknown
// Message) or that is not the bot's (posted by a webhook), a ref that is
// not "CHANNEL/MESSAGE", or one in a channel other than the configured one
// that the bot can no longer reach, is logged and counts as done: there is
// nothing to edit. A refused embed is replaced by AlertText(ev) alone, as
// in Post. In webhook mode Edit does nothing, but for the DOWN of a member
// joining a grouped alert (Group set and not its own incident): a webhook
// cannot edit the group's alert, so the alert as it now stands is a new
// message, as every DOWN is in webhook mode.
func (n *Notifier) Edit(ctx context.Context, ref notify.Ref, ev state.Event) error {
	if n.webhook != nil {
		if ev.Kind == state.EventDown && ev.Group != 0 && ev.Group != ev.IncidentID {
			ev = n.stamp(ev)
			_, err := n.execute(ctx, ev, AlertMessage(ev))
			return err
		}
		n.log.Debug("webhook mode: alerts are not edited", "event", string(ev.Kind), "target", ev.Target)
		return nil
	}
	ch, id, ok := ParseRef(ref)
	if !ok {
		n.log.Warn("not a Discord message ref; edit skipped", "ref", n.redact(string(ref)),
			"event", string(ev.Kind), "target", ev.Target)
		return nil
	}
	ev = n.stamp(ev)
	msg := AlertMessage(ev)
	if ev.Kind == state.EventFlapping {
		// A flapping notice is a line of text, edited with its count.
		msg = ReplyMessage(ev, false)
	}
	err := n.edit(ctx, ch, id, msg)
	if err != nil && classify(err) == render {
		n.log.Warn("Discord refused the alert's embed; sending its text alone", "op", "edit message",
			"event", string(ev.Kind), "target", ev.Target, "err", n.redact(describe(err)))
		err = n.edit(ctx, ch, id, PlainMessage(AlertText(ev)))
	}
	if err == nil {
		return nil
	}
	if v := classify(err); v == gone || (v == channel && ch != n.channel) {
		n.log.Warn("alert cannot be edited; edit skipped", "channel", ch, "message", id,
			"event", string(ev.Kind), "target", ev.Target, "err", n.redact(describe(err)))
		return nil
	}
	return n.wrap("edit message", err)
}

// Reply sends ReplyMessage(ev) as a reply to the alert ref
// (message_reference, fail_if_not_exists false: a deleted alert makes it a
// plain message) and returns the reply's ref. It carries Nonce("tr", ev)
// with enforce_nonce. With an empty or unreadable ref, when Discord refuses
// the reply, or when the alert's channel (not the configured one) is out
// of reach, it posts the line in the channel instead, naming the target.
// In webhook mode it is a new webhook message, and a recovery (UP,
// REMOVED) carries the alert's embed as it now stands.
func (n *Notifier) Reply(ctx context.Context, ref notify.Ref, ev state.Event) (notify.Ref, error) {
	nonce := Nonce("tr", ev)
	ev = n.stamp(ev)
	if n.webhook != nil {
		msg := ReplyMessage(ev, false)
		if ev.Kind == state.EventUp || ev.Kind == state.EventRemoved {
			msg.Embeds, msg.Flags = AlertMessage(ev).Embeds, 0
		}
		return n.execute(ctx, ev, msg)
	}
	ch, id, ok := ParseRef(ref)
	if !ok {
		if ref != "" {
			n.log.Warn("not a Discord message ref; posting in the channel", "ref", n.redact(string(ref)),
				"event", string(ev.Kind), "target", ev.Target)
		}
		return n.create(ctx, ev, n.channel, ReplyMessage(ev, false), nil, nonce)
	}
	no := false
	to := &discordgo.MessageReference{MessageID: id, ChannelID: ch, FailIfNotExists: &no}
	r, err := n.createOnce(ctx, ch, ReplyMessage(ev, true), to, nonce)
	if err == nil {
		return r, nil
	}
	if v := classify(err); v != render && (v != channel || ch == n.channel) {
		return "", n.wrap("create message", err)
	}
	n.log.Warn("cannot reply to the alert; posting in the channel", "channel", ch, "message", id,
		"event", string(ev.Kind), "target", ev.Target, "err", n.redact(describe(err)))
	// The refused reply made no message: its nonce is free.
	return n.create(ctx, ev, n.channel, ReplyMessage(ev, false), nil, nonce)
}

// create posts msg in channel ch, with a reference when to is not nil.
// Refused content is sent once more as text alone.
func (n *Notifier) create(ctx context.Context, ev state.Event, ch string, msg Message,
	to *discordgo.MessageReference, nonce string) (notify.Ref, error) {
	r, err := n.createOnce(ctx, ch, msg, to, nonce)
	if err != nil && classify(err) == render && len(msg.Embeds) > 0 {
		n.log.Warn("Discord refused the message's embed; sending its text alone", "op", "create message",
			"event", string(ev.Kind), "target", ev.Target, "err", n.redact(describe(err)))
		r, err = n.createOnce(ctx, ch, fallback(ev, msg), to, nonce)
	}
	if err != nil {
		return "", n.wrap("create message", err)
	}
	return r, nil
}

// fallback is msg as text alone: its content, or else AlertText(ev).
func fallback(ev state.Event, msg Message) Message {
	if msg.Content == "" {
		return PlainMessage(AlertText(ev))
	}
	m := PlainMessage(msg.Content)
	m.AllowedMentions = msg.AllowedMentions
	return m
}

// createBody is the body of POST /channels/{id}/messages.
type createBody struct {
	Message
	Nonce        string                      `json:"nonce,omitempty"`
	EnforceNonce bool                        `json:"enforce_nonce,omitempty"`
	Reference    *discordgo.MessageReference `json:"message_reference,omitempty"`
}

// createOnce is one POST /channels/{ch}/messages. discordgo's MessageSend
// has no nonce, so the body is tocsin's own.
func (n *Notifier) createOnce(ctx context.Context, ch string, msg Message,
	to *discordgo.MessageReference, nonce string) (notify.Ref, error) {
	body := createBody{Message: msg, Nonce: nonce, EnforceNonce: nonce != "", Reference: to}
	endpoint := discordgo.EndpointChannelMessages(url.PathEscape(ch))
	resp, err := n.call(ctx, http.MethodPost, endpoint, endpoint, body)
	if err != nil {
		return "", err
	}
	return n.ref(resp, ch)
}

// edit is one PATCH /channels/{ch}/messages/{id}.
func (n *Notifier) edit(ctx context.Context, ch, id string, msg Message) error {
	endpoint := discordgo.EndpointChannelMessage(url.PathEscape(ch), url.PathEscape(id))
	// discordgo's bucket for message edits: one per channel.
	bucket := discordgo.EndpointChannelMessage(url.PathEscape(ch), "")
	if _, err := n.call(ctx, http.MethodPatch, endpoint, bucket, msg); err != nil {
		return err
	}
	n.log.Debug("edited", "channel", ch, "message", id)
	return nil
}

// webhookBody is the body of a webhook's execute: no components (a
// webhook not owned by an application cannot send buttons), no nonce (a
// webhook does not deduplicate).
type webhookBody struct {
	Content         string                            `json:"content"`
	Embeds          []*discordgo.MessageEmbed         `json:"embeds"`
	AllowedMentions *discordgo.MessageAllowedMentions `json:"allowed_mentions"`
	Flags           discordgo.MessageFlags            `json:"flags,omitempty"`
}

// execute posts msg through the webhook (wait=true, so Discord answers
// with the message); refused content is sent once more as text alone.
func (n *Notifier) execute(ctx context.Context, ev state.Event, msg Message) (notify.Ref, error) {
	once := func(m Message) (notify.Ref, error) {
		body := webhookBody{Content: m.Content, Embeds: m.Embeds, AllowedMentions: m.AllowedMentions, Flags: m.Flags}
		resp, err := n.call(ctx, http.MethodPost, n.webhook.String(), "webhooks/"+n.webhookID, body)
		if err != nil {
			return "", err
		}
		return n.ref(resp, "")
	}
	r, err := once(msg)
	if err != nil && classify(err) == render && len(msg.Embeds) > 0 {
		n.log.Warn("Discord refused the message's embed; sending its text alone", "op", "execute webhook",
			"event", string(ev.Kind), "target", ev.Target, "err", n.redact(describe(err)))
		r, err = once(fallback(ev, msg))
	}
	if err != nil {
		return "", n.wrap("execute webhook", err)
	}
	return r, nil
}

// call makes one request with discordgo, ending with ctx, and returns the
// answer's body. Before it, it waits out the bucket's rate limit itself,
// as discordgo's own wait does not end with ctx.
func (n *Notifier) call(ctx context.Context, method, endpoint, bucket string, body any) ([]byte, error) {
	if err := n.waitBucket(ctx, bucket); err != nil {
		return nil, err
	}
	return n.s.RequestWithBucketID(method, endpoint, body, bucket, discordgo.WithContext(ctx))
}

// waitBucket waits until discordgo's rate limiter lets a request of bucket
// go (Discord said the bucket, or every bucket, is spent), or ctx ends.
func (n *Notifier) waitBucket(ctx context.Context, bucket string) error {
	b := n.s.Ratelimiter.GetBucket(bucket)
	b.Lock()
	wait := n.s.Ratelimiter.GetWaitTime(b, 1)
	b.Unlock()
	if wait <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// ref is the ref of the message Discord answered a create with; ch stands
// in for a missing channel id. It is "" when the answer has no message id:
// there is nothing to edit or reply to later. An answer that is not JSON
// is an error (retried: the nonce keeps the retry from making a second
// message).
func (n *Notifier) ref(resp []byte, ch string) (notify.Ref, error) {
	var p struct {
		ID        string `json:"id"`
		ChannelID string `json:"channel_id"`
	}
	if err := discordgo.Unmarshal(resp, &p); err != nil {
		return "", fmt.Errorf("the answer is not a message: %w", err)
	}
	if p.ChannelID == "" {
		p.ChannelID = ch
	}
	if p.ID == "" || p.ChannelID == "" {
		n.log.Warn("Discord answered without the message's id", "channel", p.ChannelID)
		return "", nil
	}
	n.log.Debug("posted", "channel", p.ChannelID, "message", p.ID)
	return notify.Ref(p.ChannelID + "/" + p.ID), nil
}

// stamp gives ev the time of now when it has none.
func (n *Notifier) stamp(ev state.Event) state.Event {
	if ev.Time.IsZero() {
		ev.Time = n.now()
	}
	return ev
}

// Nonce is the nonce of the message sent for ev: prefix ("tp" for a post,
// "tr" for a reply), the event's id, a dot, and a hash of the event's
// kind, target, incident, start and time, at most 25 characters. It is the
// same on every retry and after a restart (the outbox keeps the event), and
// the hash keeps a new event that reuses an old id (a state file started
// afresh) from being taken for the old one.
func Nonce(prefix string, ev state.Event) string {
	h := fnv.New32a()
	fmt.Fprintf(h, "%s\x00%s\x00%d\x00%d\x00%d", ev.Kind, ev.Target, ev.IncidentID, ev.Since.Unix(), ev.Time.Unix())
	s := prefix + strconv.FormatInt(ev.ID, 10) + "." + strconv.FormatUint(uint64(h.Sum32()), 36)
	return s[:min(len(s), maxNonce)]
}

// ParseRef splits a ref made by this notifier, "CHANNEL/MESSAGE", into the
// channel id and the message id; ok is false for anything else.
func ParseRef(ref notify.Ref) (channelID, messageID string, ok bool) {
	channelID, messageID, ok = strings.Cut(string(ref), "/")
	if !ok || channelID == "" || messageID == "" || strings.Contains(messageID, "/") {
		return "", "", false
	}
	return channelID, messageID, true
}
