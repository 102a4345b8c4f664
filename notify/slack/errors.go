package slack

import (
	"context"
	"errors"
	"net/http"

	"github.com/slack-go/slack"

	"github.com/tocsin/tocsin/notify"
)

// verdict is what a failed call means to tocsin.
type verdict int

const (
	// retry: transient (5xx, timeouts, connection errors, Slack's own
	// internal errors, any code not listed here); the Dispatcher retries
	// with backoff.
	retry verdict = iota
	// permanent: the token, its scopes or the channel are wrong; nothing
	// changes until the config does.
	permanent
	// render: Slack refused the message's content; it is sent once more as
	// text only.
	render
	// gone: the message to edit no longer exists or may no longer be
	// edited; there is nothing to do.
	gone
	// noThread: the thread to reply in is gone, or threads are not allowed;
	// the reply is posted top-level.
	noThread
)

// codes maps Slack's ok:false error codes (chat.postMessage, chat.update
// and the errors common to every Web API method) to their verdict. Codes
// not listed are retried.
var codes = map[string]verdict{
	// Credentials, scopes, workspace policy: a config change is needed.
	"invalid_auth":              permanent,
	"not_authed":                permanent,
	"account_inactive":          permanent,
	"token_revoked":             permanent,
	"token_expired":             permanent,
	"no_permission":             permanent,
	"missing_scope":             permanent,
	"not_allowed_token_type":    permanent,
	"team_access_not_granted":   permanent,
	"ekm_access_denied":         permanent,
	"access_denied":             permanent,
	"accesslimited":             permanent,
	"enterprise_is_restricted":  permanent,
	"two_factor_setup_required": permanent,
	"method_deprecated":         permanent,
	"deprecated_endpoint":       permanent,
	// The channel.
	"channel_not_found":                     permanent,
	"not_in_channel":                        permanent,
	"is_archived":                           permanent,
	"is_inactive":                           permanent,
	"restricted_action":                     permanent,
	"restricted_action_read_only_channel":   permanent,
	"restricted_action_thread_only_channel": permanent,
	// A request Slack cannot read; the same request will not do better.
	"invalid_arg_name":  permanent,
	"invalid_array_arg": permanent,
	"invalid_charset":   permanent,
	"invalid_form_data": permanent,
	"invalid_post_type": permanent,
	"missing_post_type": permanent,

	// The content of the message.
	"invalid_blocks":        render,
	"invalid_blocks_format": render,
	"msg_too_long":          render,
	"invalid_attachments":   render,
	"too_many_attachments":  render,
	"invalid_arguments":     render,
	"block_mismatch":        render,
	"no_text":               render,

	// chat.update: nothing to edit.
	"message_not_found":   gone,
	"cant_update_message": gone,
	"edit_window_closed":  gone,

	// chat.postMessage with thread_ts.
	"thread_not_found":                         noThread,
	"restricted_action_non_threadable_channel": noThread,

	// Transient, named here for the record.
	"ratelimited":                retry,
	"rate_limited":               retry,
	"fatal_error":                retry,
	"internal_error":             retry,
	"service_unavailable":        retry,
	"request_timeout":            retry,
	"update_failed":              retry,
	"team_added_to_org":          retry,
	"org_login_required":         retry,
	"external_channel_migrating": retry,
	"streaming_state_conflict":   retry,
}

// channelCodes are the codes that speak of the channel rather than the
// token: on a message in a channel other than the configured one (the
// config changed since it was posted) they mean that message is out of
// reach, not that the notifier is broken.
var channelCodes = map[string]bool{
	"channel_not_found": true,
	"not_in_channel":    true,
	"is_archived":       true,
	"is_inactive":       true,
}

// code returns Slack's ok:false error code of err, "" when err is not one.
func code(err error) string {
	if e, ok := errors.AsType[slack.SlackErrorResponse](err); ok {
		return e.Err
	}
	if e, ok := errors.AsType[*slack.SlackErrorResponse](err); ok && e != nil {
		return e.Err
	}
	return ""
}

// classify says what err, from a Slack call, means.
func classify(err error) verdict {
	if c := code(err); c != "" {
		return codes[c] // unknown codes: retry
	}
	if sc, ok := errors.AsType[slack.StatusCodeError](err); ok {
		switch {
		case sc.Code >= 500, sc.Code == http.StatusTooManyRequests,
			sc.Code == http.StatusRequestTimeout, sc.Code == http.StatusTooEarly:
			return retry
		case sc.Code >= 400:
			// A wrong api_url (404), or a proxy refusing us: no retry will
			// mend it.
			return permanent
		}
	}
	return retry
}

// redactedError is an error whose text has the token taken out. It does not
// unwrap to the error it was made from (whose text may hold the token);
// only to a context error, so errors.Is still sees a cancelled call.
type redactedError struct {
	text string
	ctx  error
}

func (e *redactedError) Error() string { return e.text }
func (e *redactedError) Unwrap() error { return e.ctx }

// wrap turns err from Slack method op into the error a Notifier returns: a
// *notify.Error that is Permanent, or carries Slack's Retry-After, or else
// a plain error, retried with backoff. Its text never holds the token.
func (n *Notifier) wrap(op string, err error) error {
	re := &redactedError{text: n.redact("slack: " + op + ": " + describe(err))}
	switch {
	case errors.Is(err, context.Canceled):
		re.ctx = context.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		re.ctx = context.DeadlineExceeded
	}
	if rl, ok := errors.AsType[*slack.RateLimitedError](err); ok {
		return &notify.Error{RetryAfter: rl.RetryAfter, Err: re}
	}
	if classify(err) == permanent {
		return &notify.Error{Permanent: true, Err: re}
	}
	return re
}

// describe is err's text, with the scopes Slack says are missing.
func describe(err error) string {
	s := err.Error()
	if e, ok := errors.AsType[slack.SlackErrorResponse](err); ok && e.Needed != "" {
		s += " (needed: " + e.Needed + "; provided: " + e.Provided + ")"
	}
	return s
}

// redact takes the token out of s.
func (n *Notifier) redact(s string) string { return notify.Redact(s, n.token) }
