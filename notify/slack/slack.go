// Package slack is tocsin's Slack notifier: a DOWN is a Block Kit message
// (chat.postMessage) in the alerts channel with an Acknowledge button; later
// events of the incident edit it (chat.update) and reply in its thread.
//
// A message reference (notify.Ref) is the message's channel id and ts
// joined by a slash: "C0123456789/1764072000.000100".
//
// Errors are *notify.Error where Slack's answer says more than "retry":
// Permanent for a bad token, missing scope or unusable channel, RetryAfter
// for HTTP 429. Content Slack refuses is sent once more as text only, and an
// edit of a message that is gone is done. The token never appears in an
// error or a log line.
package slack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/slack-go/slack"

	"github.com/tocsin/tocsin/notify"
	"github.com/tocsin/tocsin/state"
)

// Defaults of Config.
const (
	// DefaultMinInterval paces calls per channel: Slack allows about one
	// message per second per channel.
	DefaultMinInterval = time.Second
	// DefaultTimeout is the timeout of the HTTP client made when
	// Config.HTTPClient is nil.
	DefaultTimeout = 15 * time.Second
)

// Config configures a Notifier.
type Config struct {
	// Token is the bot token (xoxb-…). Required.
	Token string
	// Channel is the alerts channel's id. Required.
	Channel string
	// APIURL replaces Slack's https://slack.com/api/ (GovSlack, a test
	// server); a missing trailing slash is added. "" is Slack's.
	APIURL string
	// HTTPClient makes the calls; nil is a client with DefaultTimeout.
	HTTPClient *http.Client
	// Logger receives fallbacks and skipped edits; nil discards.
	Logger *slog.Logger
	// Now is the clock of the pacing (nil: time.Now). It must move with
	// the timers the pacing waits on: time.Now, or a synctest bubble's.
	Now func() time.Time
	// MinInterval is the least time between two calls on one channel;
	// 0 is DefaultMinInterval, < 0 turns pacing off.
	MinInterval time.Duration
}

// Notifier sends alerts to one Slack channel. Safe for concurrent use.
type Notifier struct {
	api         *slack.Client
	token       string
	channel     string
	log         *slog.Logger
	now         func() time.Time
	minInterval time.Duration

	mu   sync.Mutex
	next map[string]time.Time // per channel: the earliest time of the next call
}

var _ notify.Notifier = (*Notifier)(nil)

// New returns a Notifier for cfg. It checks that the token and channel are
// set and the API URL is an http(s) URL, and makes no network call.
func New(cfg Config) (*Notifier, error) {
	switch {
	case strings.TrimSpace(cfg.Token) == "":
		return nil, errors.New("slack: no bot token")
	case strings.IndexFunc(cfg.Token, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0:
		// Not shown: it is (part of) the token.
		return nil, errors.New("slack: the bot token contains white space")
	case strings.TrimSpace(cfg.Channel) == "":
		return nil, errors.New("slack: no channel")
	case strings.ContainsAny(cfg.Channel, "/ \t\r\n"):
		return nil, fmt.Errorf("slack: channel %q is not a channel id", cfg.Channel)
	}
	opts := []slack.Option{}
	if cfg.APIURL != "" {
		u, err := url.Parse(cfg.APIURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("slack: api url %q is not an http(s) URL", notify.Redact(cfg.APIURL, cfg.Token))
		}
		api := cfg.APIURL
		if !strings.HasSuffix(api, "/") {
			api += "/"
		}
		opts = append(opts, slack.OptionAPIURL(api))
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: DefaultTimeout}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	opts = append(opts, slack.OptionHTTPClient(client))
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	interval := cfg.MinInterval
	if interval == 0 {
		interval = DefaultMinInterval
	}
	return &Notifier{
		api:         slack.New(cfg.Token, opts...),
		token:       cfg.Token,
		channel:     cfg.Channel,
		log:         log,
		now:         now,
		minInterval: interval,
		next:        make(map[string]time.Time),
	}, nil
}

// Name returns "slack".
func (n *Notifier) Name() string { return "slack" }

// Post sends ev as a new message in the channel and returns its ref,
// "CHANNEL/TS". A DOWN (and any kind but FLAPPING) is the alert
// (AlertMessage); a FLAPPING is a line of text (ReplyText). Should Slack
// refuse the blocks (invalid_blocks, msg_too_long, …), the text alone is
// posted at once instead.
func (n *Notifier) Post(ctx context.Context, ev state.Event) (notify.Ref, error) {
	msg := AlertMessage(ev)
	if ev.Kind == state.EventFlapping {
		msg = Message{Text: ReplyText(ev, false)}
	}
	return n.post(ctx, ev, msg, "")
}

// Edit replaces the alert ref with AlertMessage(ev) (chat.update). An alert
// Slack no longer has or lets tocsin edit (message_not_found,
// cant_update_message, edit_window_closed), a ref that is not "CHANNEL/TS",
// or one in a channel other than the configured one that Slack no longer
// lets tocsin reach, is logged and counts as done: there is nothing to
// edit. Refused blocks are replaced by the text alone, as in Post.
func (n *Notifier) Edit(ctx context.Context, ref notify.Ref, ev state.Event) error {
	ch, ts, ok := ParseRef(ref)
	if !ok {
		n.log.Warn("not a Slack message ref; edit skipped", "ref", n.redact(string(ref)),
			"event", string(ev.Kind), "target", ev.Target)
		return nil
	}
	msg := AlertMessage(ev)
	if ev.Kind == state.EventFlapping {
		// A flapping notice is a line of text, edited with its count.
		msg = Message{Text: ReplyText(ev, false), Blocks: []slack.Block{}}
	}
	err := n.update(ctx, ch, ts, msg)
	if err != nil && classify(err) == render {
		n.log.Warn("Slack refused the alert's blocks; sending its text alone", "op", "chat.update",
			"event", string(ev.Kind), "target", ev.Target, "err", n.redact(describe(err)))
		// No blocks at all would keep the old ones: an empty list clears them.
		err = n.update(ctx, ch, ts, Message{Text: msg.Text, Blocks: []slack.Block{}})
	}
	if err == nil {
		return nil
	}
	if v := classify(err); v == gone || (ch != n.channel && channelCodes[code(err)]) {
		n.log.Warn("alert cannot be edited; edit skipped", "channel", ch, "ts", ts,
			"event", string(ev.Kind), "target", ev.Target, "err", n.redact(describe(err)))
		return nil
	}
	return n.wrap("chat.update", err)
}

// Reply sends ReplyText(ev) in the thread of ref and returns the reply's
// ref. With an empty or unreadable ref, or when Slack has no such thread
// (thread_not_found, a channel without threads, a former channel out of
// reach), it posts the line top-level in the channel instead.
func (n *Notifier) Reply(ctx context.Context, ref notify.Ref, ev state.Event) (notify.Ref, error) {
	ch, ts, ok := ParseRef(ref)
	if !ok {
		if ref != "" {
			n.log.Warn("not a Slack message ref; replying top-level", "ref", n.redact(string(ref)),
				"event", string(ev.Kind), "target", ev.Target)
		}
		return n.post(ctx, ev, Message{Text: ReplyText(ev, false)}, "")
	}
	r, err := n.post(ctx, ev, Message{Text: ReplyText(ev, true)}, ch+"/"+ts)
	if err == nil {
		return r, nil
	}
	re, ok := errors.AsType[*threadError](err)
	if !ok {
		return "", err
	}
	n.log.Warn("alert's thread is out of reach; replying top-level", "channel", ch, "ts", ts,
		"event", string(ev.Kind), "target", ev.Target, "err", re.Error())
	return n.post(ctx, ev, Message{Text: ReplyText(ev, false)}, "")
}

// threadError is a failed thread reply that a top-level post may replace.
type threadError struct{ text string }

func (e *threadError) Error() string { return e.text }

// post sends msg with chat.postMessage: top-level in the channel when
// thread is "", else as a reply in thread ("CHANNEL/TS"). Refused blocks are
// sent once more as text only. A reply that cannot reach its thread returns
// a *threadError.
func (n *Notifier) post(ctx context.Context, ev state.Event, msg Message, thread string) (notify.Ref, error) {
	ch, ts := n.channel, ""
	if thread != "" {
		ch, ts, _ = ParseRef(notify.Ref(thread))
	}
	rch, rts, err := n.send(ctx, ch, ts, msg)
	if err != nil && classify(err) == render && len(msg.Blocks) > 0 {
		n.log.Warn("Slack refused the message's blocks; sending its text alone", "op", "chat.postMessage",
			"event", string(ev.Kind), "target", ev.Target, "err", n.redact(describe(err)))
		rch, rts, err = n.send(ctx, ch, ts, msg.TextOnly())
	}
	if err != nil {
		if ts != "" && (classify(err) == noThread || (ch != n.channel && channelCodes[code(err)])) {
			return "", &threadError{text: n.redact("slack: chat.postMessage: " + describe(err))}
		}
		return "", n.wrap("chat.postMessage", err)
	}
	if rts == "" {
		// Nothing to edit or reply to later: no ref.
		n.log.Warn("Slack answered without the message's ts", "channel", rch, "event", string(ev.Kind), "target", ev.Target)
		return "", nil
	}
	if rch == "" {
		rch = ch
	}
	n.log.Debug("posted", "channel", rch, "ts", rts, "thread", ts, "event", string(ev.Kind), "target", ev.Target)
	return notify.Ref(rch + "/" + rts), nil
}

// send is one paced chat.postMessage.
func (n *Notifier) send(ctx context.Context, ch, threadTS string, msg Message) (string, string, error) {
	if err := n.pace(ctx, ch); err != nil {
		return "", "", err
	}
	opts := n.options(msg)
	if threadTS != "" {
		opts = append(opts, slack.MsgOptionTS(threadTS))
	}
	return n.api.PostMessageContext(ctx, ch, opts...)
}

// update is one paced chat.update.
func (n *Notifier) update(ctx context.Context, ch, ts string, msg Message) error {
	if err := n.pace(ctx, ch); err != nil {
		return err
	}
	_, _, _, err := n.api.UpdateMessageContext(ctx, ch, ts, n.options(msg)...)
	if err == nil {
		n.log.Debug("edited", "channel", ch, "ts", ts)
	}
	return err
}

// options are the message options of msg. Its text is mrkdwn escaped
// already; links are not unfurled (a target's URL is often internal, and
// Slack should not fetch it).
func (n *Notifier) options(msg Message) []slack.MsgOption {
	opts := []slack.MsgOption{
		slack.MsgOptionText(msg.Text, false),
		slack.MsgOptionDisableLinkUnfurl(),
		slack.MsgOptionDisableMediaUnfurl(),
	}
	if msg.Blocks != nil {
		opts = append(opts, slack.MsgOptionBlocks(msg.Blocks...))
	}
	return opts
}

// pace waits, if need be, so that calls on channel ch start at least
// minInterval apart. Callers queue: each takes the next free slot. It
// returns ctx's error if ctx ends first.
func (n *Notifier) pace(ctx context.Context, ch string) error {
	if n.minInterval < 0 {
		return ctx.Err()
	}
	n.mu.Lock()
	now := n.now()
	at := n.next[ch]
	if at.Before(now) {
		at = now
	}
	n.next[ch] = at.Add(n.minInterval)
	n.mu.Unlock()

	wait := at.Sub(now)
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

// ParseRef splits a ref made by this notifier, "CHANNEL/TS", into the
// channel id and the message's ts; ok is false for anything else.
func ParseRef(ref notify.Ref) (channel, ts string, ok bool) {
	channel, ts, ok = strings.Cut(string(ref), "/")
	if !ok || channel == "" || ts == "" || strings.Contains(ts, "/") {
		return "", "", false
	}
	return channel, ts, true
}
