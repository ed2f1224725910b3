// Package lru is a map bounded by the total weight of its values: when a
// value is stored or grows past the bound, the least recently used others
// go. The store's posting lists and metric values (store/postings.go,
// store/metriccache.go) weigh what they hold, not one per entry.
package lru

import (
	"container/list"
	"sync"
)

// Weighted is the map. V is compared by ==, so that a caller can tell the
// value it holds from one that replaced it (pointers, typically). Every
// entry weighs one more than its value says (its key and bookkeeping), so
// that entries of empty values are bounded too. Safe for concurrent use.
type Weighted[K comparable, V comparable] struct {
	mu      sync.Mutex
	entries map[K]*list.Element // of *entry[K, V]
	order   *list.List          // front: most recently used
	weight  int                 // of all entries
	max     int
}

type entry[K comparable, V comparable] struct {
	key    K
	value  V
	weight int
}

// New returns an empty map that holds at most max in weight.
func New[K comparable, V comparable](max int) *Weighted[K, V] {
	return &Weighted[K, V]{entries: map[K]*list.Element{}, order: list.New(), max: max}
}

// Get returns the value of k, and marks it used.
func (w *Weighted[K, V]) Get(k K) (V, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if e, ok := w.entries[k]; ok {
		w.order.MoveToFront(e)
		return e.Value.(*entry[K, V]).value, true
	}
	var zero V
	return zero, false
}

// GetOrAdd returns the value of k, marked used, or adds the one add makes,
// weighing 0 until SetWeight says otherwise.
func (w *Weighted[K, V]) GetOrAdd(k K, add func() V) V {
	w.mu.Lock()
	defer w.mu.Unlock()
	if e, ok := w.entries[k]; ok {
		w.order.MoveToFront(e)
		return e.Value.(*entry[K, V]).value
	}
	v := add()
	e := w.order.PushFront(&entry[K, V]{key: k, value: v, weight: 1})
	w.entries[k] = e
	w.weight++
	w.evict(e)
	return v
}

// Put stores v under k with the given weight, unless k holds a value that
// replace says to keep. A value heavier than the whole map is not stored
// (the value it replaces goes all the same). Others go, least recently
// used first, until the map is within its bound.
func (w *Weighted[K, V]) Put(k K, v V, weight int, replace func(old V) bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if e, ok := w.entries[k]; ok {
		old := e.Value.(*entry[K, V])
		if !replace(old.value) {
			return
		}
		w.remove(e)
	}
	if weight+1 > w.max {
		return
	}
	e := w.order.PushFront(&entry[K, V]{key: k, value: v, weight: weight + 1})
	w.entries[k] = e
	w.weight += weight + 1
	w.evict(e)
}

// SetWeight records that v, the value of k, now weighs weight, and evicts
// the least recently used others beyond the bound (never k: its caller is
// using it). It does nothing when k no longer holds v (evicted or
// replaced meanwhile: not counted any more).
func (w *Weighted[K, V]) SetWeight(k K, v V, weight int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	e, ok := w.entries[k]
	if !ok || e.Value.(*entry[K, V]).value != v {
		return
	}
	en := e.Value.(*entry[K, V])
	w.weight += weight + 1 - en.weight
	en.weight = weight + 1
	w.evict(e)
}

// Len is the number of entries.
func (w *Weighted[K, V]) Len() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.entries)
}

// Weight is the total weight of the entries, one per entry included.
func (w *Weighted[K, V]) Weight() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.weight
}

// evict removes the least recently used entries other than keep while the
// map is over its bound.
func (w *Weighted[K, V]) evict(keep *list.Element) {
	for w.weight > w.max {
		e := w.order.Back()
		if e == keep {
			e = e.Prev()
		}
		if e == nil {
			return // keep alone is over the bound
		}
		w.remove(e)
	}
}

func (w *Weighted[K, V]) remove(e *list.Element) {
	en := e.Value.(*entry[K, V])
	w.order.Remove(e)
	delete(w.entries, en.key)
	w.weight -= en.weight
}
