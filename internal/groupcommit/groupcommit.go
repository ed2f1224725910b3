// Package groupcommit combines concurrent calls into batches, each run by
// one of its callers: the group commit of databases, for work whose fixed
// cost (a statement, a transaction's commit and its log flush) dwarfs its
// cost per item. A burst of n concurrent downloads then writes its audit
// events in one INSERT, and n concurrent creates of versions share one
// transaction.
//
// There is no goroutine of its own: the first caller to find no batch
// running runs what is pending, itself included; callers arriving
// meanwhile wait, and when the batch ends the first of them runs the next
// one. Under one call at a time nothing waits and nothing changes.
package groupcommit

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/modelkeep/modelkeep/internal/turn"
)

// Batcher runs batches of items of type T, each giving a result of type R.
// The zero value is ready to use; it must not be copied after first use.
type Batcher[T, R any] struct {
	// Max bounds the items of one batch; 0 means no bound.
	Max int

	mu      sync.Mutex
	pending []*call[T, R]
	running bool

	batches, items atomic.Uint64 // run so far (Stats)
}

// Item is one caller's item with that caller's context, for the values it
// carries (who asks, from which request) and, when the batch honours it,
// its cancellation.
type Item[T any] struct {
	Ctx   context.Context
	Value T
}

// Result is one item's outcome.
type Result[R any] struct {
	Value R
	Err   error
}

// ErrPanicked is the result of every item of a batch whose run panicked.
var ErrPanicked = errors.New("the batch panicked")

type call[T, R any] struct {
	item Item[T]
	done chan Result[R] // its batch's outcome for it (buffered)
	lead chan struct{}  // closed when this caller is to run the next batch
}

// Do queues item and returns its result once the batch holding it has run.
// run gets the batch, its items in the order they were queued, and must
// return one result per item, in the same order. Its context is that of
// the caller running it without its cancellation: a caller that went away
// must not fail the others' items, so run sets its own time limit.
//
// A caller waiting for its batch does not give up when ctx ends: it may be
// the one to run the next batch.
func (b *Batcher[T, R]) Do(ctx context.Context, item T, run func(ctx context.Context, batch []Item[T]) []Result[R]) (R, error) {
	c := &call[T, R]{item: Item[T]{Ctx: ctx, Value: item}, done: make(chan Result[R], 1), lead: make(chan struct{})}
	b.mu.Lock()
	b.pending = append(b.pending, c)
	leader := !b.running
	b.running = true
	b.mu.Unlock()
	if !leader {
		// Waiting uses no CPU: the request's turn to run goes to the next
		// one in line (internal/turn), which may join the next batch.
		back := turn.Away(ctx)
		select {
		case r := <-c.done:
			back()
			return r.Value, r.Err
		case <-c.lead:
			back()
		}
	}
	b.runNext(context.WithoutCancel(ctx), run)
	r := <-c.done
	return r.Value, r.Err
}

// runNext runs up to Max pending items, reports each outcome to its
// caller, and hands the next batch to the first caller still waiting (or
// ends the running).
func (b *Batcher[T, R]) runNext(ctx context.Context, run func(context.Context, []Item[T]) []Result[R]) {
	b.mu.Lock()
	n := len(b.pending)
	if b.Max > 0 {
		n = min(n, b.Max)
	}
	batch := b.pending[:n:n]
	b.pending = b.pending[n:]
	b.mu.Unlock()

	b.batches.Add(1)
	b.items.Add(uint64(len(batch)))
	items := make([]Item[T], len(batch))
	for i, c := range batch {
		items[i] = c.item
	}
	// Deferred, so that a panicking run fails its own batch and hands on
	// instead of leaving every later caller waiting for good.
	var results []Result[R]
	defer func() {
		for i, c := range batch {
			if i < len(results) {
				c.done <- results[i]
			} else {
				c.done <- Result[R]{Err: ErrPanicked}
			}
		}
		b.mu.Lock()
		if len(b.pending) > 0 {
			close(b.pending[0].lead)
		} else {
			b.running = false
		}
		b.mu.Unlock()
	}()
	out := run(ctx, items)
	if len(out) != len(items) {
		panic("groupcommit: run returned a result count unlike its batch's")
	}
	results = out
}

// Stats reports how many batches ran so far and how many items they held:
// the mean batch size is their ratio.
func (b *Batcher[T, R]) Stats() (batches, items uint64) {
	return b.batches.Load(), b.items.Load()
}

// Pending is how many items wait for a batch to take them.
func (b *Batcher[T, R]) Pending() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.pending)
}

// Same is n results of err, for a batch that succeeds or fails as a whole.
func Same[R any](n int, err error) []Result[R] {
	out := make([]Result[R], n)
	for i := range out {
		out[i].Err = err
	}
	return out
}
