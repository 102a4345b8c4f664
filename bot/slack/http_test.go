package slack

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/slack-go/slack"

	"github.com/tocsin/tocsin/bot"
)

// recorder is a fake Handler: it records every Command and answers with
// respond (an empty Response when nil).
type recorder struct {
	respond func(bot.Command) bot.Response
	mu      sync.Mutex
	cmds    []bot.Command
	got     chan bot.Command
}

func newRecorder(respond func(bot.Command) bot.Response) *recorder {
	return &recorder{respond: respond, got: make(chan bot.Command, 64)}
}

// handler is the recorder as a HandlerFunc.
func (r *recorder) handler() Handler {
	return HandlerFunc(func(_ context.Context, cmd bot.Command) bot.Response {
		r.mu.Lock()
		r.cmds = append(r.cmds, cmd)
		r.mu.Unlock()
		r.got <- cmd
		if r.respond == nil {
			return bot.Response{}
		}
		return r.respond(cmd)
	})
}

func (r *recorder) commands() []bot.Command {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]bot.Command(nil), r.cmds...)
}

// wait returns the next Command, failing the test after 5 s.
func (r *recorder) wait(t *testing.T) bot.Command {
	t.Helper()
	select {
	case cmd := <-r.got:
		return cmd
	case <-time.After(5 * time.Second):
		t.Fatal("the handler was not called")
		return bot.Command{}
	}
}

// responseSink is a response_url on 127.0.0.1 that records what is posted.
type responseSink struct {
	srv   *httptest.Server
	posts chan map[string]any
}

func newSink(t *testing.T) *responseSink {
	t.Helper()
	s := &responseSink{posts: make(chan map[string]any, 16)}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "want a JSON POST", http.StatusBadRequest)
			return
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.posts <- body
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *responseSink) url() string { return s.srv.URL + "/commands/T1/1/abc" }

// wait returns the next post, failing the test after 5 s.
func (s *responseSink) wait(t *testing.T) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	select {
	case p := <-s.posts:
		return p
	case <-ctx.Done():
		t.Fatal("nothing was posted to the response_url")
		return nil
	}
}

// none fails the test if anything was posted.
func (s *responseSink) none(t *testing.T) {
	t.Helper()
	select {
	case p := <-s.posts:
		t.Fatalf("unexpected post to the response_url: %v", p)
	default:
	}
}

const testSecret = "test-signing-secret"

// sign returns Slack's v0 signature of body at timestamp ts.
func sign(secret, ts, body string) string {
	m := hmac.New(sha256.New, []byte(secret))
	_, _ = io.WriteString(m, "v0:"+ts+":"+body)
	return "v0=" + hex.EncodeToString(m.Sum(nil))
}

// signedRequest is a POST of form to path, signed now with testSecret.
func signedRequest(path string, form url.Values) *http.Request {
	body := form.Encode()
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("X-Slack-Request-Timestamp", ts)
	r.Header.Set("X-Slack-Signature", sign(testSecret, ts, body))
	return r
}

func slashForm(command, text, user, userName, channel, responseURL string) url.Values {
	return url.Values{
		"token": {"unused"}, "team_id": {"T1"}, "team_domain": {"example"},
		"channel_id": {channel}, "channel_name": {"alerts"},
		"user_id": {user}, "user_name": {userName},
		"command": {command}, "text": {text},
		"response_url": {responseURL}, "trigger_id": {"1.2.3"},
	}
}

// Slack's documented example of a signed request
// (docs.slack.dev/authentication/verifying-requests-from-slack).
const (
	exampleSecret    = "8f742231b10e8888abcd99yyyzzz85a5"
	exampleTimestamp = "1531420618"
	exampleSig       = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
	exampleBody      = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)

func TestVerifySlackExample(t *testing.T) {
	signedAt := time.Unix(1531420618, 0)
	tests := []struct {
		name       string
		now        time.Time // the bubble's clock when the request arrives
		secret     string
		header     map[string]string // replaces the example's headers; "" deletes
		body       string
		wantStatus int
	}{
		{name: "accepted", now: signedAt.Add(2 * time.Second), wantStatus: http.StatusOK},
		{name: "accepted 4m59s later", now: signedAt.Add(299 * time.Second), wantStatus: http.StatusOK},
		{name: "accepted 4m59s early", now: signedAt.Add(-299 * time.Second), wantStatus: http.StatusOK},
		{name: "forged signature", now: signedAt.Add(2 * time.Second),
			header:     map[string]string{"X-Slack-Signature": "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b504"},
			wantStatus: http.StatusUnauthorized},
		{name: "signature not hex", now: signedAt.Add(2 * time.Second),
			header: map[string]string{"X-Slack-Signature": "v0=zz"}, wantStatus: http.StatusUnauthorized},
		{name: "other secret", now: signedAt.Add(2 * time.Second), secret: "another-secret",
			wantStatus: http.StatusUnauthorized},
		{name: "body changed", now: signedAt.Add(2 * time.Second),
			body:       strings.Replace(exampleBody, "user_id=U2CERLKJA", "user_id=U0MALLORY", 1),
			wantStatus: http.StatusUnauthorized},
		{name: "no signature", now: signedAt.Add(2 * time.Second),
			header: map[string]string{"X-Slack-Signature": ""}, wantStatus: http.StatusUnauthorized},
		{name: "no timestamp", now: signedAt.Add(2 * time.Second),
			header: map[string]string{"X-Slack-Request-Timestamp": ""}, wantStatus: http.StatusUnauthorized},
		{name: "no headers", now: signedAt.Add(2 * time.Second),
			header:     map[string]string{"X-Slack-Signature": "", "X-Slack-Request-Timestamp": ""},
			wantStatus: http.StatusUnauthorized},
		{name: "stale", now: signedAt.Add(5*time.Minute + 2*time.Second), wantStatus: http.StatusUnauthorized},
		{name: "an hour old", now: signedAt.Add(time.Hour), wantStatus: http.StatusUnauthorized},
		{name: "future", now: signedAt.Add(-5*time.Minute - 2*time.Second), wantStatus: http.StatusUnauthorized},
		{name: "no secret configured", now: signedAt.Add(2 * time.Second), secret: "-",
			wantStatus: http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				// The bubble's clock starts in 2000; move it to when
				// the example was signed.
				time.Sleep(time.Until(tt.now))

				// The example's response_url is Slack's: the command
				// it carries ("/webhook-collect", no text) is help,
				// answered at once with no Later, so nothing is posted.
				rec := newRecorder(func(cmd bot.Command) bot.Response {
					return bot.Response{Now: bot.Reply{Text: "tocsin commands: …", Ephemeral: true}}
				})
				secret := exampleSecret
				switch tt.secret {
				case "":
				case "-":
					secret = ""
				default:
					secret = tt.secret
				}
				commands, _ := NewHTTP(Options{Handler: rec.handler(), SigningSecret: secret})

				body := exampleBody
				if tt.body != "" {
					body = tt.body
				}
				r := httptest.NewRequest(http.MethodPost, "/slack/commands", strings.NewReader(body))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				r.Header.Set("X-Slack-Request-Timestamp", exampleTimestamp)
				r.Header.Set("X-Slack-Signature", exampleSig)
				for k, v := range tt.header {
					if v == "" {
						r.Header.Del(k)
					} else {
						r.Header.Set(k, v)
					}
				}
				w := httptest.NewRecorder()
				commands.ServeHTTP(w, r)

				if w.Code != tt.wantStatus {
					t.Fatalf("status %d, want %d (body %q)", w.Code, tt.wantStatus, w.Body.String())
				}
				cmds := rec.commands()
				if tt.wantStatus != http.StatusOK {
					if len(cmds) != 0 {
						t.Fatalf("the handler was called: %+v", cmds)
					}
					return
				}
				want := bot.Command{
					Platform: "slack", Name: bot.CmdHelp,
					User:    bot.User{ID: "U2CERLKJA", Name: "roadrunner"},
					Channel: "G8PSS9T3V", Allowed: true,
				}
				if len(cmds) != 1 || !reflect.DeepEqual(cmds[0], want) {
					t.Fatalf("handler got %+v, want [%+v]", cmds, want)
				}
				var got message
				if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
					t.Fatalf("answer %q: %v", w.Body.String(), err)
				}
				if got != (message{ResponseType: "ephemeral", Text: "tocsin commands: …"}) {
					t.Fatalf("answer %+v", got)
				}
			})
		})
	}
}

func TestParseSlashCommands(t *testing.T) {
	lists := Options{AllowedUsers: []string{"U0ALICE", "carol"}, AllowedChannels: []string{"C0ALERTS"}}
	tests := []struct {
		name    string
		opts    Options // the allow lists
		command string
		text    string
		user    bot.User
		channel string
		want    bot.Command // Platform, User, Channel filled in
	}{
		{name: "ping, main form", command: "/tocsin", text: "ping 127.0.0.1",
			want: bot.Command{Name: "ping", Args: []string{"127.0.0.1"}, Allowed: true}},
		{name: "ping, own command", command: "/ping", text: "127.0.0.1",
			want: bot.Command{Name: "ping", Args: []string{"127.0.0.1"}, Allowed: true}},
		{name: "status", command: "/tocsin", text: "status",
			want: bot.Command{Name: "status", Allowed: true}},
		{name: "status of one", command: "/tocsin", text: "status shop",
			want: bot.Command{Name: "status", Args: []string{"shop"}, Allowed: true}},
		{name: "ack with a reason", command: "/tocsin", text: "ack shop on it now",
			want: bot.Command{Name: "ack", Args: []string{"shop", "on", "it", "now"}, Allowed: true}},
		{name: "mute", command: "/tocsin", text: "mute shop 1h",
			want: bot.Command{Name: "mute", Args: []string{"shop", "1h"}, Allowed: true}},
		{name: "unmute", command: "/tocsin", text: "unmute shop",
			want: bot.Command{Name: "unmute", Args: []string{"shop"}, Allowed: true}},
		{name: "unack", command: "/tocsin", text: "unack shop",
			want: bot.Command{Name: "unack", Args: []string{"shop"}, Allowed: true}},
		{name: "unack, own command", command: "/unack", text: "shop",
			want: bot.Command{Name: "unack", Args: []string{"shop"}, Allowed: true}},
		{name: "oncall", command: "/tocsin", text: "oncall",
			want: bot.Command{Name: "oncall", Allowed: true}},
		{name: "oncall, own command", command: "/oncall", text: "",
			want: bot.Command{Name: "oncall", Allowed: true}},
		{name: "no text is help", command: "/tocsin", text: "",
			want: bot.Command{Name: "help", Allowed: true}},
		{name: "blank text is help", command: "/tocsin", text: "   ",
			want: bot.Command{Name: "help", Allowed: true}},
		{name: "help", command: "/tocsin", text: "help",
			want: bot.Command{Name: "help", Allowed: true}},
		{name: "unknown word passed on", command: "/tocsin", text: "reboot shop",
			want: bot.Command{Name: "reboot", Args: []string{"shop"}, Allowed: true}},
		{name: "case and spaces", command: "/tocsin", text: "  PING \t 127.0.0.1  ",
			want: bot.Command{Name: "ping", Args: []string{"127.0.0.1"}, Allowed: true}},
		{name: "command under another name", command: "/alerts", text: "status",
			want: bot.Command{Name: "status", Allowed: true}},
		{name: "/ping with no host", command: "/ping", text: "",
			want: bot.Command{Name: "ping", Allowed: true}},
		{name: "link unwrapped", command: "/ping", text: "<http://host.example|host.example>",
			want: bot.Command{Name: "ping", Args: []string{"host.example"}, Allowed: true}},
		{name: "entities undone", command: "/tocsin", text: "ack shop a &amp; b &lt;3",
			want: bot.Command{Name: "ack", Args: []string{"shop", "a", "&", "b", "<3"}, Allowed: true}},

		{name: "allowed by id", opts: lists, command: "/tocsin", text: "mute shop 1h",
			user: bot.User{ID: "U0ALICE", Name: "alice"}, channel: "C0ALERTS",
			want: bot.Command{Name: "mute", Args: []string{"shop", "1h"}, Allowed: true}},
		{name: "allowed by name", opts: lists, command: "/tocsin", text: "ack shop",
			user: bot.User{ID: "U0CAROL", Name: "Carol"}, channel: "C0ALERTS",
			want: bot.Command{Name: "ack", Args: []string{"shop"}, Allowed: true}},
		{name: "user not listed", opts: lists, command: "/tocsin", text: "ack shop",
			user: bot.User{ID: "U0BOB", Name: "bob"}, channel: "C0ALERTS",
			want: bot.Command{Name: "ack", Args: []string{"shop"}, Allowed: false}},
		{name: "user not listed, unack", opts: lists, command: "/tocsin", text: "unack shop",
			user: bot.User{ID: "U0BOB", Name: "bob"}, channel: "C0ALERTS",
			want: bot.Command{Name: "unack", Args: []string{"shop"}, Allowed: false}},
		{name: "channel not listed", opts: lists, command: "/ping", text: "127.0.0.1",
			user: bot.User{ID: "U0ALICE", Name: "alice"}, channel: "C0RANDOM",
			want: bot.Command{Name: "ping", Args: []string{"127.0.0.1"}, Allowed: false}},
		{name: "users only", opts: Options{AllowedUsers: []string{"U0ALICE"}}, command: "/tocsin", text: "status",
			user: bot.User{ID: "U0ALICE", Name: "alice"}, channel: "C0ANY",
			want: bot.Command{Name: "status", Allowed: true}},
		{name: "channels only", opts: Options{AllowedChannels: []string{"C0ALERTS"}}, command: "/tocsin", text: "status",
			user: bot.User{ID: "U0ANYONE", Name: "anyone"}, channel: "C0RANDOM",
			want: bot.Command{Name: "status", Allowed: false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.user == (bot.User{}) {
				tt.user = bot.User{ID: "U0ALICE", Name: "alice"}
			}
			if tt.channel == "" {
				tt.channel = "C0ALERTS"
			}
			rec := newRecorder(nil)
			opts := tt.opts
			opts.Handler, opts.SigningSecret = rec.handler(), testSecret
			commands, _ := NewHTTP(opts)
			w := httptest.NewRecorder()
			// The handler answers with no Later: nothing is posted to
			// this (closed) loopback address.
			commands.ServeHTTP(w, signedRequest("/slack/commands",
				slashForm(tt.command, tt.text, tt.user.ID, tt.user.Name, tt.channel, "http://127.0.0.1:9/none")))
			if w.Code != http.StatusOK {
				t.Fatalf("status %d: %s", w.Code, w.Body.String())
			}
			want := tt.want
			want.Platform, want.User, want.Channel = "slack", tt.user, tt.channel
			cmds := rec.commands()
			if len(cmds) != 1 || !reflect.DeepEqual(cmds[0], want) {
				t.Fatalf("handler got %#v\nwant %#v", cmds, want)
			}
		})
	}
}

func TestCommandAnswers(t *testing.T) {
	sink := newSink(t)
	tests := []struct {
		name     string
		respond  func(bot.Command) bot.Response
		wantNow  string         // the answer's body, as JSON or ""
		wantPost map[string]any // what Later posts, or nil
	}{
		{
			name: "now only, in channel",
			respond: func(bot.Command) bot.Response {
				return bot.Response{Now: bot.Reply{Text: "shop is *up* <b> & fine", Block: "shop   up   12ms\nweb-1  down"}}
			},
			wantNow: `{"response_type":"in_channel","text":"shop is *up* &lt;b&gt; &amp; fine\n` + "```" + `\nshop   up   12ms\nweb-1  down\n` + "```" + `"}`,
		},
		{
			name: "now and later",
			respond: func(cmd bot.Command) bot.Response {
				return bot.Response{
					Now: bot.Reply{Text: "Pinging " + cmd.Args[0] + "…"},
					Later: func(ctx context.Context) bot.Reply {
						return bot.Reply{Text: "3 replies from 127.0.0.1", Block: "rtt min/avg/max = 0.1/0.2/0.3 ms"}
					},
				}
			},
			wantNow: `{"response_type":"in_channel","text":"Pinging 127.0.0.1…"}`,
			wantPost: map[string]any{
				"response_type": "in_channel", "replace_original": false, "delete_original": false,
				"text": "3 replies from 127.0.0.1\n```\nrtt min/avg/max = 0.1/0.2/0.3 ms\n```",
			},
		},
		{
			name: "later only, ephemeral",
			respond: func(cmd bot.Command) bot.Response {
				return bot.Response{Later: func(ctx context.Context) bot.Reply {
					return bot.Reply{Text: "no reply from 127.0.0.1", Ephemeral: true}
				}}
			},
			wantNow: "",
			wantPost: map[string]any{
				"response_type": "ephemeral", "replace_original": false, "delete_original": false,
				"text": "no reply from 127.0.0.1",
			},
		},
		{
			name: "handler panics",
			respond: func(bot.Command) bot.Response {
				panic("boom")
			},
			wantNow: `{"response_type":"ephemeral","text":"` + bot.Failed.Text + `"}`,
		},
		{
			name: "later panics",
			respond: func(bot.Command) bot.Response {
				return bot.Response{Now: bot.Reply{Text: "Pinging…"}, Later: func(context.Context) bot.Reply { panic("boom") }}
			},
			wantNow: `{"response_type":"in_channel","text":"Pinging…"}`,
			wantPost: map[string]any{
				"response_type": "ephemeral", "replace_original": false, "delete_original": false,
				"text": bot.Failed.Text,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := newRecorder(tt.respond)
			a := newAdapter(Options{Handler: rec.handler(), SigningSecret: testSecret})
			w := httptest.NewRecorder()
			a.serveCommand(w, signedRequest("/slack/commands",
				slashForm("/ping", "127.0.0.1", "U0ALICE", "alice", "C0ALERTS", sink.url())))
			if w.Code != http.StatusOK {
				t.Fatalf("status %d: %s", w.Code, w.Body.String())
			}
			if got := strings.TrimSpace(w.Body.String()); got != tt.wantNow {
				t.Fatalf("answer\n%s\nwant\n%s", got, tt.wantNow)
			}
			if tt.wantNow != "" && w.Header().Get("Content-Type") != "application/json" {
				t.Errorf("Content-Type %q", w.Header().Get("Content-Type"))
			}
			if tt.wantPost == nil {
				a.wg.Wait()
				sink.none(t)
				return
			}
			if got := sink.wait(t); !reflect.DeepEqual(got, tt.wantPost) {
				t.Fatalf("posted %v\nwant %v", got, tt.wantPost)
			}
			a.wg.Wait()
		})
	}
}

// A Later that outlives the request is not cut short by the request's end.
func TestLaterOutlivesRequest(t *testing.T) {
	sink := newSink(t)
	release := make(chan struct{})
	rec := newRecorder(func(bot.Command) bot.Response {
		return bot.Response{Later: func(ctx context.Context) bot.Reply {
			select {
			case <-release:
				return bot.Reply{Text: "done"}
			case <-ctx.Done():
				return bot.Reply{Text: "cancelled: " + ctx.Err().Error()}
			}
		}}
	})
	a := newAdapter(Options{Handler: rec.handler(), SigningSecret: testSecret})
	ctx, cancel := context.WithCancel(t.Context())
	r := signedRequest("/slack/commands", slashForm("/ping", "127.0.0.1", "U1", "alice", "C1", sink.url())).WithContext(ctx)
	a.serveCommand(httptest.NewRecorder(), r)
	cancel() // the request is over
	close(release)
	if got := sink.wait(t)["text"]; got != "done" {
		t.Fatalf("posted %q", got)
	}
	a.wg.Wait()
}

func TestRequestLimits(t *testing.T) {
	rec := newRecorder(nil)
	commands, interactions := NewHTTP(Options{Handler: rec.handler(), SigningSecret: testSecret})

	big := url.Values{"text": {strings.Repeat("a", maxBody)}}
	w := httptest.NewRecorder()
	commands.ServeHTTP(w, signedRequest("/slack/commands", big))
	if w.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("a large body: status %d", w.Code)
	}

	w = httptest.NewRecorder()
	interactions.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/slack/interactions", nil))
	if w.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET: status %d", w.Code)
	}
	if n := len(rec.commands()); n != 0 {
		t.Errorf("the handler was called %d times", n)
	}
}

// blockActions is a block_actions payload as Slack sends it for a click on
// a button with the given action_id and value.
func blockActions(actionID, value, responseURL string) map[string]any {
	return map[string]any{
		"type":         "block_actions",
		"team":         map[string]any{"id": "T1", "domain": "example"},
		"user":         map[string]any{"id": "U0ALICE", "username": "alice", "name": "alice", "team_id": "T1"},
		"api_app_id":   "A1",
		"token":        "unused",
		"container":    map[string]any{"type": "message", "message_ts": "1700000000.000100", "channel_id": "C0ALERTS", "is_ephemeral": false},
		"trigger_id":   "1.2.3",
		"channel":      map[string]any{"id": "C0ALERTS", "name": "alerts"},
		"message":      map[string]any{"type": "message", "ts": "1700000000.000100", "text": "shop is DOWN"},
		"response_url": responseURL,
		"actions": []any{map[string]any{
			"action_id": actionID, "block_id": "incident", "type": "button",
			"text":  map[string]any{"type": "plain_text", "text": "Acknowledge"},
			"value": value, "action_ts": "1700000001.000200",
		}},
	}
}

func payloadForm(t *testing.T, payload any) url.Values {
	t.Helper()
	js, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	return url.Values{"payload": {string(js)}}
}

func TestAckCommand(t *testing.T) {
	alice := bot.User{ID: "U0ALICE", Name: "alice"}
	withAction := func(actions ...map[string]any) map[string]any {
		p := blockActions("", "", "")
		list := make([]any, len(actions))
		for i, a := range actions {
			list[i] = a
		}
		p["actions"] = list
		return p
	}
	action := func(id, value string) map[string]any {
		return map[string]any{"action_id": id, "block_id": "tocsin_actions", "type": "button", "value": value}
	}
	noChannel := blockActions("tocsin_ack_all", "42", "")
	delete(noChannel, "channel")
	tests := []struct {
		name    string
		opts    Options
		payload map[string]any
		ok      bool
		wantErr bool
		want    bot.Command
	}{
		{name: "ack", payload: blockActions("tocsin_ack", "42", ""), ok: true,
			want: bot.Command{Incident: 42, User: alice, Channel: "C0ALERTS", Allowed: true}},
		{name: "ack all", payload: blockActions("tocsin_ack_all", "42", ""), ok: true,
			want: bot.Command{Incident: 42, All: true, User: alice, Channel: "C0ALERTS", Allowed: true}},
		{name: "ack all, big id", payload: blockActions("tocsin_ack_all", "9223372036854775807", ""), ok: true,
			want: bot.Command{Incident: 9223372036854775807, All: true, User: alice, Channel: "C0ALERTS", Allowed: true}},
		{name: "ack all, channel from the container", payload: noChannel, ok: true,
			want: bot.Command{Incident: 42, All: true, User: alice, Channel: "C0ALERTS", Allowed: true}},
		{name: "ack all, user not allowed", opts: Options{AllowedUsers: []string{"U0BOB"}},
			payload: blockActions("tocsin_ack_all", "7", ""), ok: true,
			want: bot.Command{Incident: 7, All: true, User: alice, Channel: "C0ALERTS", Allowed: false}},
		{name: "ack all, user allowed by name", opts: Options{AllowedUsers: []string{"Alice"}},
			payload: blockActions("tocsin_ack_all", "7", ""), ok: true,
			want: bot.Command{Incident: 7, All: true, User: alice, Channel: "C0ALERTS", Allowed: true}},
		{name: "ack all among other actions", payload: withAction(action("other", "1"), action("tocsin_ack_all", "5")), ok: true,
			want: bot.Command{Incident: 5, All: true, User: alice, Channel: "C0ALERTS", Allowed: true}},
		{name: "ack all, not a number", payload: blockActions("tocsin_ack_all", "router", ""), wantErr: true},
		{name: "ack all, empty", payload: blockActions("tocsin_ack_all", "", ""), wantErr: true},
		{name: "ack all, negative", payload: blockActions("tocsin_ack_all", "-42", ""), wantErr: true},
		{name: "ack all, zero", payload: blockActions("tocsin_ack_all", "0", ""), wantErr: true},
		{name: "ack all, too big", payload: blockActions("tocsin_ack_all", "99999999999999999999", ""), wantErr: true},
		{name: "ack all, trailing junk", payload: blockActions("tocsin_ack_all", "42x", ""), wantErr: true},
		{name: "ack all, spaces", payload: blockActions("tocsin_ack_all", " 42", ""), wantErr: true},
		{name: "ack, negative", payload: blockActions("tocsin_ack", "-1", ""), wantErr: true},
		{name: "another action", payload: blockActions("tocsin_ack_all_x", "42", "")},
		{name: "case differs", payload: blockActions("TOCSIN_ACK_ALL", "42", "")},
		{name: "not block_actions", payload: map[string]any{"type": "view_submission", "user": map[string]any{"id": "U0ALICE"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			js, err := json.Marshal(tt.payload)
			if err != nil {
				t.Fatal(err)
			}
			var cb slack.InteractionCallback
			if err := json.Unmarshal(js, &cb); err != nil {
				t.Fatal(err)
			}
			got, ok, err := newAdapter(tt.opts).ackCommand(cb)
			if ok != tt.ok || (err != nil) != tt.wantErr {
				t.Fatalf("ok %v err %v, want ok %v, an error %v", ok, err, tt.ok, tt.wantErr)
			}
			if !ok {
				return
			}
			want := tt.want
			want.Platform, want.Name = "slack", "ack"
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestInteractions(t *testing.T) {
	sink := newSink(t)
	ackedBy := bot.Command{
		Platform: "slack", Name: "ack", Incident: 42,
		User: bot.User{ID: "U0ALICE", Name: "alice"}, Channel: "C0ALERTS", Allowed: true,
	}
	ackedAll := ackedBy
	ackedAll.All = true
	tests := []struct {
		name       string
		opts       Options
		form       url.Values // nil: signed by the test from payload
		payload    any
		unsigned   bool
		reply      bot.Reply
		wantStatus int
		wantCmd    *bot.Command
		wantPost   map[string]any
	}{
		{name: "ack", payload: blockActions("tocsin_ack", "42", sink.url()),
			reply:      bot.Reply{Text: "Acknowledged by alice"},
			wantStatus: http.StatusOK, wantCmd: &ackedBy},
		{name: "already acked", payload: blockActions("tocsin_ack", "42", sink.url()),
			reply:      bot.Reply{Text: "Already acknowledged by bob", Ephemeral: true},
			wantStatus: http.StatusOK, wantCmd: &ackedBy,
			wantPost: map[string]any{"response_type": "ephemeral", "replace_original": false, "delete_original": false,
				"text": "Already acknowledged by bob"}},
		{name: "not allowed", opts: Options{AllowedUsers: []string{"U0BOB"}},
			payload:    blockActions("tocsin_ack", "42", sink.url()),
			reply:      bot.Reply{Text: "You may not acknowledge alerts here.", Ephemeral: true},
			wantStatus: http.StatusOK,
			wantCmd: &bot.Command{Platform: "slack", Name: "ack", Incident: 42,
				User: bot.User{ID: "U0ALICE", Name: "alice"}, Channel: "C0ALERTS", Allowed: false},
			wantPost: map[string]any{"response_type": "ephemeral", "replace_original": false, "delete_original": false,
				"text": "You may not acknowledge alerts here."}},
		{name: "ack all", payload: blockActions("tocsin_ack_all", "42", sink.url()),
			reply:      bot.Reply{Text: "alice acknowledged 3 targets (router's group)"},
			wantStatus: http.StatusOK, wantCmd: &ackedAll},
		{name: "ack all, already acked", payload: blockActions("tocsin_ack_all", "42", sink.url()),
			reply:      bot.Reply{Text: "every target of that alert is already acknowledged", Ephemeral: true},
			wantStatus: http.StatusOK, wantCmd: &ackedAll,
			wantPost: map[string]any{"response_type": "ephemeral", "replace_original": false, "delete_original": false,
				"text": "every target of that alert is already acknowledged"}},
		{name: "ack all, not allowed", opts: Options{AllowedChannels: []string{"C0OPS"}},
			payload:    blockActions("tocsin_ack_all", "42", sink.url()),
			reply:      bot.Reply{Text: "you are not allowed to ack", Ephemeral: true},
			wantStatus: http.StatusOK,
			wantCmd: &bot.Command{Platform: "slack", Name: "ack", Incident: 42, All: true,
				User: bot.User{ID: "U0ALICE", Name: "alice"}, Channel: "C0ALERTS", Allowed: false},
			wantPost: map[string]any{"response_type": "ephemeral", "replace_original": false, "delete_original": false,
				"text": "you are not allowed to ack"}},
		{name: "ack all, value not an incident", payload: blockActions("tocsin_ack_all", "router", sink.url()),
			wantStatus: http.StatusOK},
		{name: "other action", payload: blockActions("something_else", "42", sink.url()),
			wantStatus: http.StatusOK},
		{name: "value not an incident", payload: blockActions("tocsin_ack", "shop", sink.url()),
			wantStatus: http.StatusOK},
		{name: "negative incident", payload: blockActions("tocsin_ack", "-1", sink.url()),
			wantStatus: http.StatusOK},
		{name: "view submission", payload: map[string]any{"type": "view_submission", "user": map[string]any{"id": "U0ALICE"}},
			wantStatus: http.StatusOK},
		{name: "bad JSON", form: url.Values{"payload": {`{"type":"block_actions",`}},
			wantStatus: http.StatusBadRequest},
		{name: "no payload", form: url.Values{"other": {"x"}},
			wantStatus: http.StatusBadRequest},
		{name: "unsigned", payload: blockActions("tocsin_ack", "42", sink.url()), unsigned: true,
			wantStatus: http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := newRecorder(func(bot.Command) bot.Response { return bot.Response{Now: tt.reply} })
			opts := tt.opts
			opts.Handler, opts.SigningSecret = rec.handler(), testSecret
			a := newAdapter(opts)
			form := tt.form
			if form == nil {
				form = payloadForm(t, tt.payload)
			}
			r := signedRequest("/slack/interactions", form)
			if tt.unsigned {
				r.Header.Del("X-Slack-Signature")
			}
			w := httptest.NewRecorder()
			a.serveInteraction(w, r)
			if w.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.wantStatus, w.Body.String())
			}
			if w.Code == http.StatusOK && w.Body.Len() != 0 {
				t.Errorf("body %q, want none", w.Body.String())
			}
			a.wg.Wait() // the ack and its post are done
			cmds := rec.commands()
			switch {
			case tt.wantCmd == nil && len(cmds) != 0:
				t.Fatalf("handler called with %+v", cmds)
			case tt.wantCmd != nil && (len(cmds) != 1 || !reflect.DeepEqual(cmds[0], *tt.wantCmd)):
				t.Fatalf("handler got %+v\nwant %+v", cmds, *tt.wantCmd)
			}
			if tt.wantPost == nil {
				sink.none(t)
				return
			}
			if got := sink.wait(t); !reflect.DeepEqual(got, tt.wantPost) {
				t.Fatalf("posted %v\nwant %v", got, tt.wantPost)
			}
		})
	}
}
