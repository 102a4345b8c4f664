package discord

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/tocsin/tocsin/notify"
)

// verdict is what a failed call means to tocsin.
type verdict int

const (
	// retry: transient (429, 5xx, timeouts, connection errors, an answer
	// that is not JSON); the Dispatcher retries with backoff.
	retry verdict = iota
	// permanent: the token, the webhook, the bot's access or the request
	// are wrong; nothing changes until the config does.
	permanent
	// render: Discord refused the message's content (Invalid Form Body); it
	// is sent once more as text alone.
	render
	// gone: the message to edit no longer exists or is not the bot's to
	// edit; there is nothing to do.
	gone
	// channel: the channel is unknown or out of the bot's reach. Permanent
	// for the configured channel; for the channel of an older alert (the
	// config changed since it was posted) that alert is out of reach.
	channel
)

// codes maps Discord's JSON error codes to their verdict, for answers that
// are not 5xx. Codes not listed go by the HTTP status: 4xx permanent.
var codes = map[int]verdict{
	10003: channel,   // Unknown Channel
	50001: channel,   // Missing Access
	50013: channel,   // Missing Permissions
	10015: permanent, // Unknown Webhook
	50027: permanent, // Invalid Webhook Token
	50008: permanent, // Cannot send messages in a non-text channel
	40001: permanent, // Unauthorized
	10008: gone,      // Unknown Message
	50005: gone,      // Cannot edit a message authored by another user
	50035: render,    // Invalid Form Body
	50006: render,    // Cannot send an empty message
	30046: retry,     // Maximum number of edits to messages older than 1 hour reached; try again later
	20028: retry,     // The write action you are performing on the channel has hit the write rate limit
}

// classify says what err, from a Discord call, means.
func classify(err error) verdict {
	if _, ok := errors.AsType[*discordgo.RateLimitError](err); ok {
		return retry
	}
	re, ok := errors.AsType[*discordgo.RESTError](err)
	if !ok || re.Response == nil {
		// Transport errors, timeouts, a 502 discordgo gave up on, an
		// answer that is not JSON (a 429 from a proxy): all pass.
		return retry
	}
	status := re.Response.StatusCode
	switch {
	case status >= 500, status == http.StatusTooManyRequests,
		status == http.StatusRequestTimeout, status == http.StatusTooEarly:
		return retry
	case status == http.StatusUnauthorized:
		return permanent
	}
	if re.Message != nil {
		if v, ok := codes[re.Message.Code]; ok {
			return v
		}
	}
	if status >= 400 {
		// Any other refusal (a wrong api_url's 404, a proxy's 403): the
		// same request will not do better.
		return permanent
	}
	return retry
}

// describe is err's text, short: for an HTTP error its status and
// Discord's message and code rather than the whole body.
func describe(err error) string {
	if rl, ok := errors.AsType[*discordgo.RateLimitError](err); ok {
		if rl.RateLimit != nil && rl.TooManyRequests != nil {
			return fmt.Sprintf("HTTP 429: rate limited, retry after %s: %s", rl.RetryAfter, rl.Message)
		}
		return "HTTP 429: rate limited"
	}
	if re, ok := errors.AsType[*discordgo.RESTError](err); ok && re.Response != nil {
		s := "HTTP " + re.Response.Status
		if re.Message != nil && (re.Message.Message != "" || re.Message.Code != 0) {
			return fmt.Sprintf("%s: %s (code %d)", s, re.Message.Message, re.Message.Code)
		}
		if body := clipPlain(notify.OneLine(string(re.ResponseBody)), 200); body != "" {
			s += ": " + body
		}
		return s
	}
	return err.Error()
}

// redactedError is an error whose text has the secrets taken out. It does
// not unwrap to the error it was made from (whose text, or whose request's
// headers, hold them); only to a context error, so errors.Is still sees a
// cancelled call.
type redactedError struct {
	text string
	ctx  error
}

func (e *redactedError) Error() string { return e.text }
func (e *redactedError) Unwrap() error { return e.ctx }

// wrap turns err from Discord call op into the error a Notifier returns: a
// *notify.Error that is Permanent, or carries Discord's retry_after, or
// else a plain error, retried with backoff. Its text never holds a secret.
func (n *Notifier) wrap(op string, err error) error {
	re := &redactedError{text: n.redact("discord: " + op + ": " + describe(err))}
	switch {
	case errors.Is(err, context.Canceled):
		re.ctx = context.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		re.ctx = context.DeadlineExceeded
	}
	if rl, ok := errors.AsType[*discordgo.RateLimitError](err); ok {
		var after time.Duration
		if rl.RateLimit != nil && rl.TooManyRequests != nil {
			after = max(rl.RetryAfter, 0)
		}
		return &notify.Error{RetryAfter: after, Err: re}
	}
	if classify(err) != retry {
		// Here render is the text-only message refused too, channel the
		// configured channel, gone a message a create cannot miss.
		return &notify.Error{Permanent: true, Err: re}
	}
	return re
}

// redact takes the secrets out of s.
func (n *Notifier) redact(s string) string { return notify.Redact(s, n.secrets...) }
