// Package discord is tocsin's Discord adapter for the chat bot: it parses
// Discord's interactions (slash commands, Acknowledge buttons, autocomplete)
// into bot.Command, asks the Handler, and renders the bot.Reply as a
// Discord message. It holds no command logic. Commands returns the slash
// command definitions and Register installs them. Two transports share the
// rest: HTTP interactions (NewHTTP, requests signed with the application's
// Ed25519 key) and the gateway (RunGateway, a WebSocket opened with the bot
// token, no public URL needed).
//
// Responses: a command whose Response has a Later (an accepted /ping) is
// answered at once with a deferred message (type 5, ephemeral when
// Response.Now is), and Later's reply then replaces it (PATCH of the
// interaction's @original message). Any other command is answered with
// Response.Now as a message (type 4, ephemeral when Now is).
//
// Buttons: a click on a button whose custom_id is "tocsin_ack:" followed by
// an incident id in decimal acknowledges that incident; "tocsin_ackall:"
// followed by a group leader's incident id (the Acknowledge all button of a
// grouped alert) acknowledges every member of that group. It is answered at
// once with a deferred update (type 6: Discord shows no error and no
// "thinking"), and the ack runs after that, free of Discord's three-second
// deadline; the alert itself is edited by tocsin's notifier through its
// outbox, so a successful ack posts nothing here, and a refusal (an
// ephemeral reply: not allowed, already acknowledged, over) is sent as an
// ephemeral follow-up, to the clicking user alone. Other buttons are
// answered the same way and ignored.
//
// Replies never mention anyone: every message tocsin sends here carries
// allowed_mentions with an empty parse list.
package discord

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/tocsin/tocsin/bot"
	"github.com/tocsin/tocsin/internal/discordhttp"
)

// Platform is the value of bot.Command.Platform for commands from Discord.
const Platform = "discord"

// AckCustomIDPrefix starts the custom_id of the Acknowledge button on
// tocsin's alerts; the incident id in decimal follows it.
const AckCustomIDPrefix = "tocsin_ack:"

// AckAllCustomIDPrefix starts the custom_id of the Acknowledge all button
// on tocsin's grouped alerts; the group leader's incident id in decimal
// follows it.
const AckAllCustomIDPrefix = "tocsin_ackall:"

const (
	// nowTimeout bounds a Handler call whose answer Discord waits for (it
	// gives three seconds; a slower answer is lost, but a started ack or
	// mute is allowed to finish).
	nowTimeout = 10 * time.Second
	// laterTimeout bounds a Response.Later (and a button's ack).
	laterTimeout = 30 * time.Second
	// postTimeout bounds one REST call: an interaction's response in
	// gateway mode, the edit of @original, a follow-up.
	postTimeout = 10 * time.Second
)

// Handler answers commands and suggests targets; *bot.Handler satisfies it.
type Handler interface {
	// Handle answers cmd.
	Handle(ctx context.Context, cmd bot.Command) bot.Response
	// Complete suggests target names for what the user typed so far.
	Complete(prefix string) []string
}

var _ Handler = (*bot.Handler)(nil)

// Options configure the adapter in either mode and Register.
type Options struct {
	// Handler answers the commands. Required by NewHTTP and RunGateway.
	Handler Handler
	// Token is the bot token (discord.bot_token), without "Bot ".
	// Required by Register and RunGateway; in HTTP mode it is optional,
	// as an interaction's token alone lets tocsin answer it.
	Token string
	// ApplicationID is the application's id (discord.application_id):
	// Register needs it, and it stands in for an interaction's
	// application_id should one lack it.
	ApplicationID string
	// GuildID is the guild whose commands Register sets (discord.guild_id);
	// "" sets the global commands, which Discord may take a while to show.
	GuildID string
	// PublicKey is the application's Ed25519 public key in hex
	// (discord.public_key); it verifies requests in HTTP mode, which
	// NewHTTP refuses to start without.
	PublicKey string
	// APIURL replaces https://discord.com (discord.api_url); paths keep
	// /api/v9/….
	APIURL string
	// AckRoles are the role ids whose members may ping, ack, unack, mute
	// and unmute (discord.ack_roles); empty allows everyone. Outside a guild
	// (a DM) nobody has a role, so a non-empty AckRoles allows nobody
	// there.
	AckRoles []string
	// HTTPClient calls Discord's REST API (its transport is kept, pointed
	// at APIURL); nil means a client with a 15 s timeout.
	HTTPClient *http.Client
	// Logger receives errors and connection events; nil discards them.
	// Tokens and request bodies are never logged.
	Logger *slog.Logger
	// Now is the clock that judges the freshness of HTTP interactions;
	// nil means time.Now.
	Now func() time.Time
}

// adapter is what both modes share: the options, filled in, a session for
// REST calls, and the parsing, calling and rendering.
type adapter struct {
	handler Handler
	appID   string
	roles   []string
	session *discordgo.Session
	log     *slog.Logger
	now     func() time.Time
	work    inflight
}

// newSession returns a discordgo session on opts' token whose REST calls go
// through an HTTP client pointed at opts.APIURL. It never retries a rate
// limited request by itself (the error reaches the caller) and logs nothing
// through the log package: tocsin logs what matters with slog.
func newSession(opts Options) (*discordgo.Session, error) {
	client, err := discordhttp.Client(opts.APIURL, opts.HTTPClient)
	if err != nil {
		return nil, err
	}
	token := ""
	if opts.Token != "" {
		token = "Bot " + opts.Token
	}
	s, err := discordgo.New(token)
	if err != nil {
		return nil, err
	}
	s.Client = client
	s.ShouldRetryOnRateLimit = false
	s.MaxRestRetries = 1
	s.StateEnabled = false
	// discordgo logs errors with the log package unless the level is
	// below LogError.
	s.LogLevel = discordgo.LogError - 1
	return s, nil
}

func newAdapter(opts Options) (*adapter, error) {
	if opts.Handler == nil {
		return nil, errors.New("discord: no Handler")
	}
	s, err := newSession(opts)
	if err != nil {
		return nil, fmt.Errorf("discord: %w", err)
	}
	a := &adapter{
		handler: opts.Handler,
		appID:   opts.ApplicationID,
		roles:   opts.AckRoles,
		session: s,
		log:     opts.Logger,
		now:     opts.Now,
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.now == nil {
		a.now = time.Now
	}
	return a, nil
}

// inflight counts the goroutines requests leave running (a Later, an ack,
// their posts), so that RunGateway can wait for them; once closed it starts
// no more.
type inflight struct {
	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup
}

// Go runs f in a goroutine unless w is closed, and reports whether it did.
func (w *inflight) Go(f func()) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return false
	}
	w.wg.Go(f)
	return true
}

// Close makes Go refuse new work and waits for the running goroutines.
func (w *inflight) Close() {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	w.wg.Wait()
}

// answer decides the immediate response to an interaction and the work
// left after it, which the caller runs once the response is sent (after
// may be nil). resp is nil for an interaction tocsin does not take (a
// modal, an unknown type).
func (a *adapter) answer(ctx context.Context, i *discordgo.Interaction) (resp *discordgo.InteractionResponse, after func(context.Context)) {
	if i.AppID == "" {
		i.AppID = a.appID
	}
	switch i.Type {
	case discordgo.InteractionPing:
		return &discordgo.InteractionResponse{Type: discordgo.InteractionResponsePong}, nil
	case discordgo.InteractionApplicationCommand:
		cmd, ok := a.command(i)
		if !ok {
			return nil, nil
		}
		nowCtx, cancel := context.WithTimeout(ctx, nowTimeout)
		r := a.handle(nowCtx, cmd)
		cancel()
		if r.Later == nil {
			return &discordgo.InteractionResponse{
				Type: discordgo.InteractionResponseChannelMessageWithSource,
				Data: messageData(r.Now),
			}, nil
		}
		resp := &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredChannelMessageWithSource}
		if r.Now.Ephemeral {
			resp.Data = &discordgo.InteractionResponseData{Flags: discordgo.MessageFlagsEphemeral}
		}
		return resp, func(ctx context.Context) { a.finish(ctx, i, cmd, r.Later) }
	case discordgo.InteractionMessageComponent:
		resp := &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredMessageUpdate}
		cmd, ok, err := a.button(i)
		if err != nil {
			a.log.Warn("discord: ignoring a button", "user", cmd.User.ID, "err", err)
		}
		if !ok {
			return resp, nil
		}
		return resp, func(ctx context.Context) { a.buttonAck(ctx, i, cmd) }
	case discordgo.InteractionApplicationCommandAutocomplete:
		return &discordgo.InteractionResponse{
			Type: discordgo.InteractionApplicationCommandAutocompleteResult,
			Data: &discordgo.InteractionResponseData{Choices: a.choices(i)},
		}, nil
	}
	return nil, nil
}

// user is who gave an interaction: the member in a guild, the user in a
// DM; its Name is the member's nickname, else the user's display name,
// else the username.
func user(i *discordgo.Interaction) bot.User {
	var u *discordgo.User
	nick := ""
	if i.Member != nil {
		u, nick = i.Member.User, i.Member.Nick
	}
	if u == nil {
		u = i.User
	}
	if u == nil {
		return bot.User{Name: nick}
	}
	name := nick
	if name == "" {
		name = u.GlobalName
	}
	if name == "" {
		name = u.Username
	}
	return bot.User{ID: u.ID, Name: name}
}

// allowed reports whether the interaction's member may act: AckRoles is
// empty, or the member has one of its roles.
func (a *adapter) allowed(i *discordgo.Interaction) bool {
	if len(a.roles) == 0 {
		return true
	}
	if i.Member == nil {
		return false
	}
	for _, r := range i.Member.Roles {
		if slices.Contains(a.roles, r) {
			return true
		}
	}
	return false
}

// optionValues are a slash command's top-level options by name, as
// strings (every tocsin option is a string).
func optionValues(opts []*discordgo.ApplicationCommandInteractionDataOption) map[string]string {
	m := make(map[string]string, len(opts))
	for _, o := range opts {
		if o == nil {
			continue
		}
		switch v := o.Value.(type) {
		case string:
			m[o.Name] = strings.TrimSpace(v)
		case nil:
		default:
			m[o.Name] = fmt.Sprint(v)
		}
	}
	return m
}

// command parses a slash command into a Command: its name and its options
// as Args in the order the Handler reads them (ping HOST; status [TARGET];
// ack TARGET [REASON words…]; unack TARGET; mute TARGET DURATION; unmute
// TARGET; oncall; help).
// ok is false when the interaction carries no command data.
func (a *adapter) command(i *discordgo.Interaction) (cmd bot.Command, ok bool) {
	data, ok := i.Data.(discordgo.ApplicationCommandInteractionData)
	if !ok {
		return bot.Command{}, false
	}
	opt := optionValues(data.Options)
	cmd = bot.Command{
		Platform: Platform,
		Name:     strings.ToLower(data.Name),
		User:     user(i),
		Channel:  i.ChannelID,
		Allowed:  a.allowed(i),
	}
	switch cmd.Name {
	case bot.CmdPing:
		cmd.Args = []string{opt[optHost]}
	case bot.CmdStatus:
		if t := opt[optTarget]; t != "" {
			cmd.Args = []string{t}
		}
	case bot.CmdAck:
		cmd.Args = append([]string{opt[optTarget]}, strings.Fields(opt[optReason])...)
	case bot.CmdMute:
		cmd.Args = []string{opt[optTarget], opt[optDuration]}
	case bot.CmdUnack, bot.CmdUnmute:
		cmd.Args = []string{opt[optTarget]}
	}
	return cmd, true
}

// button turns a click on an Acknowledge button into an ack of the
// incident it names, and a click on an Acknowledge all button into an ack
// of every member of the group whose leader it names (the Command's All is
// true). ok is false for every other component, which tocsin ignores, and
// for a tocsin_ack or tocsin_ackall custom_id that names no incident (err
// says why).
func (a *adapter) button(i *discordgo.Interaction) (cmd bot.Command, ok bool, err error) {
	data, isComponent := i.Data.(discordgo.MessageComponentInteractionData)
	if !isComponent {
		return bot.Command{}, false, nil
	}
	rest, all := strings.CutPrefix(data.CustomID, AckAllCustomIDPrefix)
	if !all {
		var found bool
		if rest, found = strings.CutPrefix(data.CustomID, AckCustomIDPrefix); !found {
			return bot.Command{}, false, nil
		}
	}
	cmd = bot.Command{
		Platform: Platform,
		Name:     bot.CmdAck,
		User:     user(i),
		Channel:  i.ChannelID,
		Allowed:  a.allowed(i),
		All:      all,
	}
	id, perr := strconv.ParseInt(rest, 10, 64)
	if perr != nil || id <= 0 {
		return cmd, false, fmt.Errorf("custom_id %q names no incident", data.CustomID)
	}
	cmd.Incident = id
	return cmd, true, nil
}

// choices answers an autocomplete interaction: the Handler's suggestions
// for the focused option when it is a target, at most 25, each shown and
// sent as the target's name.
func (a *adapter) choices(i *discordgo.Interaction) []*discordgo.ApplicationCommandOptionChoice {
	data, ok := i.Data.(discordgo.ApplicationCommandInteractionData)
	if !ok {
		return nil
	}
	var focused *discordgo.ApplicationCommandInteractionDataOption
	for _, o := range data.Options {
		if o != nil && o.Focused {
			focused = o
		}
	}
	if focused == nil || focused.Name != optTarget {
		return nil
	}
	typed, _ := focused.Value.(string)
	names := a.complete(typed)
	out := make([]*discordgo.ApplicationCommandOptionChoice, 0, min(len(names), maxChoices))
	for _, n := range names {
		if len(out) == maxChoices {
			break
		}
		if n == "" || len(n) > maxChoiceLen {
			continue
		}
		out = append(out, &discordgo.ApplicationCommandOptionChoice{Name: n, Value: n})
	}
	return out
}

// Discord's limits on autocomplete choices: how many, and the length of
// a name and of a string value.
const (
	maxChoices   = 25
	maxChoiceLen = 100
)

// complete calls Handler.Complete, turning a panic into no suggestions.
func (a *adapter) complete(prefix string) (names []string) {
	defer func() {
		if p := recover(); p != nil {
			a.log.Error("discord: completion panicked", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			names = nil
		}
	}()
	return a.handler.Complete(prefix)
}

// handle calls the Handler; a panic becomes bot.Failed (see
// bot.SafeHandle).
func (a *adapter) handle(ctx context.Context, cmd bot.Command) bot.Response {
	return bot.SafeHandle(ctx, a.handler.Handle, cmd, a.log, "discord")
}

// later runs a Response.Later; a panic becomes bot.Failed.
func (a *adapter) later(ctx context.Context, cmd bot.Command, f func(context.Context) bot.Reply) bot.Reply {
	return bot.SafeLater(ctx, f, cmd, a.log, "discord")
}

// finish runs a deferred command's Later, bounded by laterTimeout, and
// replaces the deferred response (@original) with its reply, or deletes it
// when the reply is empty. The edit has a deadline of its own, and outlives
// ctx's cancellation, so a Later cut short is still answered.
func (a *adapter) finish(ctx context.Context, i *discordgo.Interaction, cmd bot.Command, f func(context.Context) bot.Reply) {
	laterCtx, cancel := context.WithTimeout(ctx, laterTimeout)
	r := a.later(laterCtx, cmd, f)
	cancel()
	postCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), postTimeout)
	defer cancel()
	content := render(r)
	var err error
	if content == "" {
		err = a.session.InteractionResponseDelete(i, discordgo.WithContext(postCtx))
	} else {
		_, err = a.session.InteractionResponseEdit(i, &discordgo.WebhookEdit{
			Content:         &content,
			AllowedMentions: noMentions(),
		}, discordgo.WithContext(postCtx))
	}
	if err != nil {
		a.log.Error("discord: replacing a deferred response failed", "command", cmd.Name, "user", cmd.User.ID, "err", redact(err))
	}
}

// buttonAck runs an ack from a button and sends its refusal, if it is
// one, as an ephemeral follow-up to the clicking user alone. A reply shown
// to the channel is not sent: the notifier edits the alert.
func (a *adapter) buttonAck(ctx context.Context, i *discordgo.Interaction, cmd bot.Command) {
	ackCtx, cancel := context.WithTimeout(ctx, laterTimeout)
	resp := a.handle(ackCtx, cmd)
	replies := []bot.Reply{resp.Now}
	if resp.Later != nil {
		replies = append(replies, a.later(ackCtx, cmd, resp.Later))
	}
	cancel()
	for _, r := range replies {
		content := render(r)
		if !r.Ephemeral || content == "" {
			continue
		}
		postCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), postTimeout)
		_, err := a.session.FollowupMessageCreate(i, false, &discordgo.WebhookParams{
			Content:         content,
			Flags:           discordgo.MessageFlagsEphemeral,
			AllowedMentions: noMentions(),
		}, discordgo.WithContext(postCtx))
		cancel()
		if err != nil {
			a.log.Error("discord: sending an ack refusal failed", "incident", cmd.Incident, "user", cmd.User.ID, "err", redact(err))
		}
	}
}

// noMentions is the allowed_mentions of every message tocsin sends here:
// none, so that a reply quoting "@everyone" or a role pings nobody.
func noMentions() *discordgo.MessageAllowedMentions {
	return &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{}}
}

// messageData is a type 4 response's message for r. An empty r (no
// Handler answers so) becomes a short ephemeral note, as Discord refuses an
// empty message.
func messageData(r bot.Reply) *discordgo.InteractionResponseData {
	content := render(r)
	if content == "" {
		content, r.Ephemeral = noReply, true
	}
	d := &discordgo.InteractionResponseData{Content: content, AllowedMentions: noMentions()}
	if r.Ephemeral {
		d.Flags = discordgo.MessageFlagsEphemeral
	}
	return d
}

// noReply stands in for an empty reply.
const noReply = "(tocsin has nothing to say to that)"

// redact makes err safe to log: a URL (which holds an interaction's or a
// webhook's token) is dropped, and a long response body cut short.
func redact(err error) error {
	if err == nil {
		return nil
	}
	if ue, ok := errors.AsType[*url.Error](err); ok {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	if rl, ok := errors.AsType[*discordgo.RateLimitError](err); ok && rl.RateLimit != nil && rl.TooManyRequests != nil {
		return fmt.Errorf("rate limited by Discord: retry after %s", rl.RetryAfter)
	}
	if re, ok := errors.AsType[*discordgo.RESTError](err); ok && re.Response != nil {
		body := string(re.ResponseBody)
		if len(body) > 300 {
			body = body[:300] + "…"
		}
		return fmt.Errorf("HTTP %s: %s", re.Response.Status, body)
	}
	return err
}
