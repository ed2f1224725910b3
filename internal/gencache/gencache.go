// Package gencache is a bounded cache whose entries are invalidated by
// group (a model, say) without touching them (reads share the LRU's lock,
// invalidation takes none): every group
// hashes to one of a fixed set of generation counters, an entry remembers
// the generation its value was read under, and Get serves it only while that
// generation is still current. Invalidating a group bumps its counter, so
// every entry of the group (and of the few groups sharing its counter) goes
// stale at once.
//
// The protocol that keeps a value from outliving a change: take a Ticket
// before reading the source, Put the value with it afterwards, and have the
// writer Invalidate after its change is visible (after the commit). If the
// invalidation falls between the Ticket and the Put, the entry is stale from
// birth and never served; if it falls before the Ticket, the read began
// after the change was visible and saw it.
package gencache

import (
	"hash/maphash"
	"sync/atomic"

	"github.com/modelkeep/modelkeep/internal/lru"
)

// stripes is the number of generation counters. Groups sharing one are
// invalidated together: harmless, a few more misses.
const stripes = 1024

// Cache maps K to V. Safe for concurrent use.
type Cache[K comparable, V any] struct {
	entries *lru.Weighted[K, *entry[V]]
	seed    maphash.Seed
	gens    [stripes]atomic.Uint64
	epoch   atomic.Uint64 // bumped by InvalidateAll
}

type entry[V any] struct {
	value      V
	stripe     uint32
	gen, epoch uint64
}

// Ticket is a group's generation, taken before its source is read.
type Ticket struct {
	stripe     uint32
	gen, epoch uint64
}

// New returns an empty cache holding at most maxWeight in weight (Put
// says what each value weighs; every entry weighs one more).
func New[K comparable, V any](maxWeight int) *Cache[K, V] {
	return &Cache[K, V]{entries: lru.New[K, *entry[V]](maxWeight), seed: maphash.MakeSeed()}
}

func (c *Cache[K, V]) stripe(group string) uint32 {
	return uint32(maphash.String(c.seed, group) % stripes)
}

// Ticket returns group's current generation: take it before reading the
// value to Put.
func (c *Cache[K, V]) Ticket(group string) Ticket {
	i := c.stripe(group)
	// The epoch first: an InvalidateAll between the two loads then makes
	// the ticket stale rather than current.
	epoch := c.epoch.Load()
	return Ticket{stripe: i, epoch: epoch, gen: c.gens[i].Load()}
}

func (c *Cache[K, V]) current(stripe uint32, gen, epoch uint64) bool {
	return c.gens[stripe].Load() == gen && c.epoch.Load() == epoch
}

// Get returns k's value when it was Put under a ticket that no
// invalidation has overtaken since.
func (c *Cache[K, V]) Get(k K) (V, bool) {
	e, ok := c.entries.Get(k)
	if !ok || !c.current(e.stripe, e.gen, e.epoch) {
		var zero V
		return zero, false
	}
	return e.value, true
}

// Put stores v, read after t was taken, under k, weighing weight. A value
// whose group was invalidated since t is not stored.
func (c *Cache[K, V]) Put(t Ticket, k K, v V, weight int) {
	if !c.current(t.stripe, t.gen, t.epoch) {
		return
	}
	e := &entry[V]{value: v, stripe: t.stripe, gen: t.gen, epoch: t.epoch}
	c.entries.Put(k, e, weight, func(*entry[V]) bool { return true })
}

// Invalidate makes every value of group read before now stale.
func (c *Cache[K, V]) Invalidate(group string) {
	c.gens[c.stripe(group)].Add(1)
}

// InvalidateAll makes every value read before now stale.
func (c *Cache[K, V]) InvalidateAll() {
	c.epoch.Add(1)
}

// Len is the number of entries held, stale ones included until they are
// replaced or evicted.
func (c *Cache[K, V]) Len() int { return c.entries.Len() }
