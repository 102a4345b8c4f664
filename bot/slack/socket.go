package slack

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

const (
	// retryMin and retryMax bound the wait before socketmode's run is
	// started again after it gave up.
	retryMin = time.Second
	retryMax = 5 * time.Minute
	// retryReset is how long a run must last for the next wait to start
	// again from retryMin.
	retryReset = time.Minute
)

// RunSocketMode answers commands over Slack's Socket Mode until ctx ends,
// then returns nil once the requests in flight are done; it returns an
// error at once only when opts lack a Handler or an AppToken.
//
// A slash command is acknowledged with the rendered Response.Now as the
// acknowledgement's payload (trimmed to fit Socket Mode's 20 KB), and a
// Response.Later's reply is posted to the command's response_url. A click
// on an Acknowledge button is acknowledged at once and handled as in HTTP
// mode. Other requests are acknowledged and ignored.
//
// Dropped connections are reopened: socketmode reconnects by itself on a
// read error, a missed WebSocket ping or Slack's "disconnect", and retries
// failed connection attempts with backoff; it gives up only on an
// authentication error (invalid_auth, token_revoked, a 404, …). tocsin
// then logs the error and starts it again after a wait that doubles from 1 s
// to 5 min, so a token fixed or restored at Slack's end is picked up
// without a restart.
func RunSocketMode(ctx context.Context, opts Options) error {
	if opts.Handler == nil {
		return errors.New("slack: socket mode needs a Handler")
	}
	if opts.AppToken == "" {
		return errors.New("slack: socket mode needs an app-level token (slack.app_token)")
	}
	a := newAdapter(opts)
	apiOpts := []slack.Option{slack.OptionAppLevelToken(opts.AppToken), slack.OptionHTTPClient(a.client)}
	if opts.APIURL != "" {
		u := opts.APIURL
		if !strings.HasSuffix(u, "/") {
			u += "/"
		}
		apiOpts = append(apiOpts, slack.OptionAPIURL(u))
	}
	client := socketmode.New(slack.New(opts.BotToken, apiOpts...))

	events, stopEvents := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.readEvents(events, client)
	}()

	wait := retryMin
	for {
		start := time.Now()
		err := client.RunContext(ctx)
		if ctx.Err() != nil {
			break
		}
		if time.Since(start) > retryReset {
			wait = retryMin
		}
		a.log.Error("slack: socket mode stopped; starting it again", "err", redact(err), "in", wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
		}
		wait = min(2*wait, retryMax)
	}
	stopEvents()
	<-done
	a.wg.Wait()
	return nil
}

// readEvents handles client's events until ctx ends.
func (a *adapter) readEvents(ctx context.Context, client *socketmode.Client) {
	for {
		var ev socketmode.Event
		select {
		case <-ctx.Done():
			return
		case ev = <-client.Events:
		}
		a.event(ctx, client, ev)
	}
}

// event handles one event of the socketmode client. A request is
// acknowledged here or by the goroutine it starts, never left waiting on
// the Handler: reading the next event must not wait for one command.
func (a *adapter) event(ctx context.Context, client *socketmode.Client, ev socketmode.Event) {
	switch ev.Type {
	case socketmode.EventTypeConnecting:
		if c, ok := ev.Data.(*slack.ConnectingEvent); ok {
			a.log.Debug("slack: connecting to socket mode", "attempt", c.Attempt, "connection", c.ConnectionCount)
		}
	case socketmode.EventTypeConnected:
		// ConnectionCount counts the reconnections of one run: a drop
		// shows here, as socketmode reports none of its own.
		n := 0
		if c, ok := ev.Data.(*socketmode.ConnectedEvent); ok {
			n = c.ConnectionCount
		}
		if n == 0 {
			a.log.Info("slack: socket mode connected")
		} else {
			a.log.Info("slack: socket mode reconnected", "reconnects", n)
		}
	case socketmode.EventTypeHello:
		a.log.Debug("slack: socket mode hello")
	case socketmode.EventTypeConnectionError:
		if c, ok := ev.Data.(*slack.ConnectionErrorEvent); ok {
			a.log.Warn("slack: socket mode connection failed", "attempt", c.Attempt, "retry_in", c.Backoff, "err", redact(c.ErrorObj))
		}
	case socketmode.EventTypeInvalidAuth:
		a.log.Error("slack: socket mode refused the app-level token")
	case socketmode.EventTypeIncomingError:
		if e, ok := ev.Data.(*slack.IncomingEventError); ok {
			a.log.Warn("slack: socket mode read failed", "err", redact(e.ErrorObj))
		}
	case socketmode.EventTypeErrorWriteFailed:
		if e, ok := ev.Data.(*socketmode.ErrorWriteFailed); ok {
			a.log.Warn("slack: socket mode write failed", "err", redact(e.Cause))
		}
	case socketmode.EventTypeErrorBadMessage:
		if e, ok := ev.Data.(*socketmode.ErrorBadMessage); ok {
			a.log.Warn("slack: socket mode message unreadable", "err", e.Cause)
		}
	case socketmode.EventTypeDisconnect:
		a.log.Info("slack: socket mode asked to reconnect")
	case socketmode.EventTypeSlashCommand:
		sc, ok := ev.Data.(slack.SlashCommand)
		if !ok || ev.Request == nil {
			return
		}
		env := ev.Request.EnvelopeID
		a.wg.Go(func() { a.socketCommand(ctx, client, env, sc) })
	case socketmode.EventTypeInteractive:
		if ev.Request == nil {
			return
		}
		a.ack(ctx, client, ev.Request.EnvelopeID, nil)
		if cb, ok := ev.Data.(slack.InteractionCallback); ok {
			a.interaction(ctx, cb)
		}
	case socketmode.EventTypeEventsAPI:
		// tocsin subscribes to no events; acknowledged so that Slack
		// does not send them again.
		if ev.Request != nil {
			a.ack(ctx, client, ev.Request.EnvelopeID, nil)
		}
	}
}

// socketCommand answers a slash command by acknowledging its envelope with
// the rendered Response.Now, then runs Response.Later.
func (a *adapter) socketCommand(ctx context.Context, client *socketmode.Client, envelope string, sc slack.SlashCommand) {
	cmd := a.slashCommand(sc)
	nowCtx, cancel := context.WithTimeout(ctx, nowTimeout)
	resp := a.handle(nowCtx, cmd)
	cancel()
	var payload any
	if msg := renderWithin(resp.Now, maxAck); msg.Text != "" {
		payload = msg
	}
	a.ack(ctx, client, envelope, payload)
	if resp.Later != nil {
		a.followUp(ctx, cmd, sc.ResponseURL, resp.Later)
	}
}

// ack acknowledges a Socket Mode envelope, with payload unless it is nil.
func (a *adapter) ack(ctx context.Context, client *socketmode.Client, envelope string, payload any) {
	if err := client.AckCtx(ctx, envelope, payload); err != nil && ctx.Err() == nil {
		a.log.Warn("slack: acknowledging a socket mode request failed", "err", err)
	}
}
