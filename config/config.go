// Package config parses, defaults and validates config.yaml. It expands
// ${VAR} and ${VAR:-default} through an injected getenv, reports every error
// at once as PATH:LINE: KEY: problem, and never opens a socket.
package config

import (
	"time"

	"github.com/tocsin/tocsin/checks"
)

// Config is a loaded, defaulted and validated config.yaml.
type Config struct {
	// Path is the file the config was read from, as given.
	Path          string
	Listen        string // default 127.0.0.1:8080
	State         string // default tocsin.db
	ResultsLog    string // "" = off
	MaxConcurrent int    // default 512
	// ICMPSocket is how scheduled ping checks and `tocsin check` send
	// echoes: ICMPShared (default) or ICMPPerCheck.
	ICMPSocket string
	Resolver   string // "" = the system's; else host:port of a DNS server

	// Targets in file order, every default applied.
	Targets []checks.Target

	Bot         Bot
	Oncall      *Oncall // nil when absent
	Maintenance []Maintenance
	Slack       *Slack   // nil when absent: Slack off
	Discord     *Discord // nil when absent: Discord off
}

// The values of `icmp_socket`.
const (
	// ICMPShared sends every ping check's echoes over one shared socket
	// per address family.
	ICMPShared = "shared"
	// ICMPPerCheck gives each ping check its own socket (pro-bing).
	ICMPPerCheck = "per_check"
)

// Bot is the `bot:` section.
type Bot struct {
	PingAllow []string // CIDRs and domain suffixes
	// RateLimit is how many commands one user may give per RatePer.
	RateLimit int           // default 5
	RatePer   time.Duration // default 1m
}

// Oncall is the `oncall:` section.
type Oncall struct {
	TimeZone   string
	Location   *time.Location
	Handoff    string // as written, e.g. "Mon 09:00"
	Rotation   []Person
	EscalateTo EscalateTo
}

// Person is one member of the on-call rotation.
type Person struct {
	Name    string
	Slack   string
	Discord string
}

// EscalateTo says whom escalation mentions.
type EscalateTo struct {
	Slack       string
	DiscordRole string
}

// Maintenance is one window of `maintenance:`.
type Maintenance struct {
	Name     string
	Schedule string
	Duration time.Duration
	Targets  []string
	Tags     []string
}

// Slack is the `slack:` section; secrets already expanded.
type Slack struct {
	BotToken      string
	AppToken      string
	SigningSecret string
	Channel       string
	APIURL        string // "" = https://slack.com/api/; always ends in / when set
	// AllowedUsers and AllowedChannels, when not empty, limit who may
	// ping, ack, mute and unmute from Slack (user ids or names), and in
	// which channels (ids). Status and help stay open.
	AllowedUsers    []string
	AllowedChannels []string
}

// Discord is the `discord:` section; secrets already expanded.
type Discord struct {
	BotToken      string
	WebhookURL    string
	ApplicationID string
	GuildID       string
	ChannelID     string
	PublicKey     string
	APIURL        string // "" = https://discord.com; never ends in /
	// AckRoles, when not empty, limits who may ping, ack, mute and unmute
	// from Discord to members with one of these role ids.
	AckRoles []string
}

// Target returns the target named name, pointing into c.Targets, and
// whether there is one.
func (c *Config) Target(name string) (*checks.Target, bool) {
	for i := range c.Targets {
		if c.Targets[i].Name == name {
			return &c.Targets[i], true
		}
	}
	return nil, false
}
