package config

import (
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Built-in values of the sections other than targets.
const (
	defaultListen        = "127.0.0.1:8080"
	defaultState         = "tocsin.db"
	defaultMaxConcurrent = 512
	defaultRateLimit     = 5
	defaultRatePer       = time.Minute
	defaultTimeZone      = "UTC"
	defaultHandoff       = "Mon 09:00"
)

// bot decodes `bot:`.
func (d *decoder) bot(n *node) Bot {
	b := Bot{RateLimit: defaultRateLimit, RatePer: defaultRatePer}
	d.fields(n, "bot", []string{"ping_allow", "rate_limit"}, func(e entry, k string) {
		switch e.key {
		case "ping_allow":
			d.list(e.val, k, func(item *node, ik string, _ int) {
				s, ok := d.scalar(item, ik)
				if !ok {
					return
				}
				v := strings.TrimSpace(s.text)
				if !validAllow(v) {
					d.add(item.line, ik, "%s is neither a CIDR, an IP address nor a domain suffix", s.q())
					return
				}
				b.PingAllow = append(b.PingAllow, v)
			})
		case "rate_limit":
			s, ok := d.scalar(e.val, k)
			if !ok {
				return
			}
			count, per, good := parseRate(strings.TrimSpace(s.text))
			if !good {
				d.add(e.line, k, "%s is not a rate like 5/m (a count of at least 1 per s, m or h)", s.q())
				return
			}
			b.RateLimit, b.RatePer = count, per
		}
	})
	return b
}

// validAllow reports whether s is a CIDR, an IP address or a domain suffix
// ("example.com", ".example.com" or "*.example.com").
func validAllow(s string) bool {
	if _, err := netip.ParsePrefix(s); err == nil {
		return true
	}
	if _, err := netip.ParseAddr(s); err == nil {
		return true
	}
	s = strings.TrimPrefix(strings.TrimPrefix(s, "*"), ".")
	return validHost(s)
}

// parseRate parses "N/s", "N/m" or "N/h" with N ≥ 1.
func parseRate(s string) (int, time.Duration, bool) {
	num, unit, ok := strings.Cut(s, "/")
	if !ok {
		return 0, 0, false
	}
	n, err := strconv.Atoi(strings.TrimSpace(num))
	if err != nil || n < 1 {
		return 0, 0, false
	}
	switch strings.TrimSpace(unit) {
	case "s":
		return n, time.Second, true
	case "m":
		return n, time.Minute, true
	case "h":
		return n, time.Hour, true
	}
	return 0, 0, false
}

// oncall decodes `oncall:`.
func (d *decoder) oncall(n *node, key string) *Oncall {
	o := &Oncall{TimeZone: defaultTimeZone, Location: time.UTC, Handoff: defaultHandoff}
	hasRotation := false
	first := map[string]int{}
	ok := d.fields(n, key, []string{"time_zone", "handoff", "rotation", "escalate_to"}, func(e entry, k string) {
		switch e.key {
		case "time_zone":
			s, ok := d.scalar(e.val, k)
			if !ok {
				return
			}
			if s.text == "" {
				d.add(e.line, k, "required")
				return
			}
			loc, err := time.LoadLocation(s.text)
			if err != nil {
				d.add(e.line, k, "unknown time zone %s", s.q())
				return
			}
			o.TimeZone, o.Location = s.text, loc
		case "handoff":
			s, ok := d.scalar(e.val, k)
			if !ok {
				return
			}
			if !validHandoff(s.text) {
				d.add(e.line, k, "%s is not a weekday and time like \"Mon 09:00\"", s.q())
				return
			}
			o.Handoff = strings.Join(strings.Fields(s.text), " ")
		case "rotation":
			hasRotation = true
			d.list(e.val, k, func(item *node, ik string, _ int) {
				var p Person
				hasName := false
				d.fields(item, ik, []string{"name", "slack", "discord"}, func(pe entry, pk string) {
					switch pe.key {
					case "name":
						hasName = true
						if s, ok := d.required(pe.val, pk); ok {
							if line, dup := first[s]; dup {
								d.add(pe.line, pk, "duplicate name %q (first at line %d)", s, line)
							}
							first[s] = pe.line
							p.Name = s
						}
					case "slack":
						setIf(&p.Slack)(d.str(pe.val, pk))
					case "discord":
						setIf(&p.Discord)(d.str(pe.val, pk))
					}
				})
				if !hasName && item.kind == mapNode {
					d.add(item.line, joinKey(ik, "name"), "required")
				}
				o.Rotation = append(o.Rotation, p)
			})
		case "escalate_to":
			d.fields(e.val, k, []string{"slack", "discord_role"}, func(ee entry, ek string) {
				switch ee.key {
				case "slack":
					setIf(&o.EscalateTo.Slack)(d.str(ee.val, ek))
				case "discord_role":
					setIf(&o.EscalateTo.DiscordRole)(d.str(ee.val, ek))
				}
			})
		}
	})
	if ok && (!hasRotation || len(o.Rotation) == 0) {
		d.add(n.line, joinKey(key, "rotation"), "required: at least one person")
	}
	return o
}

// validHandoff reports whether s is a weekday (Mon or Monday, any case) and
// a 24-hour HH:MM.
func validHandoff(s string) bool {
	f := strings.Fields(s)
	if len(f) != 2 {
		return false
	}
	day := strings.ToLower(f[0])
	found := false
	for wd := time.Sunday; wd <= time.Saturday; wd++ {
		name := strings.ToLower(wd.String())
		if day == name || day == name[:3] {
			found = true
		}
	}
	if !found {
		return false
	}
	_, err := time.Parse("15:04", f[1])
	return err == nil && len(f[1]) == 5
}

// maintenance decodes `maintenance:`; names are the targets' names.
func (d *decoder) maintenance(n *node, names map[string]bool) []Maintenance {
	var out []Maintenance
	first := map[string]int{}
	d.list(n, "maintenance", func(item *node, k string, _ int) {
		var m Maintenance
		has := map[string]bool{}
		ok := d.fields(item, k, []string{"name", "schedule", "duration", "targets", "tags"}, func(e entry, ek string) {
			has[e.key] = true
			switch e.key {
			case "name":
				if s, ok := d.required(e.val, ek); ok {
					if line, dup := first[s]; dup {
						d.add(e.line, ek, "duplicate name %q (first at line %d)", s, line)
					}
					first[s] = e.line
					m.Name = s
				}
			case "schedule":
				if spec, _, ok := d.cron(e.val, ek); ok {
					m.Schedule = spec
				}
			case "duration":
				setIf(&m.Duration)(d.duration(e.val, ek, positive))
			case "targets":
				d.list(e.val, ek, func(tn *node, tk string, _ int) {
					if s, ok := d.required(tn, tk); ok {
						if !names[s] {
							d.add(tn.line, tk, "unknown target %q", s)
							return
						}
						m.Targets = append(m.Targets, s)
					}
				})
			case "tags":
				setIf(&m.Tags)(d.strList(e.val, ek))
			}
		})
		if !ok || item.kind != mapNode {
			if item.kind == nullNode {
				d.add(item.line, k, "must be a mapping, not empty")
			}
			return
		}
		for _, req := range []string{"name", "schedule", "duration"} {
			if !has[req] {
				d.add(item.line, joinKey(k, req), "required")
			}
		}
		out = append(out, m)
	})
	return out
}

// slack decodes `slack:`. Token values never appear in a message.
func (d *decoder) slack(n *node, key string) *Slack {
	s := &Slack{}
	has := map[string]bool{}
	ok := d.fields(n, key, []string{"bot_token", "app_token", "signing_secret", "channel", "api_url",
		"allowed_users", "allowed_channels"}, func(e entry, k string) {
		switch e.key {
		case "allowed_users":
			s.AllowedUsers = d.idList(e.val, k)
			return
		case "allowed_channels":
			s.AllowedChannels = d.idList(e.val, k)
			return
		}
		v, ok := d.str(e.val, k)
		if !ok {
			// Reported (an unset variable, say): not also "required".
			has[e.key] = true
			return
		}
		v = strings.TrimSpace(v)
		if v != "" {
			has[e.key] = true
		}
		switch e.key {
		case "bot_token":
			if v != "" && !strings.HasPrefix(v, "xoxb-") {
				d.add(e.line, k, "is not a bot token (xoxb-…)")
			}
			s.BotToken = v
		case "app_token":
			if v != "" && !strings.HasPrefix(v, "xapp-") {
				d.add(e.line, k, "is not an app-level token (xapp-…)")
			}
			s.AppToken = v
		case "signing_secret":
			s.SigningSecret = v
		case "channel":
			s.Channel = v
		case "api_url":
			if v == "" {
				return
			}
			if err := checkURL(v); err != nil {
				d.add(e.line, k, "URL %v", err)
				return
			}
			if !strings.HasSuffix(v, "/") {
				v += "/"
			}
			s.APIURL = v
		}
	})
	if !ok {
		return s
	}
	line := n.line
	if !has["bot_token"] {
		d.add(line, joinKey(key, "bot_token"), "required")
	}
	if !has["app_token"] && !has["signing_secret"] {
		d.add(line, joinKey(key, "signing_secret"), "required without app_token (HTTP mode)")
	}
	if !has["channel"] {
		d.add(line, joinKey(key, "channel"), "required")
	}
	return s
}

// idList decodes a list of chat ids or names: non-empty words.
func (d *decoder) idList(n *node, key string) []string {
	var out []string
	d.list(n, key, func(item *node, ik string, _ int) {
		v, ok := d.str(item, ik)
		if !ok {
			return
		}
		v = strings.TrimSpace(v)
		if v == "" || strings.ContainsAny(v, " \t\n") {
			d.add(item.line, ik, "must be one id or name, without spaces")
			return
		}
		out = append(out, v)
	})
	return out
}

// discord decodes `discord:`. Token and webhook URL values never appear
// in a message.
func (d *decoder) discord(n *node, key string) *Discord {
	c := &Discord{}
	has := map[string]bool{}
	lines := map[string]int{}
	keys := []string{"bot_token", "webhook_url", "application_id", "guild_id", "channel_id", "public_key", "api_url",
		"ack_roles"}
	ok := d.fields(n, key, keys, func(e entry, k string) {
		lines[e.key] = e.line
		if e.key == "ack_roles" {
			c.AckRoles = d.idList(e.val, k)
			return
		}
		v, ok := d.str(e.val, k)
		if !ok {
			has[e.key] = true
			return
		}
		v = strings.TrimSpace(v)
		if v != "" {
			has[e.key] = true
		}
		switch e.key {
		case "bot_token":
			c.BotToken = v
		case "webhook_url":
			if v != "" {
				if err := checkURL(v); err != nil {
					d.add(e.line, k, "URL %v", err)
					return
				}
			}
			c.WebhookURL = v
		case "application_id":
			c.ApplicationID = v
		case "guild_id":
			c.GuildID = v
		case "channel_id":
			c.ChannelID = v
		case "public_key":
			if v != "" && !isHex(v, 64) {
				d.add(e.line, k, "is not a public key (64 hex digits)")
				return
			}
			c.PublicKey = strings.ToLower(v)
		case "api_url":
			if v == "" {
				return
			}
			if err := checkURL(v); err != nil {
				d.add(e.line, k, "URL %v", err)
				return
			}
			// Callers append /api/v9/…: no trailing slash.
			c.APIURL = strings.TrimRight(v, "/")
		}
	})
	if !ok {
		return c
	}
	switch {
	case !has["bot_token"] && !has["webhook_url"]:
		d.add(n.line, key, "needs bot_token or webhook_url")
	case has["bot_token"] && has["webhook_url"]:
		d.add(lines["webhook_url"], joinKey(key, "webhook_url"), "set bot_token or webhook_url, not both")
	case has["bot_token"]:
		for _, req := range []string{"application_id", "channel_id"} {
			if !has[req] {
				d.add(n.line, joinKey(key, req), "required with bot_token")
			}
		}
	}
	return c
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// listen and resolver checks, shared by Parse.
func (d *decoder) address(n *node, k string, minPort int, emptyHost bool) (string, bool) {
	s, ok := d.scalar(n, k)
	if !ok {
		return "", false
	}
	v := strings.TrimSpace(s.text)
	if err := hostPort(v, minPort, emptyHost); err != nil {
		d.add(n.line, k, "%s %v", s.q(), err)
		return "", false
	}
	return v, true
}
