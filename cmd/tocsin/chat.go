package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tocsin/tocsin/bot"
	botdiscord "github.com/tocsin/tocsin/bot/discord"
	botslack "github.com/tocsin/tocsin/bot/slack"
	"github.com/tocsin/tocsin/checks"
	"github.com/tocsin/tocsin/config"
	"github.com/tocsin/tocsin/maintenance"
	"github.com/tocsin/tocsin/notify"
	discordnotify "github.com/tocsin/tocsin/notify/discord"
	slacknotify "github.com/tocsin/tocsin/notify/slack"
	"github.com/tocsin/tocsin/oncall"
	"github.com/tocsin/tocsin/state"
)

// swapNotifier is a chat notifier whose settings a reload may replace (a
// mended token or channel) under the running dispatcher, which keeps its
// queue by name.
type swapNotifier struct {
	name string
	p    atomic.Pointer[notify.Notifier]
}

func newSwap(n notify.Notifier) *swapNotifier {
	s := &swapNotifier{name: n.Name()}
	s.p.Store(&n)
	return s
}

func (s *swapNotifier) set(n notify.Notifier) { s.p.Store(&n) }
func (s *swapNotifier) cur() notify.Notifier  { return *s.p.Load() }

func (s *swapNotifier) Name() string { return s.name }

func (s *swapNotifier) Post(ctx context.Context, ev state.Event) (notify.Ref, error) {
	return s.cur().Post(ctx, ev)
}

func (s *swapNotifier) Edit(ctx context.Context, ref notify.Ref, ev state.Event) error {
	return s.cur().Edit(ctx, ref, ev)
}

func (s *swapNotifier) Reply(ctx context.Context, ref notify.Ref, ev state.Event) (notify.Ref, error) {
	return s.cur().Reply(ctx, ref, ev)
}

// newSlackNotifier builds the Slack provider of cfg.Slack, mentioning the
// on-call rotation's Slack ids.
func newSlackNotifier(cfg *config.Config, log *slog.Logger) (notify.Notifier, error) {
	c := cfg.Slack
	n, err := slacknotify.New(slacknotify.Config{
		Token:   c.BotToken,
		Channel: c.Channel,
		APIURL:  c.APIURL,
		Logger:  log.With("notifier", "slack"),
	})
	if err != nil {
		return nil, err
	}
	people, escalate := oncallIDs(cfg.Oncall, func(p config.Person) string { return p.Slack }, func(e config.EscalateTo) string { return e.Slack })
	return notify.WithMentions(n, slacknotify.MentionsFor(people, escalate)), nil
}

// newDiscordNotifier builds the Discord provider of cfg.Discord: as the bot,
// or through the webhook in alert-only setups.
func newDiscordNotifier(cfg *config.Config, log *slog.Logger) (notify.Notifier, error) {
	c := cfg.Discord
	n, err := discordnotify.New(discordnotify.Config{
		Token:      c.BotToken,
		ChannelID:  c.ChannelID,
		WebhookURL: c.WebhookURL,
		APIURL:     c.APIURL,
		Logger:     log.With("notifier", "discord"),
	})
	if err != nil {
		return nil, err
	}
	people, escalate := oncallIDs(cfg.Oncall, func(p config.Person) string { return p.Discord }, func(e config.EscalateTo) string { return e.DiscordRole })
	return notify.WithMentions(n, discordnotify.MentionsFor(people, escalate)), nil
}

// oncallIDs maps each person of the rotation to their id on one platform,
// and gives escalate_to's id there (nothing without oncall:).
func oncallIDs(oc *config.Oncall, person func(config.Person) string, esc func(config.EscalateTo) string) (map[string]string, string) {
	people := map[string]string{}
	if oc == nil {
		return people, ""
	}
	for _, p := range oc.Rotation {
		people[p.Name] = person(p)
	}
	return people, esc(oc.EscalateTo)
}

// secretsOf lists the config's secrets, redacted from every delivery error.
func secretsOf(cfg *config.Config) []string {
	var out []string
	if s := cfg.Slack; s != nil {
		out = append(out, s.BotToken, s.AppToken, s.SigningSecret)
	}
	if d := cfg.Discord; d != nil {
		out = append(out, d.BotToken, d.WebhookURL)
	}
	return out
}

// rules are the config's time-based rules in force: who is on call and
// the maintenance windows. A reload replaces them as one.
type rules struct {
	rotation *oncall.Rotation
	windows  *maintenance.Windows
}

func newRules(cfg *config.Config) (*rules, error) {
	w, err := maintenance.New(cfg.Maintenance)
	if err != nil {
		return nil, fmt.Errorf("maintenance: %w", err)
	}
	return &rules{rotation: oncall.New(cfg.Oncall), windows: w}, nil
}

// oncallAt names the person on call at t ("" nobody): the tracker's
// reminders and escalations carry it.
func (d *daemon) oncallAt(t time.Time) string {
	if cur, _, _, ok := d.rules.Load().rotation.At(t); ok {
		return cur.Name
	}
	return ""
}

// held says whether a maintenance window holds tg's alerts at t.
func (d *daemon) held(tg checks.Target, t time.Time) (string, bool) {
	name, _, ok := d.rules.Load().windows.Active(tg, t)
	return name, ok
}

// chat is the daemon's chat side: the command handler and the adapters
// that feed it.
type chat struct {
	handler *bot.Handler
	// mount holds the HTTP-mode endpoints for web.Options.Mount.
	mount map[string]http.Handler
	// run starts the long-lived adapters (Socket Mode); each runs until
	// ctx ends.
	run []func(ctx context.Context) error
}

// newChat wires the bot handler to the tracker, the pinger and the config
// (read per command, so a reload takes effect), and the adapters cfg asks
// for.
func (d *daemon) newChat(cfg *config.Config, log *slog.Logger) (*chat, error) {
	c := &chat{mount: map[string]http.Handler{}}
	c.handler = bot.NewHandler(bot.Options{
		State: d.tracker,
		Ping:  d.ping,
		Settings: func() bot.Settings {
			cur := d.config()
			return bot.Settings{Targets: cur.Targets, PingAllow: cur.Bot.PingAllow,
				RateLimit: cur.Bot.RateLimit, RatePer: cur.Bot.RatePer, Oncall: d.rules.Load().rotation}
		},
		Logger: log.With("part", "bot"),
	})
	if s := cfg.Slack; s != nil {
		opts := botslack.Options{
			Handler:         c.handler,
			SigningSecret:   s.SigningSecret,
			BotToken:        s.BotToken,
			AppToken:        s.AppToken,
			APIURL:          s.APIURL,
			AllowedUsers:    s.AllowedUsers,
			AllowedChannels: s.AllowedChannels,
			Logger:          log.With("part", "slack"),
		}
		if s.AppToken != "" {
			c.run = append(c.run, func(ctx context.Context) error { return botslack.RunSocketMode(ctx, opts) })
		} else {
			cmds, acts := botslack.NewHTTP(opts)
			c.mount["POST /slack/commands"] = cmds
			c.mount["POST /slack/interactions"] = acts
		}
	}
	if dc := cfg.Discord; dc != nil && dc.BotToken != "" {
		dlog := log.With("part", "discord")
		opts := botdiscord.Options{
			Handler:       c.handler,
			Token:         dc.BotToken,
			ApplicationID: dc.ApplicationID,
			GuildID:       dc.GuildID,
			PublicKey:     dc.PublicKey,
			APIURL:        dc.APIURL,
			AckRoles:      dc.AckRoles,
			Logger:        dlog,
		}
		c.run = append(c.run, func(ctx context.Context) error { return registerDiscord(ctx, opts, dlog) })
		if dc.PublicKey != "" {
			h, err := botdiscord.NewHTTP(opts)
			if err != nil {
				return nil, fmt.Errorf("discord: %w", err)
			}
			c.mount["POST /discord/interactions"] = h
		} else {
			c.run = append(c.run, func(ctx context.Context) error { return botdiscord.RunGateway(ctx, opts) })
		}
	}
	return c, nil
}

// registerDiscord registers the slash commands, retrying with backoff
// while Discord cannot be reached: alerts do not wait for it.
func registerDiscord(ctx context.Context, opts botdiscord.Options, log *slog.Logger) error {
	wait := time.Second
	for {
		err := botdiscord.Register(ctx, opts)
		if err == nil {
			log.Info("discord commands registered", "guild", opts.GuildID)
			return nil
		}
		if ctx.Err() != nil {
			return nil
		}
		log.Warn("discord command registration failed; will retry", "retry_in", wait, "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Minute)
	}
}

// start runs the long-lived adapters on wg until ctx ends.
func (c *chat) start(ctx context.Context, wg *sync.WaitGroup, log *slog.Logger) {
	for _, run := range c.run {
		wg.Go(func() {
			if err := run(ctx); err != nil && ctx.Err() == nil {
				log.Error("chat adapter stopped", "err", err)
			}
		})
	}
}

// ping is the bot's Pinger through the resolver and ICMP mode in force
// now (a reload may change either).
func (d *daemon) ping(ctx context.Context, host string, count int, onReply func(checks.Reply)) (checks.PingStats, error) {
	p := bot.NewPinger(checks.NewResolver(d.config().Resolver), d.checker.p.Load().Mode())
	return p(ctx, host, count, onReply)
}
