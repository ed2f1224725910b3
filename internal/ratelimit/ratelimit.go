// Package ratelimit keeps request budgets: for each key (a token, a client
// address) a budget of at most Burst requests at once, which refills at
// Rate requests per second.
//
// It is GCRA, the generic cell rate algorithm (ITU-T I.371; the token
// bucket's equivalent that keeps one number per key instead of a count and
// a time): each key holds the theoretical arrival time (TAT) of its next
// request, which every allowed request moves one emission interval (1/Rate)
// later, from now if it lies in the past. A request is allowed while the
// new TAT is at most Burst intervals ahead of now; how far it is ahead says
// how much of the budget is spent, and so how many requests remain and when
// the budget is whole again. The TAT is updated with a compare-and-swap:
// no lock is held while deciding.
//
// Memory is bounded: keys live in an LRU map of at most MaxKeys entries
// (internal/lru). A key evicted forgets what it spent and starts again with
// a whole budget; only the least recently seen keys are evicted, so a
// client that keeps sending keeps its place.
//
// Only the standard library and internal/lru: golang.org/x/time/rate's
// Limiter is one budget, not a keyed and bounded set of them, and it would
// still need this map around it; GCRA takes a dozen lines.
package ratelimit

import (
	"errors"
	"fmt"
	"math"
	"sync/atomic"
	"time"

	"github.com/modelkeep/modelkeep/internal/lru"
)

// Config describes a budget.
type Config struct {
	// Rate is the sustained number of requests a key may make per second,
	// from MinRate to MaxRate.
	Rate float64
	// Burst is how many requests a key with an unspent budget may make at
	// once, from 1 to MaxBurst.
	Burst int
	// MaxKeys bounds the keys held (DefaultMaxKeys when 0).
	MaxKeys int
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Bounds of a Config.
const (
	MinRate        = 0.001 // one request in about 17 minutes
	MaxRate        = 1e6
	MaxBurst       = 1_000_000
	DefaultMaxKeys = 50_000 // a few MiB per limiter
)

// Limiter is a set of budgets of one Config, one per key. Safe for
// concurrent use.
type Limiter struct {
	interval int64 // nanoseconds between requests at the sustained rate
	burst    int
	limit    int64 // burst * interval: how far ahead of now a TAT may be
	start    time.Time
	now      func() time.Time
	keys     *lru.Weighted[string, *tat]
}

// tat is a key's theoretical arrival time, in nanoseconds since the
// limiter's start.
type tat struct{ ns atomic.Int64 }

// New returns a Limiter, or an error when c is out of bounds.
func New(c Config) (*Limiter, error) {
	switch {
	case math.IsNaN(c.Rate) || c.Rate < MinRate || c.Rate > MaxRate:
		return nil, fmt.Errorf("rate %g: want %g to %g requests per second", c.Rate, MinRate, MaxRate)
	case c.Burst < 1 || c.Burst > MaxBurst:
		return nil, fmt.Errorf("burst %d: want 1 to %d requests", c.Burst, MaxBurst)
	case c.MaxKeys < 0:
		return nil, errors.New("negative MaxKeys")
	}
	if c.MaxKeys == 0 {
		c.MaxKeys = DefaultMaxKeys
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	interval := max(int64(math.Round(float64(time.Second)/c.Rate)), 1)
	return &Limiter{
		interval: interval, burst: c.Burst, limit: int64(c.Burst) * interval,
		start: c.Now(), now: c.Now, keys: lru.New[string, *tat](c.MaxKeys),
	}, nil
}

// Decision is the answer to one request.
type Decision struct {
	Allowed bool
	// Remaining is how many more requests the key may make at once.
	Remaining int
	// RetryAfter is, for a refused request, how long until the key may
	// make one again.
	RetryAfter time.Duration
	// Reset is how long until the key's budget is whole again.
	Reset time.Duration
}

// Allow spends one request of key's budget, if there is one left.
func (l *Limiter) Allow(key string) Decision {
	t := l.keys.GetOrAdd(key, func() *tat { return new(tat) })
	now := int64(l.now().Sub(l.start))
	for {
		old := t.ns.Load()
		next := max(old, now) + l.interval
		if ahead := next - now; ahead > l.limit {
			return Decision{RetryAfter: time.Duration(ahead - l.limit), Reset: time.Duration(old - now)}
		}
		if t.ns.CompareAndSwap(old, next) {
			return Decision{
				Allowed:   true,
				Remaining: int((l.limit - (next - now)) / l.interval),
				Reset:     time.Duration(next - now),
			}
		}
	}
}

// Burst is the budget's size: the requests a key may make at once.
func (l *Limiter) Burst() int { return l.burst }

// Window is how long a spent budget takes to refill: Burst requests per
// Window is the sustained rate.
func (l *Limiter) Window() time.Duration { return time.Duration(l.limit) }

// Keys is the number of keys held.
func (l *Limiter) Keys() int { return l.keys.Len() }
