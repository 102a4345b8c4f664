package bot

import (
	"sync"
	"time"
)

// rateKey is whose commands a limit counts: a user of one platform.
type rateKey struct {
	Platform string
	User     string
}

// rateLimiter is a sliding-window log per key: a command is allowed when
// fewer than limit of the same key's allowed commands lie within the last
// per. Its clock is the caller's (the now passed in), so tests need no
// sleeping. It is safe for concurrent use.
type rateLimiter struct {
	mu   sync.Mutex
	hits map[rateKey][]time.Time // allowed commands, oldest first
	// swept is when keys whose hits all expired were last dropped.
	swept time.Time
}

func newRateLimiter() *rateLimiter {
	return &rateLimiter{hits: map[rateKey][]time.Time{}}
}

// allow records a command of key at now and reports whether it is within
// limit per per; when it is not, nothing is recorded and retryIn is how
// long until the next command would be allowed. The limit and window are
// passed on every call, so a config reload applies at once (a lowered
// limit counts the hits already recorded).
func (l *rateLimiter) allow(key rateKey, now time.Time, limit int, per time.Duration) (ok bool, retryIn time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now, per)
	hits := live(l.hits[key], now, per)
	if len(hits) >= limit {
		// The hit that must leave the window before another fits.
		oldest := hits[len(hits)-limit]
		l.hits[key] = hits
		return false, oldest.Add(per).Sub(now)
	}
	hits = append(hits, now)
	// Never keep more than limit: older ones can no longer matter.
	if len(hits) > limit {
		hits = hits[len(hits)-limit:]
	}
	l.hits[key] = hits
	return true, 0
}

// sweep drops the keys with no hit left in the window, at most once a
// window, so the map does not grow with every user ever seen.
func (l *rateLimiter) sweep(now time.Time, per time.Duration) {
	if now.Sub(l.swept) < per {
		return
	}
	l.swept = now
	for k, hits := range l.hits {
		if len(live(hits, now, per)) == 0 {
			delete(l.hits, k)
		}
	}
}

// live returns the suffix of hits (oldest first) that lies within per
// before now.
func live(hits []time.Time, now time.Time, per time.Duration) []time.Time {
	i := 0
	for i < len(hits) && now.Sub(hits[i]) >= per {
		i++
	}
	return hits[i:]
}
