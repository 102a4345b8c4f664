package bot

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
)

// Failed is the reply when tocsin could not answer; the detail is logged.
var Failed = Reply{Text: "Sorry, tocsin could not answer that; the error is in its log.", Ephemeral: true}

// SafeHandle calls handle(ctx, cmd) for an adapter, turning a panic into
// Failed and an error in log (with where, e.g. "slack"), so one bad
// command cannot take a server down.
func SafeHandle(ctx context.Context, handle func(context.Context, Command) Response, cmd Command,
	log *slog.Logger, where string) (resp Response) {
	defer func() {
		if p := recover(); p != nil {
			log.Error(where+": handler panicked", "command", cmd.Name, "user", cmd.User.ID,
				"panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			resp = Response{Now: Failed}
		}
	}()
	return handle(ctx, cmd)
}

// SafeLater runs a Response.Later for an adapter, turning a panic into
// Failed and an error in log.
func SafeLater(ctx context.Context, later func(context.Context) Reply, cmd Command,
	log *slog.Logger, where string) (r Reply) {
	defer func() {
		if p := recover(); p != nil {
			log.Error(where+": follow-up panicked", "command", cmd.Name, "user", cmd.User.ID,
				"panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			r = Failed
		}
	}()
	return later(ctx)
}
