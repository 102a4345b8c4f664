// Package slack is tocsin's Slack adapter for the chat bot: it verifies and
// parses Slack's slash commands and button clicks into bot.Command, asks the
// Handler, and renders the bot.Reply as a Slack message. It holds no command
// logic. Two transports share that work: HTTP (NewHTTP, requests signed with
// the app's signing secret) and Socket Mode (RunSocketMode, a WebSocket
// opened with the app-level token, no public URL needed).
//
// Slash commands: the main form is "/tocsin
// ping|status|ack|unack|mute|unmute|oncall|help …" (any command name that is not itself a tocsin command takes its first
// word as the command, so the app may register it under another name), and
// "/ping HOST" (likewise "/ack …" and the other command names, should the
// app register them). "/tocsin" alone asks for help.
//
// Buttons: a block_actions click whose action_id is "tocsin_ack" and whose
// value is an incident id in decimal acknowledges that incident; one whose
// action_id is "tocsin_ack_all" (the Acknowledge all button of a grouped
// alert) and whose value is the group leader's incident id acknowledges
// every member of that group. The alert
// itself is edited by tocsin's notifier through its outbox; here only a
// refusal (an ephemeral reply) is posted back, to the clicking user alone.
package slack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/tocsin/tocsin/bot"
)

// Platform is the value of bot.Command.Platform for commands from Slack.
const Platform = "slack"

// AckActionID is the action_id of the Acknowledge button on tocsin's alerts;
// its value is the incident id in decimal.
const AckActionID = "tocsin_ack"

// AckAllActionID is the action_id of the Acknowledge all button on tocsin's
// grouped alerts; its value is the group leader's incident id in decimal.
const AckAllActionID = "tocsin_ack_all"

const (
	// maxBody bounds a request body read in HTTP mode. Slack's slash
	// commands and interaction payloads are a few KB.
	maxBody = 64 << 10
	// nowTimeout bounds a Handler call whose answer Slack waits for (it
	// gives three seconds; a slower answer is lost, but a started ack or
	// mute is allowed to finish).
	nowTimeout = 10 * time.Second
	// laterTimeout bounds a Response.Later (and a button's ack).
	laterTimeout = 30 * time.Second
	// postTimeout bounds a post to a response_url (and is the timeout
	// of the HTTP client made when Options.HTTPClient is nil).
	postTimeout = 10 * time.Second
)

// Handler answers a command; *bot.Handler satisfies it.
type Handler interface {
	Handle(ctx context.Context, cmd bot.Command) bot.Response
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, cmd bot.Command) bot.Response

// Handle calls f.
func (f HandlerFunc) Handle(ctx context.Context, cmd bot.Command) bot.Response {
	return f(ctx, cmd)
}

// Options configure the adapter in either mode.
type Options struct {
	// Handler answers the commands. Required.
	Handler Handler
	// SigningSecret verifies requests in HTTP mode (slack.signing_secret).
	// Without it every HTTP request is refused.
	SigningSecret string
	// BotToken is the bot's xoxb- token (slack.bot_token).
	BotToken string
	// AppToken is the app-level xapp- token that opens Socket Mode
	// connections (slack.app_token). Required by RunSocketMode.
	AppToken string
	// APIURL replaces Slack's Web API base URL (slack.api_url); "" keeps
	// Slack's. A missing trailing "/" is added.
	APIURL string
	// AllowedUsers are the user ids or names (slack.allowed_users) who may
	// ping, ack, unack, mute and unmute; empty allows everyone.
	AllowedUsers []string
	// AllowedChannels are the channel ids (slack.allowed_channels) where
	// they may; empty allows any.
	AllowedChannels []string
	// HTTPClient posts follow-ups to Slack's response_url (and, in Socket
	// Mode, calls the Web API); nil means a client with a 10 s timeout.
	HTTPClient *http.Client
	// Logger receives errors and connection events; nil discards them.
	// Tokens, the signing secret and request bodies are never logged.
	Logger *slog.Logger
}

// adapter is what both modes share: the options, filled in, and the
// parsing, calling and posting.
type adapter struct {
	handler  Handler
	secret   string
	users    []string
	channels []string
	client   *http.Client
	log      *slog.Logger
	// wg counts the goroutines a request leaves running (Later, posts).
	wg sync.WaitGroup
}

func newAdapter(opts Options) *adapter {
	a := &adapter{
		handler:  opts.Handler,
		secret:   opts.SigningSecret,
		users:    opts.AllowedUsers,
		channels: opts.AllowedChannels,
		client:   opts.HTTPClient,
		log:      opts.Logger,
	}
	if a.client == nil {
		a.client = &http.Client{Timeout: postTimeout}
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	return a
}

// allowed reports whether the user may act in the channel: the user is in
// AllowedUsers by id or name (names compared without case) and the channel
// in AllowedChannels, an empty list allowing all.
func (a *adapter) allowed(u bot.User, channel string) bool {
	userOK := len(a.users) == 0
	for _, w := range a.users {
		if w == u.ID || (u.Name != "" && strings.EqualFold(w, u.Name)) {
			userOK = true
			break
		}
	}
	channelOK := len(a.channels) == 0
	for _, w := range a.channels {
		if w == channel {
			channelOK = true
			break
		}
	}
	return userOK && channelOK
}

// commandNames are the names a slash command may carry itself ("/ping").
var commandNames = map[string]bool{
	bot.CmdPing: true, bot.CmdStatus: true, bot.CmdAck: true, bot.CmdUnack: true,
	bot.CmdMute: true, bot.CmdUnmute: true, bot.CmdOncall: true, bot.CmdHelp: true,
}

// slashCommand parses a slash command: "/ping HOST" is Name "ping" with Args
// from the text; any other command ("/tocsin") takes its name from the
// text's first word, and help when the text is empty.
func (a *adapter) slashCommand(sc slack.SlashCommand) bot.Command {
	words := strings.Fields(sc.Text)
	for i, w := range words {
		words[i] = unformat(w)
	}
	cmd := bot.Command{
		Platform: Platform,
		User:     bot.User{ID: sc.UserID, Name: sc.UserName},
		Channel:  sc.ChannelID,
	}
	name := strings.ToLower(strings.TrimPrefix(strings.TrimSpace(sc.Command), "/"))
	switch {
	case commandNames[name]:
		cmd.Name, cmd.Args = name, words
	case len(words) == 0:
		cmd.Name = bot.CmdHelp
	default:
		cmd.Name, cmd.Args = strings.ToLower(words[0]), words[1:]
	}
	if len(cmd.Args) == 0 {
		cmd.Args = nil
	}
	cmd.Allowed = a.allowed(cmd.User, cmd.Channel)
	return cmd
}

// unformat undoes Slack's formatting of one word of a command's text, so
// the Handler sees what the user typed: "<http://a.example|a.example>" is
// "a.example", "<#C1|ops>" is "ops", and &amp; &lt; &gt; are &, <, >.
// (Slack formats links and mentions this way when the command's "escape
// channels, users, and links" setting is on, and escapes &, <, > always.)
func unformat(w string) string {
	if len(w) > 2 && w[0] == '<' && w[len(w)-1] == '>' {
		inner := w[1 : len(w)-1]
		if _, label, ok := strings.Cut(inner, "|"); ok && label != "" {
			w = label
		} else {
			w = inner
		}
	}
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(w)
}

// ackCommand turns a button click into an ack of the incident the button
// names (tocsin_ack), or of every member of the group whose leader it names
// (tocsin_ack_all: the Command's All is true). ok is false for every other
// interaction, which tocsin ignores, and for a tocsin_ack or tocsin_ack_all
// whose value is not an incident id (err says why).
func (a *adapter) ackCommand(cb slack.InteractionCallback) (cmd bot.Command, ok bool, err error) {
	if cb.Type != slack.InteractionTypeBlockActions {
		return bot.Command{}, false, nil
	}
	for _, act := range cb.ActionCallback.BlockActions {
		if act == nil || (act.ActionID != AckActionID && act.ActionID != AckAllActionID) {
			continue
		}
		id, err := strconv.ParseInt(act.Value, 10, 64)
		if err != nil || id <= 0 {
			return bot.Command{}, false, fmt.Errorf("%s value %q is not an incident id", act.ActionID, act.Value)
		}
		name := cb.User.Username
		if name == "" {
			name = cb.User.Name
		}
		cmd := bot.Command{
			Platform: Platform,
			Name:     bot.CmdAck,
			User:     bot.User{ID: cb.User.ID, Name: name},
			Channel:  cb.Channel.ID,
			Incident: id,
			All:      act.ActionID == AckAllActionID,
		}
		if cmd.Channel == "" {
			cmd.Channel = cb.Container.ChannelID
		}
		cmd.Allowed = a.allowed(cmd.User, cmd.Channel)
		return cmd, true, nil
	}
	return bot.Command{}, false, nil
}

// handle calls the Handler; a panic becomes bot.Failed (see
// bot.SafeHandle).
func (a *adapter) handle(ctx context.Context, cmd bot.Command) bot.Response {
	return bot.SafeHandle(ctx, a.handler.Handle, cmd, a.log, "slack")
}

// later runs a Response.Later; a panic becomes bot.Failed.
func (a *adapter) later(ctx context.Context, cmd bot.Command, f func(context.Context) bot.Reply) bot.Reply {
	return bot.SafeLater(ctx, f, cmd, a.log, "slack")
}

// followUp runs later in its own goroutine, on ctx bounded by
// laterTimeout, and posts its reply to responseURL with a deadline of its
// own, so a Later that used all its time is still answered.
func (a *adapter) followUp(ctx context.Context, cmd bot.Command, responseURL string, later func(context.Context) bot.Reply) {
	a.wg.Go(func() {
		laterCtx, cancel := context.WithTimeout(ctx, laterTimeout)
		r := a.later(laterCtx, cmd, later)
		cancel()
		if err := a.post(ctx, responseURL, render(r, maxText)); err != nil {
			a.log.Error("slack: posting a follow-up failed", "command", cmd.Name, "user", cmd.User.ID, "err", err)
		}
	})
}

// buttonAck runs an ack from a button and posts its refusal, if it is one,
// to responseURL, to the clicking user alone; replace_original is false, so
// the alert stays as it is. A reply shown to the channel is not posted: the
// notifier edits the alert.
func (a *adapter) buttonAck(ctx context.Context, cmd bot.Command, responseURL string) {
	ackCtx, cancel := context.WithTimeout(ctx, laterTimeout)
	resp := a.handle(ackCtx, cmd)
	replies := []bot.Reply{resp.Now}
	if resp.Later != nil {
		replies = append(replies, a.later(ackCtx, cmd, resp.Later))
	}
	cancel()
	for _, r := range replies {
		if !r.Ephemeral {
			continue
		}
		if err := a.post(ctx, responseURL, render(r, maxText)); err != nil {
			a.log.Error("slack: posting an ack refusal failed", "incident", cmd.Incident, "user", cmd.User.ID, "err", err)
		}
	}
}

// post sends msg to a response_url as a new message (replace_original
// false), within postTimeout; an empty msg is not sent. The URL is not in
// the error: it carries a token of its own.
func (a *adapter) post(ctx context.Context, responseURL string, msg message) error {
	if msg.Text == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, postTimeout)
	defer cancel()
	u, err := url.Parse(responseURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return errors.New("no usable response_url")
	}
	err = slack.PostWebhookCustomHTTPContext(ctx, responseURL, a.client, &slack.WebhookMessage{
		Text:         msg.Text,
		ResponseType: msg.ResponseType,
	})
	if err != nil {
		return fmt.Errorf("response_url on %s: %w", u.Host, redact(err))
	}
	return nil
}

// redact drops the URL from err (a *url.Error names it).
func redact(err error) error {
	if ue, ok := errors.AsType[*url.Error](err); ok {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}
