package checks

import (
	"context"
	"time"
)

// checkTCP is the KindTCP check: resolve, connect within the target's
// Timeout, close. Latency is the connect time (resolution included).
func (r *Runner) checkTCP(ctx context.Context, t *Target) Result {
	start := time.Now()
	timeout := timeoutOf(t)
	checkCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c, err := dialAddrs(checkCtx, r.resolver, "tcp", t.TCP.Address)
	if err != nil {
		return Result{Reason: failReason(ctx, checkCtx, timeout, err)}
	}
	latency := time.Since(start)
	c.Close()
	return Result{OK: true, Latency: latency}
}
