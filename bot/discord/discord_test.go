package discord

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"

	"github.com/tocsin/tocsin/bot"
)

// recorder is a fake Handler: it records every Command and answers with
// respond (an empty Response when nil); Complete answers with names whose
// lower case starts with the prefix's, recording the prefixes.
type recorder struct {
	respond  func(bot.Command) bot.Response
	names    []string
	mu       sync.Mutex
	cmds     []bot.Command
	prefixes []string
	got      chan bot.Command
}

func newRecorder(respond func(bot.Command) bot.Response) *recorder {
	return &recorder{respond: respond, got: make(chan bot.Command, 64)}
}

func (r *recorder) Handle(_ context.Context, cmd bot.Command) bot.Response {
	r.mu.Lock()
	r.cmds = append(r.cmds, cmd)
	r.mu.Unlock()
	r.got <- cmd
	if r.respond == nil {
		return bot.Response{}
	}
	return r.respond(cmd)
}

func (r *recorder) Complete(prefix string) []string {
	r.mu.Lock()
	r.prefixes = append(r.prefixes, prefix)
	r.mu.Unlock()
	var out []string
	for _, n := range r.names {
		if strings.HasPrefix(strings.ToLower(n), strings.ToLower(prefix)) {
			out = append(out, n)
		}
	}
	return out
}

func (r *recorder) commands() []bot.Command {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]bot.Command(nil), r.cmds...)
}

// wait returns the next Command, failing the test after 5 s.
func (r *recorder) wait(t *testing.T) bot.Command {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	select {
	case cmd := <-r.got:
		return cmd
	case <-ctx.Done():
		t.Fatal("the handler was not called")
		return bot.Command{}
	}
}

// reply answers every command with Now text, shown to the channel.
func reply(text string) func(bot.Command) bot.Response {
	return func(bot.Command) bot.Response { return bot.Response{Now: bot.Reply{Text: text}} }
}

// The people and places of the test interactions.
const (
	testApp     = "1000"
	testGuild   = "2000"
	testChannel = "3000"
	roleOnCall  = "4001"
	roleOther   = "4002"
)

// who is the invoker of a test interaction.
type who struct {
	member   bool // in a guild (member) or a DM (user)
	id       string
	username string
	global   string
	nick     string
	roles    []string
}

var (
	alice = who{member: true, id: "5001", username: "alice", global: "Alice A.", nick: "al", roles: []string{roleOnCall}}
	bob   = who{member: true, id: "5002", username: "bob", global: "Bob B.", roles: []string{roleOther}}
	carol = who{member: true, id: "5003", username: "carol"}
	dave  = who{id: "5004", username: "dave", global: "Dave D."}
)

// opt is a slash command option of a test interaction.
type opt struct {
	name, value string
	focused     bool
}

// interactionJSON is an interaction as Discord sends it: kind 2 (a
// command), 3 (a component) or 4 (autocomplete) with data, from w.
func interactionJSON(kind int, data map[string]any, w who) []byte {
	js, err := json.Marshal(interactionMap(kind, "9001", "itoken-secret", testApp, data, w))
	if err != nil {
		panic(err)
	}
	return js
}

// interactionMap is an interaction with the given id, token and
// application id.
func interactionMap(kind int, id, token, app string, data map[string]any, w who) map[string]any {
	u := map[string]any{"id": w.id, "username": w.username, "discriminator": "0", "global_name": nil}
	if w.global != "" {
		u["global_name"] = w.global
	}
	m := map[string]any{
		"id": id, "application_id": app, "type": kind, "data": data,
		"channel_id": testChannel, "token": token, "version": 1, "locale": "en-US",
		"app_permissions": "0",
	}
	if w.member {
		roles := w.roles
		if roles == nil {
			roles = []string{}
		}
		m["guild_id"] = testGuild
		m["member"] = map[string]any{"user": u, "nick": w.nick, "roles": roles, "joined_at": "2026-01-01T00:00:00Z"}
	} else {
		m["user"] = u
	}
	return m
}

// commandData is the data of a slash command with opts (all strings).
func commandData(name string, opts ...opt) map[string]any {
	var os []map[string]any
	for _, o := range opts {
		om := map[string]any{"name": o.name, "type": 3, "value": o.value}
		if o.focused {
			om["focused"] = true
		}
		os = append(os, om)
	}
	d := map[string]any{"id": "7000", "name": name, "type": 1}
	if os != nil {
		d["options"] = os
	}
	return d
}

// buttonData is the data of a click on a button with customID.
func buttonData(customID string) map[string]any {
	return map[string]any{"custom_id": customID, "component_type": 2}
}

// parse decodes an interaction as discordgo does in both modes.
func parse(t *testing.T, js []byte) *discordgo.Interaction {
	t.Helper()
	var i discordgo.Interaction
	if err := json.Unmarshal(js, &i); err != nil {
		t.Fatal(err)
	}
	return &i
}

func testAdapter(t *testing.T, h Handler, roles ...string) *adapter {
	t.Helper()
	a, err := newAdapter(Options{Handler: h, ApplicationID: testApp, AckRoles: roles})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestCommandsFollowDiscordRules(t *testing.T) {
	nameRE := regexp.MustCompile(`^[-_\p{L}\p{N}]{1,32}$`)
	checkName := func(t *testing.T, what, name string) {
		t.Helper()
		if !nameRE.MatchString(name) || strings.ToLower(name) != name {
			t.Errorf("%s name %q: want 1-32 lower-case letters, digits, - or _", what, name)
		}
	}
	checkDesc := func(t *testing.T, what, desc string) {
		t.Helper()
		if n := utf8.RuneCountInString(desc); n < 1 || n > 100 {
			t.Errorf("%s description %q: %d characters, want 1-100", what, desc, n)
		}
	}
	cmds := Commands()
	var names []string
	for _, c := range cmds {
		names = append(names, c.Name)
		t.Run(c.Name, func(t *testing.T) {
			if c.Type != discordgo.ChatApplicationCommand {
				t.Errorf("type %d, want a chat input command", c.Type)
			}
			checkName(t, "command", c.Name)
			checkDesc(t, "command", c.Description)
			if len(c.Options) > 25 {
				t.Errorf("%d options, at most 25", len(c.Options))
			}
			// Discord bounds a command's names and descriptions together.
			total := len(c.Name) + len(c.Description)
			seen := map[string]bool{}
			optional := false
			for _, o := range c.Options {
				checkName(t, "option", o.Name)
				checkDesc(t, "option "+o.Name, o.Description)
				total += len(o.Name) + len(o.Description)
				if seen[o.Name] {
					t.Errorf("option %q twice", o.Name)
				}
				seen[o.Name] = true
				if o.Required && optional {
					t.Errorf("required option %q after an optional one", o.Name)
				}
				optional = optional || !o.Required
				if o.Type != discordgo.ApplicationCommandOptionString {
					t.Errorf("option %q: type %v, tocsin parses strings only", o.Name, o.Type)
				}
				if o.Autocomplete && len(o.Choices) > 0 {
					t.Errorf("option %q: autocomplete with choices", o.Name)
				}
				if o.MaxLength < 0 || o.MaxLength > 6000 {
					t.Errorf("option %q: max_length %d", o.Name, o.MaxLength)
				}
			}
			if total > 4000 {
				t.Errorf("%d characters of names and descriptions, at most 4000", total)
			}
		})
	}
	want := []string{"ping", "status", "ack", "unack", "mute", "unmute", "oncall", "help"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("commands %v, want %v", names, want)
	}

	// The options, as DESIGN's chat commands name them.
	type optSpec struct {
		name         string
		required     bool
		autocomplete bool
	}
	wantOpts := map[string][]optSpec{
		"ping":   {{"host", true, false}},
		"status": {{"target", false, true}},
		"ack":    {{"target", true, true}, {"reason", false, false}},
		"mute":   {{"target", true, true}, {"duration", true, false}},
		"unack":  {{"target", true, true}},
		"unmute": {{"target", true, true}},
		"oncall": nil,
		"help":   nil,
	}
	for _, c := range cmds {
		var got []optSpec
		for _, o := range c.Options {
			got = append(got, optSpec{o.Name, o.Required, o.Autocomplete})
		}
		if !reflect.DeepEqual(got, wantOpts[c.Name]) {
			t.Errorf("/%s options %+v, want %+v", c.Name, got, wantOpts[c.Name])
		}
	}
	// Fresh values each call: a caller may change them.
	cmds[0].Name = "changed"
	if Commands()[0].Name != "ping" {
		t.Error("Commands shares its values between calls")
	}
}

func TestParseCommand(t *testing.T) {
	tests := []struct {
		name  string
		js    []byte
		roles []string
		want  bot.Command
	}{
		{name: "ping", js: interactionJSON(2, commandData("ping", opt{name: "host", value: "web-1"}), alice),
			want: bot.Command{Name: "ping", Args: []string{"web-1"}, User: bot.User{ID: "5001", Name: "al"}, Allowed: true}},
		{name: "ping keeps the host whole", js: interactionJSON(2, commandData("ping", opt{name: "host", value: " 127.0.0.1; rm -rf / "}), alice),
			want: bot.Command{Name: "ping", Args: []string{"127.0.0.1; rm -rf /"}, User: bot.User{ID: "5001", Name: "al"}, Allowed: true}},
		{name: "status", js: interactionJSON(2, commandData("status"), bob),
			want: bot.Command{Name: "status", User: bot.User{ID: "5002", Name: "Bob B."}, Allowed: true}},
		{name: "status of a target", js: interactionJSON(2, commandData("status", opt{name: "target", value: "shop"}), bob),
			want: bot.Command{Name: "status", Args: []string{"shop"}, User: bot.User{ID: "5002", Name: "Bob B."}, Allowed: true}},
		{name: "ack", js: interactionJSON(2, commandData("ack", opt{name: "target", value: "db"}), carol),
			want: bot.Command{Name: "ack", Args: []string{"db"}, User: bot.User{ID: "5003", Name: "carol"}, Allowed: true}},
		{name: "ack with a reason", js: interactionJSON(2, commandData("ack",
			opt{name: "target", value: "db"}, opt{name: "reason", value: "disk  full, on it"}), carol),
			want: bot.Command{Name: "ack", Args: []string{"db", "disk", "full,", "on", "it"}, User: bot.User{ID: "5003", Name: "carol"}, Allowed: true}},
		{name: "ack, options in another order", js: interactionJSON(2, commandData("ack",
			opt{name: "reason", value: "restarting"}, opt{name: "target", value: "db"}), carol),
			want: bot.Command{Name: "ack", Args: []string{"db", "restarting"}, User: bot.User{ID: "5003", Name: "carol"}, Allowed: true}},
		{name: "mute", js: interactionJSON(2, commandData("mute",
			opt{name: "target", value: "shop"}, opt{name: "duration", value: "1d"}), alice),
			want: bot.Command{Name: "mute", Args: []string{"shop", "1d"}, User: bot.User{ID: "5001", Name: "al"}, Allowed: true}},
		{name: "unmute", js: interactionJSON(2, commandData("unmute", opt{name: "target", value: "shop"}), alice),
			want: bot.Command{Name: "unmute", Args: []string{"shop"}, User: bot.User{ID: "5001", Name: "al"}, Allowed: true}},
		{name: "help", js: interactionJSON(2, commandData("help"), alice),
			want: bot.Command{Name: "help", User: bot.User{ID: "5001", Name: "al"}, Allowed: true}},
		{name: "unack", js: interactionJSON(2, commandData("unack", opt{name: "target", value: " shop "}), carol),
			want: bot.Command{Name: "unack", Args: []string{"shop"}, User: bot.User{ID: "5003", Name: "carol"}, Allowed: true}},
		{name: "oncall", js: interactionJSON(2, commandData("oncall"), bob),
			want: bot.Command{Name: "oncall", User: bot.User{ID: "5002", Name: "Bob B."}, Allowed: true}},
		{name: "unknown command passes for the Handler to answer", js: interactionJSON(2, commandData("frobnicate"), alice),
			want: bot.Command{Name: "frobnicate", User: bot.User{ID: "5001", Name: "al"}, Allowed: true}},
		{name: "in a DM: the user", js: interactionJSON(2, commandData("status"), dave),
			want: bot.Command{Name: "status", User: bot.User{ID: "5004", Name: "Dave D."}, Allowed: true}},

		{name: "ack role held", roles: []string{roleOnCall}, js: interactionJSON(2, commandData("ack", opt{name: "target", value: "db"}), alice),
			want: bot.Command{Name: "ack", Args: []string{"db"}, User: bot.User{ID: "5001", Name: "al"}, Allowed: true}},
		{name: "ack role one of several", roles: []string{"4999", roleOther}, js: interactionJSON(2, commandData("mute",
			opt{name: "target", value: "db"}, opt{name: "duration", value: "2h"}), bob),
			want: bot.Command{Name: "mute", Args: []string{"db", "2h"}, User: bot.User{ID: "5002", Name: "Bob B."}, Allowed: true}},
		{name: "ack role not held", roles: []string{roleOnCall}, js: interactionJSON(2, commandData("ack", opt{name: "target", value: "db"}), bob),
			want: bot.Command{Name: "ack", Args: []string{"db"}, User: bot.User{ID: "5002", Name: "Bob B."}, Allowed: false}},
		{name: "no roles at all", roles: []string{roleOnCall}, js: interactionJSON(2, commandData("ping", opt{name: "host", value: "db"}), carol),
			want: bot.Command{Name: "ping", Args: []string{"db"}, User: bot.User{ID: "5003", Name: "carol"}, Allowed: false}},
		{name: "no roles in a DM", roles: []string{roleOnCall}, js: interactionJSON(2, commandData("unmute", opt{name: "target", value: "db"}), dave),
			want: bot.Command{Name: "unmute", Args: []string{"db"}, User: bot.User{ID: "5004", Name: "Dave D."}, Allowed: false}},
		{name: "unack, role not held", roles: []string{roleOnCall}, js: interactionJSON(2, commandData("unack", opt{name: "target", value: "db"}), bob),
			want: bot.Command{Name: "unack", Args: []string{"db"}, User: bot.User{ID: "5002", Name: "Bob B."}, Allowed: false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := testAdapter(t, newRecorder(nil), tt.roles...)
			got, ok := a.command(parse(t, tt.js))
			if !ok {
				t.Fatal("not parsed")
			}
			want := tt.want
			want.Platform, want.Channel = "discord", testChannel
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestParseButton(t *testing.T) {
	tests := []struct {
		name     string
		customID string
		roles    []string
		who      who
		ok       bool
		wantErr  bool
		want     bot.Command
	}{
		{name: "ack", customID: "tocsin_ack:42", who: alice, ok: true,
			want: bot.Command{Name: "ack", Incident: 42, User: bot.User{ID: "5001", Name: "al"}, Allowed: true}},
		{name: "big id", customID: "tocsin_ack:9007199254740993", who: carol, ok: true,
			want: bot.Command{Name: "ack", Incident: 9007199254740993, User: bot.User{ID: "5003", Name: "carol"}, Allowed: true}},
		{name: "role held", customID: "tocsin_ack:7", roles: []string{roleOnCall}, who: alice, ok: true,
			want: bot.Command{Name: "ack", Incident: 7, User: bot.User{ID: "5001", Name: "al"}, Allowed: true}},
		{name: "role not held", customID: "tocsin_ack:7", roles: []string{roleOnCall}, who: bob, ok: true,
			want: bot.Command{Name: "ack", Incident: 7, User: bot.User{ID: "5002", Name: "Bob B."}, Allowed: false}},
		{name: "not a number", customID: "tocsin_ack:abc", who: alice, wantErr: true},
		{name: "empty id", customID: "tocsin_ack:", who: alice, wantErr: true},
		{name: "negative", customID: "tocsin_ack:-3", who: alice, wantErr: true},
		{name: "zero", customID: "tocsin_ack:0", who: alice, wantErr: true},
		{name: "too big", customID: "tocsin_ack:99999999999999999999", who: alice, wantErr: true},
		{name: "trailing junk", customID: "tocsin_ack:12x", who: alice, wantErr: true},
		{name: "another button", customID: "other:42", who: alice},
		{name: "prefix without colon", customID: "tocsin_ack42", who: alice},
		{name: "ack all", customID: "tocsin_ackall:42", who: alice, ok: true,
			want: bot.Command{Name: "ack", Incident: 42, All: true, User: bot.User{ID: "5001", Name: "al"}, Allowed: true}},
		{name: "ack all, big id", customID: "tocsin_ackall:9223372036854775807", who: carol, ok: true,
			want: bot.Command{Name: "ack", Incident: 9223372036854775807, All: true, User: bot.User{ID: "5003", Name: "carol"}, Allowed: true}},
		{name: "ack all, role held", customID: "tocsin_ackall:7", roles: []string{roleOnCall}, who: alice, ok: true,
			want: bot.Command{Name: "ack", Incident: 7, All: true, User: bot.User{ID: "5001", Name: "al"}, Allowed: true}},
		{name: "ack all, role not held", customID: "tocsin_ackall:7", roles: []string{roleOnCall}, who: bob, ok: true,
			want: bot.Command{Name: "ack", Incident: 7, All: true, User: bot.User{ID: "5002", Name: "Bob B."}, Allowed: false}},
		{name: "ack all, not a number", customID: "tocsin_ackall:router", who: alice, wantErr: true},
		{name: "ack all, empty id", customID: "tocsin_ackall:", who: alice, wantErr: true},
		{name: "ack all, negative", customID: "tocsin_ackall:-42", who: alice, wantErr: true},
		{name: "ack all, zero", customID: "tocsin_ackall:0", who: alice, wantErr: true},
		{name: "ack all, too big", customID: "tocsin_ackall:9223372036854775808", who: alice, wantErr: true},
		{name: "ack all, trailing junk", customID: "tocsin_ackall:42x", who: alice, wantErr: true},
		{name: "ack all prefix without colon", customID: "tocsin_ackall42", who: alice},
		{name: "ack all, other case", customID: "TOCSIN_ACKALL:42", who: alice},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := testAdapter(t, newRecorder(nil), tt.roles...)
			got, ok, err := a.button(parse(t, interactionJSON(3, buttonData(tt.customID), tt.who)))
			if ok != tt.ok || (err != nil) != tt.wantErr {
				t.Fatalf("ok %v err %v, want ok %v, an error %v", ok, err, tt.ok, tt.wantErr)
			}
			if !ok {
				return
			}
			want := tt.want
			want.Platform, want.Channel = "discord", testChannel
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestAutocomplete(t *testing.T) {
	many := make([]string, 30)
	for i := range many {
		many[i] = fmt.Sprintf("web-%02d", i)
	}
	tests := []struct {
		name       string
		names      []string
		opts       []opt
		command    string
		wantPrefix []string // what Complete was asked
		want       []string
	}{
		{name: "prefix", names: []string{"shop", "db", "shop-eu"}, command: "ack",
			opts: []opt{{name: "target", value: "sh", focused: true}}, wantPrefix: []string{"sh"}, want: []string{"shop", "shop-eu"}},
		{name: "empty", names: []string{"shop", "db"}, command: "status",
			opts: []opt{{name: "target", value: "", focused: true}}, wantPrefix: []string{""}, want: []string{"shop", "db"}},
		{name: "target focused after a reason", names: []string{"shop", "db"}, command: "ack",
			opts:       []opt{{name: "reason", value: "x"}, {name: "target", value: "d", focused: true}},
			wantPrefix: []string{"d"}, want: []string{"db"}},
		{name: "at most 25", names: many, command: "mute",
			opts: []opt{{name: "target", value: "web", focused: true}}, wantPrefix: []string{"web"}, want: many[:25]},
		{name: "unack", names: []string{"shop", "db"}, command: "unack",
			opts: []opt{{name: "target", value: "s", focused: true}}, wantPrefix: []string{"s"}, want: []string{"shop"}},
		{name: "none match", names: []string{"shop"}, command: "unmute",
			opts: []opt{{name: "target", value: "zz", focused: true}}, wantPrefix: []string{"zz"}, want: nil},
		{name: "another option focused", names: []string{"shop"}, command: "mute",
			opts: []opt{{name: "target", value: "shop"}, {name: "duration", value: "2", focused: true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := newRecorder(nil)
			rec.names = tt.names
			a := testAdapter(t, rec)
			resp, after := a.answer(t.Context(), parse(t, interactionJSON(4, commandData(tt.command, tt.opts...), alice)))
			if resp == nil || after != nil {
				t.Fatalf("answer %+v, after %v", resp, after != nil)
			}
			if resp.Type != discordgo.InteractionApplicationCommandAutocompleteResult || resp.Data == nil {
				t.Fatalf("response %+v, want type 8 with data", resp)
			}
			var got []string
			for _, c := range resp.Data.Choices {
				if c.Name != c.Value {
					t.Errorf("choice name %q, value %v: want both the target", c.Name, c.Value)
				}
				got = append(got, c.Name)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("choices %v, want %v", got, tt.want)
			}
			if !reflect.DeepEqual(rec.prefixes, tt.wantPrefix) {
				t.Errorf("Complete asked for %q, want %q", rec.prefixes, tt.wantPrefix)
			}
			if len(rec.commands()) != 0 {
				t.Errorf("Handle called for an autocomplete: %+v", rec.commands())
			}
		})
	}
}

// panicky is a Handler that panics.
type panicky struct{}

func (panicky) Handle(context.Context, bot.Command) bot.Response { panic("boom") }
func (panicky) Complete(string) []string                         { panic("boom") }

func TestHandlerPanics(t *testing.T) {
	a := testAdapter(t, panicky{})
	resp, after := a.answer(t.Context(), parse(t, interactionJSON(2, commandData("status"), alice)))
	if after != nil || resp.Type != discordgo.InteractionResponseChannelMessageWithSource ||
		resp.Data.Flags != discordgo.MessageFlagsEphemeral || !strings.Contains(resp.Data.Content, "could not answer") {
		t.Errorf("a panicking Handler answered %+v", resp.Data)
	}
	resp, _ = a.answer(t.Context(), parse(t, interactionJSON(4, commandData("ack", opt{name: "target", value: "x", focused: true}), alice)))
	if resp.Type != discordgo.InteractionApplicationCommandAutocompleteResult || len(resp.Data.Choices) != 0 {
		t.Errorf("a panicking Complete answered %+v", resp.Data)
	}
}

func TestRender(t *testing.T) {
	tests := []struct {
		name  string
		reply bot.Reply
		limit int
		want  string
	}{
		{name: "empty", reply: bot.Reply{}, limit: maxContent, want: ""},
		{name: "text", reply: bot.Reply{Text: "shop is up"}, limit: maxContent, want: "shop is up"},
		{name: "markdown escaped", reply: bot.Reply{Text: "db_primary *bold* ~x~ `c` ||s|| [l](u) a\\b"}, limit: maxContent,
			want: `db\_primary \*bold\* \~x\~ ` + "\\`c\\`" + ` \|\|s\|\| \[l](u) a\\b`},
		{name: "line starts escaped", reply: bot.Reply{Text: "# big\n> quote\n - item\na - b # c > d"}, limit: maxContent,
			want: "\\# big\n\\> quote\n \\- item\na - b # c > d"},
		{name: "block", reply: bot.Reply{Text: "2 targets", Block: "shop  up\nweb   down\n"}, limit: maxContent,
			want: "2 targets\n" + fence + "\nshop  up\nweb   down\n" + fence},
		{name: "block is literal", reply: bot.Reply{Block: "a_b *c*"}, limit: maxContent,
			want: fence + "\na_b *c*\n" + fence},
		{name: "fence in a block broken", reply: bot.Reply{Block: "x ``` y"}, limit: maxContent,
			want: fence + "\nx `\u200b`\u200b` y\n" + fence},
		{name: "blank block dropped", reply: bot.Reply{Text: "x", Block: "\n \n"}, limit: maxContent, want: "x"},
		{name: "block trimmed", reply: bot.Reply{Text: "ab", Block: "0123456789"}, limit: 16,
			// 2 + 1 + 4 + 4 = 11: 5 characters for the block.
			want: "ab\n" + fence + "\n0123…\n" + fence},
		{name: "text trimmed", reply: bot.Reply{Text: "abcdefghij"}, limit: 5, want: "abcd…"},
		{name: "no cut inside an escape", reply: bot.Reply{Text: "abc_def"}, limit: 5, want: "abc…"},
		{name: "no room for a block", reply: bot.Reply{Text: "abcdef", Block: "0123456789"}, limit: 12, want: "abcdef"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := renderLimit(tt.reply, tt.limit)
			if got != tt.want {
				t.Fatalf("render\n got %q\nwant %q", got, tt.want)
			}
			if n := utf8.RuneCountInString(got); n > tt.limit {
				t.Fatalf("%d characters, limit %d", n, tt.limit)
			}
		})
	}
	long := bot.Reply{Text: strings.Repeat("é_", 1500), Block: strings.Repeat("line\n", 1000)}
	if n := utf8.RuneCountInString(render(long)); n > maxContent {
		t.Errorf("a long reply renders as %d characters, more than %d", n, maxContent)
	}
}

func TestMessageData(t *testing.T) {
	tests := []struct {
		name  string
		reply bot.Reply
		want  string
	}{
		{name: "to the channel", reply: bot.Reply{Text: "@everyone shop is up"},
			want: `{"tts":false,"content":"@everyone shop is up","components":null,"embeds":null,"allowed_mentions":{"parse":[],"replied_user":false}}`},
		{name: "ephemeral", reply: bot.Reply{Text: "no", Ephemeral: true},
			want: `{"tts":false,"content":"no","components":null,"embeds":null,"allowed_mentions":{"parse":[],"replied_user":false},"flags":64}`},
		{name: "empty", reply: bot.Reply{},
			want: `{"tts":false,"content":"(tocsin has nothing to say to that)","components":null,"embeds":null,"allowed_mentions":{"parse":[],"replied_user":false},"flags":64}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			js, err := json.Marshal(messageData(tt.reply))
			if err != nil {
				t.Fatal(err)
			}
			if string(js) != tt.want {
				t.Errorf("got  %s\nwant %s", js, tt.want)
			}
		})
	}
}

func TestRedact(t *testing.T) {
	const token = "itoken-secret"
	errs := []error{
		&url.Error{Op: "Patch", URL: "https://discord.com/api/v9/webhooks/1/" + token + "/messages/@original", Err: errors.New("connection refused")},
		&discordgo.RateLimitError{RateLimit: &discordgo.RateLimit{
			TooManyRequests: &discordgo.TooManyRequests{RetryAfter: time.Second},
			URL:             "https://discord.com/api/v9/interactions/1/" + token + "/callback",
		}},
	}
	for _, err := range errs {
		if got := redact(err).Error(); strings.Contains(got, token) || got == "" {
			t.Errorf("redact(%v) = %q", err, got)
		}
	}
	if redact(nil) != nil {
		t.Error("redact(nil) is not nil")
	}
}
