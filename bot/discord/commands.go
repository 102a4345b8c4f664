package discord

import (
	"context"
	"errors"
	"fmt"

	"github.com/bwmarrin/discordgo"

	"github.com/tocsin/tocsin/bot"
)

// The option names of tocsin's slash commands.
const (
	optHost     = "host"
	optTarget   = "target"
	optReason   = "reason"
	optDuration = "duration"
)

// Commands returns the definitions of tocsin's slash commands: /ping host,
// /status [target], /ack target [reason], /unack target, /mute target
// duration, /unmute target, /oncall and /help. Target options
// autocomplete from the configured
// targets. The commands are for guilds only (dm_permission false); who may
// act is decided by tocsin (Options.AckRoles), not by Discord's
// permissions. Each call returns new values.
func Commands() []*discordgo.ApplicationCommand {
	noDM := false
	target := func(required bool, desc string) *discordgo.ApplicationCommandOption {
		return &discordgo.ApplicationCommandOption{
			Type:         discordgo.ApplicationCommandOptionString,
			Name:         optTarget,
			Description:  desc,
			Required:     required,
			Autocomplete: true,
			MaxLength:    100,
		}
	}
	cmd := func(name, desc string, opts ...*discordgo.ApplicationCommandOption) *discordgo.ApplicationCommand {
		return &discordgo.ApplicationCommand{
			Type:         discordgo.ChatApplicationCommand,
			Name:         name,
			Description:  desc,
			DMPermission: &noDM,
			Options:      opts,
		}
	}
	return []*discordgo.ApplicationCommand{
		cmd(bot.CmdPing, "ICMP echo (3) to a target, by name or host, or to a host tocsin may ping",
			&discordgo.ApplicationCommandOption{
				Type:        discordgo.ApplicationCommandOptionString,
				Name:        optHost,
				Description: "a target's name, or a host name or IP address",
				Required:    true,
				MaxLength:   255,
			}),
		cmd(bot.CmdStatus, "How many targets are up and down, and which; or one target's detail",
			target(false, "one target to show in detail (all when left out)")),
		cmd(bot.CmdAck, "Acknowledge a target's open incident",
			target(true, "the target that is down"),
			&discordgo.ApplicationCommandOption{
				Type:        discordgo.ApplicationCommandOptionString,
				Name:        optReason,
				Description: "why, or what is being done about it",
				MaxLength:   300,
			}),
		cmd(bot.CmdUnack, "Withdraw the acknowledgement of a target's incident; reminders resume",
			target(true, "the acknowledged target")),
		cmd(bot.CmdMute, "Hold a target's alerts for a while",
			target(true, "the target to mute"),
			&discordgo.ApplicationCommandOption{
				Type:        discordgo.ApplicationCommandOptionString,
				Name:        optDuration,
				Description: "how long: 30m, 2h30m, 1d (at most 30d)",
				Required:    true,
				MaxLength:   32,
			}),
		cmd(bot.CmdUnmute, "End a target's mute",
			target(true, "the muted target")),
		cmd(bot.CmdOncall, "Who is on call now, until when, and who is next"),
		cmd(bot.CmdHelp, "List tocsin's commands"),
	}
}

// Register installs Commands as the application's commands in
// opts.GuildID (global commands when it is ""), replacing whatever was
// there: one bulk overwrite, as at every start of tocsin. It needs
// opts.Token and opts.ApplicationID; an error from Discord is returned
// (without the token), and nothing is retried.
func Register(ctx context.Context, opts Options) error {
	if opts.Token == "" {
		return errors.New("discord: registering commands needs the bot token")
	}
	if opts.ApplicationID == "" {
		return errors.New("discord: registering commands needs the application id")
	}
	s, err := newSession(opts)
	if err != nil {
		return fmt.Errorf("discord: %w", err)
	}
	if _, err := s.ApplicationCommandBulkOverwrite(opts.ApplicationID, opts.GuildID, Commands(), discordgo.WithContext(ctx)); err != nil {
		where := "global commands"
		if opts.GuildID != "" {
			where = "commands of guild " + opts.GuildID
		}
		return fmt.Errorf("discord: registering the %s: %w", where, redact(err))
	}
	return nil
}
