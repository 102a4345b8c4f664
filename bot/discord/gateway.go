package discord

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/gorilla/websocket"
)

const (
	// retryMin and retryMax bound the wait before the gateway is opened
	// again after a failed attempt or a connection that did not last.
	retryMin = time.Second
	retryMax = 5 * time.Minute
	// retryReset is how long a connection must last for the next wait to
	// start again from retryMin.
	retryReset = time.Minute
	// openTimeout bounds one opening of the gateway: the WebSocket
	// handshake, Hello, and READY (or RESUMED).
	openTimeout = 30 * time.Second
)

// RunGateway answers interactions over Discord's gateway until ctx ends,
// then closes the connection and returns nil once the interactions in
// flight are done. It returns an error at once only when opts lack a
// Handler or a Token, or APIURL is unusable. It does not register the
// commands: call Register for that.
//
// It identifies with the Guilds intent alone: interactions reach a bot
// whatever its intents. Each interaction is answered through the REST
// API (POST …/callback) with the response NewHTTP would send as its body,
// and what remains after it runs as in HTTP mode.
//
// Dropped connections are reopened, and a failed opening is tried again
// after a wait that doubles from 1 s to 5 min (back to 1 s once a
// connection has lasted a minute). discordgo can reconnect by itself, but
// its loop ignores any context, retries forever (even after Close) and
// needs a goroutine of its own, so tocsin turns it off
// (ShouldReconnectOnError false) and reopens the session itself when
// discordgo reports a disconnect; discordgo then resumes the session
// (op 6) where it can, and identifies anew otherwise.
func RunGateway(ctx context.Context, opts Options) error {
	if opts.Token == "" {
		return errors.New("discord: the gateway needs the bot token")
	}
	a, err := newAdapter(opts)
	if err != nil {
		return err
	}
	g := &gateway{a: a, s: a.session}
	s := g.s
	s.ShouldReconnectOnError = false
	s.Identify.Intents = discordgo.IntentsGuilds
	s.Dialer = &websocket.Dialer{
		Proxy:            http.ProxyFromEnvironment,
		HandshakeTimeout: openTimeout,
		NetDialContext:   g.dial(ctx),
	}

	drops := make(chan struct{}, 1)
	s.AddHandler(func(*discordgo.Session, *discordgo.Disconnect) {
		select {
		case drops <- struct{}{}:
		default:
		}
	})
	s.AddHandler(func(_ *discordgo.Session, ev *discordgo.InteractionCreate) {
		if ev.Interaction == nil {
			return
		}
		a.work.Go(func() { g.interaction(ctx, ev.Interaction) })
	})

	wait := retryMin
	for ctx.Err() == nil {
		err := g.open(ctx)
		if ctx.Err() != nil {
			break
		}
		if err != nil {
			a.log.Error("discord: opening the gateway failed", "err", redact(err), "retry_in", wait)
			if !sleep(ctx, wait) {
				break
			}
			wait = min(2*wait, retryMax)
			continue
		}
		a.log.Info("discord: gateway connected")
		connected := time.Now()
		select {
		case <-ctx.Done():
		case <-drops:
		}
		if ctx.Err() != nil {
			break
		}
		if time.Since(connected) >= retryReset {
			wait = retryMin
		}
		a.log.Warn("discord: gateway connection lost; reconnecting", "in", wait)
		if !sleep(ctx, wait) {
			break
		}
		wait = min(2*wait, retryMax)
	}
	if err := s.Close(); err != nil {
		a.log.Warn("discord: closing the gateway", "err", err)
	}
	a.work.Close()
	a.log.Info("discord: gateway closed")
	return nil
}

// gateway is one RunGateway's connection state.
type gateway struct {
	a *adapter
	s *discordgo.Session
	// mu guards opening: the network connection of the opening under
	// way, which an expired openTimeout or the end of the run closes,
	// as discordgo's Open reads without deadlines.
	mu      sync.Mutex
	opening net.Conn
}

// dial is the websocket dialer's NetDialContext: dials end with ctx, and
// the connection is recorded for abort.
func (g *gateway) dial(ctx context.Context) func(context.Context, string, string) (net.Conn, error) {
	var d net.Dialer
	return func(dialCtx context.Context, network, addr string) (net.Conn, error) {
		dctx, cancel := context.WithCancel(dialCtx)
		defer cancel()
		stop := context.AfterFunc(ctx, cancel)
		defer stop()
		c, err := d.DialContext(dctx, network, addr)
		if err != nil {
			return nil, err
		}
		g.mu.Lock()
		g.opening = c
		g.mu.Unlock()
		return c, nil
	}
}

// abort closes the connection of the opening under way, if any, which
// makes Open return.
func (g *gateway) abort() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.opening != nil {
		_ = g.opening.Close()
		g.opening = nil
	}
}

// open opens the gateway within openTimeout, or until ctx ends. A session
// that is already open (a late disconnect report) counts as opened.
func (g *gateway) open(ctx context.Context) error {
	stop := context.AfterFunc(ctx, g.abort)
	t := time.AfterFunc(openTimeout, g.abort)
	err := g.s.Open()
	t.Stop()
	stop()
	g.mu.Lock()
	g.opening = nil
	g.mu.Unlock()
	if errors.Is(err, discordgo.ErrWSAlreadyOpen) {
		return nil
	}
	return err
}

// interaction answers one interaction from the gateway: the response
// through the REST API, then the work after it.
func (g *gateway) interaction(ctx context.Context, i *discordgo.Interaction) {
	resp, after := g.a.answer(ctx, i)
	if resp == nil {
		g.a.log.Debug("discord: ignoring an interaction", "type", int(i.Type))
		return
	}
	postCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), postTimeout)
	err := g.s.InteractionRespond(i, resp, discordgo.WithContext(postCtx))
	cancel()
	if err != nil {
		// Without a response the interaction's token is of no use, and
		// the user sees it failed.
		g.a.log.Error("discord: responding to an interaction failed", "type", int(i.Type), "err", redact(err))
		return
	}
	if after != nil {
		after(ctx)
	}
}

// sleep waits d or until ctx ends, and reports whether it waited d.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
