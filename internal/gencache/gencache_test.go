package gencache

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

func TestGetServesOnlyCurrentGenerations(t *testing.T) {
	tests := []struct {
		name string
		// between runs after the ticket is taken and before the Put;
		// after runs after the Put.
		between, after func(c *Cache[string, int], other string)
		want           bool
	}{
		{name: "nothing happens", want: true},
		{name: "group invalidated before the put",
			between: func(c *Cache[string, int], _ string) { c.Invalidate("m") }},
		{name: "group invalidated after the put",
			after: func(c *Cache[string, int], _ string) { c.Invalidate("m") }},
		{name: "everything invalidated before the put",
			between: func(c *Cache[string, int], _ string) { c.InvalidateAll() }},
		{name: "everything invalidated after the put",
			after: func(c *Cache[string, int], _ string) { c.InvalidateAll() }},
		{name: "another group invalidated", want: true,
			between: func(c *Cache[string, int], other string) { c.Invalidate(other) },
			after:   func(c *Cache[string, int], other string) { c.Invalidate(other) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New[string, int](100)
			other := otherStripe(c, "m")
			tk := c.Ticket("m")
			if tt.between != nil {
				tt.between(c, other)
			}
			c.Put(tk, "m/1", 42, 1)
			if tt.after != nil {
				tt.after(c, other)
			}
			v, ok := c.Get("m/1")
			if ok != tt.want || (ok && v != 42) {
				t.Fatalf("Get = %d, %v; want 42, %v", v, ok, tt.want)
			}
		})
	}
}

func TestRefillAfterInvalidation(t *testing.T) {
	c := New[string, int](100)
	c.Put(c.Ticket("m"), "m/1", 1, 1)
	c.Invalidate("m")
	if _, ok := c.Get("m/1"); ok {
		t.Fatal("served a value read before the invalidation")
	}
	c.Put(c.Ticket("m"), "m/1", 2, 1)
	if v, ok := c.Get("m/1"); !ok || v != 2 {
		t.Fatalf("Get = %d, %v; want 2, true", v, ok)
	}
}

func TestBoundedByWeight(t *testing.T) {
	c := New[int, int](10)
	for i := range 20 {
		c.Put(c.Ticket("m"), i, i, 1) // each weighs 2
	}
	if n := c.Len(); n != 5 {
		t.Fatalf("Len = %d, want 5", n)
	}
	if _, ok := c.Get(19); !ok {
		t.Fatal("the newest entry was evicted")
	}
	if _, ok := c.Get(0); ok {
		t.Fatal("the oldest entry was kept")
	}
}

// TestNeverOlderThanTheLastInvalidation runs a writer that changes the
// source and then invalidates, against readers that fill and read the
// cache: a Get must never return a value older than the last change whose
// invalidation finished before the Get began.
func TestNeverOlderThanTheLastInvalidation(t *testing.T) {
	c := New[string, int64](100)
	var source, invalidated atomic.Int64
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := int64(1); i <= 20000; i++ {
			source.Store(i)
			c.Invalidate("m")
			invalidated.Store(i)
			runtime.Gosched() // let the readers fill in between
		}
		close(stop)
	}()
	var stale atomic.Int64
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				floor := invalidated.Load()
				if v, ok := c.Get("m/1"); ok {
					if v < floor {
						stale.Add(1)
					}
					continue
				}
				tk := c.Ticket("m")
				v := source.Load()
				runtime.Gosched() // a read takes a while
				c.Put(tk, "m/1", v, 1)
			}
		}()
	}
	wg.Wait()
	if n := stale.Load(); n > 0 {
		t.Fatalf("%d reads served a value older than an invalidation that had finished", n)
	}
}

// otherStripe returns a group whose counter is not group's.
func otherStripe(c *Cache[string, int], group string) string {
	for i := 0; ; i++ {
		g := fmt.Sprintf("other-%d", i)
		if c.stripe(g) != c.stripe(group) {
			return g
		}
	}
}
