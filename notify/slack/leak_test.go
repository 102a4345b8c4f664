package slack

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/tocsin/tocsin/state"
)

// TestNoTokenLeak makes the fake Slack echo the token in every place an
// answer can carry text, and checks that no error (nor anything it wraps)
// and no log line shows it.
func TestNoTokenLeak(t *testing.T) {
	echo := func(code string) fakeAnswer {
		return fakeAnswer{Body: fmt.Sprintf(`{"ok":false,"error":%q,"needed":"chat:write %s","provided":%q}`, code, testToken, testToken)}
	}
	tests := []struct {
		name   string
		answer fakeAnswer
	}{
		{"error text", fakeAnswer{Body: fmt.Sprintf(`{"ok":false,"error":"invalid_auth for %s"}`, testToken)}},
		{"permanent, with scopes", echo("missing_scope")},
		{"retryable, with scopes", echo("internal_error")},
		{"gone edit", echo("message_not_found")},
		{"refused blocks", echo("invalid_blocks")},
		{"thread gone", echo("thread_not_found")},
		{"status line", fakeAnswer{Status: 500, StatusLine: "boom " + testToken}},
		{"bad Retry-After", fakeAnswer{Status: 429, Header: http.Header{"Retry-After": {testToken}}}},
		{"transport", fakeAnswer{Err: errors.New("dial slack.test: token=" + testToken)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeSlack{answer: func(int, fakeReq) fakeAnswer { return tt.answer }}
			n, logs := newTestNotifier(t, f)
			var errs []error
			_, err := n.Post(t.Context(), shopEvent(state.EventDown))
			errs = append(errs, err)
			errs = append(errs, n.Edit(t.Context(), "C1/1.1", shopEvent(state.EventAck)))
			_, err = n.Reply(t.Context(), "C1/1.1", shopEvent(state.EventUp))
			errs = append(errs, err)

			if r := f.requests(); len(r) == 0 || r[0].Form.Get("token") != testToken {
				t.Fatal("the fake did not get the token")
			}
			for _, err := range errs {
				for e := err; e != nil; e = errors.Unwrap(e) {
					if strings.Contains(e.Error(), testToken) || strings.Contains(fmt.Sprintf("%+v", e), testToken) {
						t.Errorf("error shows the token: %v", e)
					}
				}
			}
			if strings.Contains(logs.String(), testToken) {
				t.Errorf("log shows the token:\n%s", logs)
			}
			if !strings.Contains(logs.String()+fmt.Sprint(errs), "[REDACTED]") {
				t.Errorf("nothing was redacted; the test does not test: %v\n%s", errs, logs)
			}
		})
	}
	t.Run("New", func(t *testing.T) {
		_, err := New(Config{Token: testToken, Channel: "C1", APIURL: "ftp://" + testToken})
		if err == nil || strings.Contains(err.Error(), testToken) {
			t.Errorf("New = %v", err)
		}
	})
}
