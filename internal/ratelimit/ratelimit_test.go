package ratelimit

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// clock is a hand-moved time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newLimiter(t *testing.T, rate float64, burst, maxKeys int) (*Limiter, *clock) {
	t.Helper()
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	l, err := New(Config{Rate: rate, Burst: burst, MaxKeys: maxKeys, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	return l, c
}

func TestBurstThenRate(t *testing.T) {
	l, c := newLimiter(t, 2, 5, 0) // 5 at once, then one every 500ms
	if l.Burst() != 5 || l.Window() != 2500*time.Millisecond {
		t.Fatalf("burst %d, window %s", l.Burst(), l.Window())
	}
	for i := range 5 {
		d := l.Allow("k")
		if !d.Allowed || d.Remaining != 4-i || d.Reset != time.Duration(i+1)*500*time.Millisecond {
			t.Fatalf("request %d: %+v", i+1, d)
		}
	}
	d := l.Allow("k")
	if d.Allowed || d.Remaining != 0 || d.RetryAfter != 500*time.Millisecond || d.Reset != 2500*time.Millisecond {
		t.Fatalf("sixth request: %+v", d)
	}
	// A refusal spends nothing: after the interval, one more.
	c.advance(499 * time.Millisecond)
	if d := l.Allow("k"); d.Allowed || d.RetryAfter != time.Millisecond {
		t.Fatalf("1ms early: %+v", d)
	}
	c.advance(time.Millisecond)
	if d := l.Allow("k"); !d.Allowed || d.Remaining != 0 {
		t.Fatalf("on time: %+v", d)
	}
	// Idle for longer than the window: the whole budget, no more.
	c.advance(time.Hour)
	if d := l.Allow("k"); !d.Allowed || d.Remaining != 4 || d.Reset != 500*time.Millisecond {
		t.Fatalf("after an hour: %+v", d)
	}
}

func TestKeysAreIndependent(t *testing.T) {
	l, _ := newLimiter(t, 1, 2, 0)
	for range 2 {
		l.Allow("a")
	}
	if d := l.Allow("a"); d.Allowed {
		t.Fatalf("a over its budget: %+v", d)
	}
	if d := l.Allow("b"); !d.Allowed || d.Remaining != 1 {
		t.Fatalf("b: %+v", d)
	}
}

// TestSustainedRate: a client sending as fast as it can gets the burst,
// then the rate, whatever the rounding of intervals.
func TestSustainedRate(t *testing.T) {
	l, c := newLimiter(t, 3, 10, 0) // interval 333.333333ms
	allowed := 0
	for range 60_000 { // a minute, a request each millisecond
		if l.Allow("k").Allowed {
			allowed++
		}
		c.advance(time.Millisecond)
	}
	if want := 10 + 3*60; allowed < want-1 || allowed > want {
		t.Fatalf("%d requests allowed in a minute, want about %d", allowed, want)
	}
}

func TestBoundedKeys(t *testing.T) {
	l, _ := newLimiter(t, 1, 1, 100)
	for i := range 1000 {
		l.Allow(fmt.Sprint(i))
	}
	if n := l.Keys(); n > 100 {
		t.Fatalf("%d keys held, bound 100", n)
	}
	// The most recent keys are still remembered, with their spending.
	if d := l.Allow("999"); d.Allowed {
		t.Fatalf("recent key forgot its spending: %+v", d)
	}
	// An evicted key starts again with a whole budget.
	if d := l.Allow("0"); !d.Allowed {
		t.Fatalf("evicted key: %+v", d)
	}
}

func TestConcurrentSpending(t *testing.T) {
	l, _ := newLimiter(t, MinRate, 1000, 0) // no refill during the test
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowed := 0
	for range 20 {
		wg.Go(func() {
			n := 0
			for range 100 {
				if l.Allow("k").Allowed {
					n++
				}
			}
			mu.Lock()
			allowed += n
			mu.Unlock()
		})
	}
	wg.Wait()
	if allowed != 1000 {
		t.Fatalf("%d of 2000 concurrent requests allowed, want exactly the burst of 1000", allowed)
	}
}

func TestConfigBounds(t *testing.T) {
	for _, c := range []Config{
		{Rate: 0, Burst: 1},
		{Rate: -1, Burst: 1},
		{Rate: 1e7, Burst: 1},
		{Rate: 1, Burst: 0},
		{Rate: 1, Burst: MaxBurst + 1},
		{Rate: 1, Burst: 1, MaxKeys: -1},
	} {
		if _, err := New(c); err == nil {
			t.Errorf("New(%+v) accepted", c)
		}
	}
	// The extremes do not overflow.
	l, err := New(Config{Rate: MinRate, Burst: MaxBurst})
	if err != nil {
		t.Fatal(err)
	}
	if d := l.Allow("k"); !d.Allowed || d.Remaining != MaxBurst-1 || d.Reset <= 0 {
		t.Fatalf("extreme budget: %+v", d)
	}
}
