package discord

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tocsin/tocsin/state"
)

// TestNoSecretLeak makes the fake Discord echo the request's secrets (the
// Authorization header, the webhook URL with its token) in every place an
// answer can carry text, and checks that no error (nor anything it wraps)
// and no log line shows them.
func TestNoSecretLeak(t *testing.T) {
	// echo answers with status and a Discord error body quoting what the
	// request carried.
	echo := func(status, code int) func(int, fakeReq) fakeAnswer {
		return func(_ int, r fakeReq) fakeAnswer {
			secret := r.Auth + " " + r.Path + "?" + r.Query.Encode()
			if code < 0 {
				return fakeAnswer{Status: status, Body: "<html>" + secret + "</html>"}
			}
			return fakeAnswer{Status: status, Body: fmt.Sprintf(`{"message":%q,"code":%d,"retry_after":1}`, secret, code)}
		}
	}
	tests := []struct {
		name   string
		answer func(int, fakeReq) fakeAnswer
	}{
		{"permanent", echo(403, 50001)},
		{"unauthorized", echo(401, 0)},
		{"unknown webhook", echo(404, 10015)},
		{"rate limited", echo(429, 0)},
		{"500 html", echo(500, -1)},
		{"502 html", echo(502, -1)},
		{"refused content", echo(400, 50035)},
		{"gone edit", echo(404, 10008)},
		{"status line", func(_ int, r fakeReq) fakeAnswer {
			return fakeAnswer{Status: 500, StatusText: "boom " + r.Auth + r.Path, Body: "{}"}
		}},
	}
	modes := []struct {
		name    string
		mode    func(*Config)
		secrets []string
	}{
		{"bot", func(*Config) {}, []string{testToken}},
		{"webhook", webhookMode, []string{testWebhookToken}},
	}
	for _, m := range modes {
		for _, tt := range tests {
			t.Run(m.name+"/"+tt.name, func(t *testing.T) {
				f := &fakeDiscord{answer: tt.answer}
				n, logs := newTestNotifier(t, f, m.mode)
				errs := calls(t, n)
				if r := f.requests(); len(r) == 0 || !strings.Contains(r[0].Auth+r[0].Path, m.secrets[0]) {
					t.Fatal("the fake did not get the secret")
				}
				checkNoSecret(t, errs, logs.String(), m.secrets)
			})
		}
	}
	t.Run("webhook/connection refused", func(t *testing.T) {
		closed := httptest.NewServer(http.NotFoundHandler())
		hook := closed.URL + "/api/webhooks/" + testWebhookID + "/" + testWebhookToken
		closed.Close()
		logs := &syncBuffer{}
		n, err := New(Config{WebhookURL: hook})
		if err != nil {
			t.Fatal(err)
		}
		checkNoSecret(t, calls(t, n), logs.String(), []string{testWebhookToken, hook})
	})
	t.Run("New", func(t *testing.T) {
		for _, cfg := range []Config{
			{Token: testToken, ChannelID: testChannel, APIURL: "ftp://" + testToken},
			{Token: testToken, ChannelID: testToken + "/x"},
			{WebhookURL: "ftp://discord.com/api/webhooks/1/" + testWebhookToken},
			{WebhookURL: "https://discord.com/" + testWebhookToken},
			{WebhookURL: "https://discord.com/api/webhooks/1/" + testWebhookToken, APIURL: "::" + testWebhookToken},
		} {
			_, err := New(cfg)
			if err == nil || strings.Contains(err.Error(), testToken) || strings.Contains(err.Error(), testWebhookToken) {
				t.Errorf("New = %v", err)
			}
		}
	})
}

// calls makes a Post, an Edit and a Reply and returns their errors.
func calls(t *testing.T, n *Notifier) []error {
	t.Helper()
	var errs []error
	_, err := n.Post(t.Context(), shopEvent(state.EventDown))
	errs = append(errs, err)
	errs = append(errs, n.Edit(t.Context(), testChannel+"/900", shopEvent(state.EventAck)))
	_, err = n.Reply(t.Context(), testChannel+"/900", shopEvent(state.EventUp))
	return append(errs, err)
}

// checkNoSecret fails t if an error, anything it wraps, or the logs show a
// secret, or if nothing was redacted at all (the test would not test).
func checkNoSecret(t *testing.T, errs []error, logs string, secrets []string) {
	t.Helper()
	for _, err := range errs {
		for e := err; e != nil; e = errors.Unwrap(e) {
			for _, s := range secrets {
				if strings.Contains(e.Error(), s) || strings.Contains(fmt.Sprintf("%+v", e), s) {
					t.Errorf("error shows a secret: %v", e)
				}
			}
		}
	}
	for _, s := range secrets {
		if strings.Contains(logs, s) {
			t.Errorf("log shows a secret:\n%s", logs)
		}
	}
	if !strings.Contains(logs+fmt.Sprint(errs), "[REDACTED]") {
		t.Errorf("nothing was redacted; the test does not test: %v\n%s", errs, logs)
	}
}
