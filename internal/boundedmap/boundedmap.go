// Package boundedmap is a concurrent map of about a fixed number of
// entries, for caches of facts that are exact whenever they are present (a
// verified token, a version's unchangeable body, a dataset's name).
//
// It keeps two generations: inserts go to the current one, and when it holds
// half the size it becomes the previous one and the old previous one is
// dropped whole. Eviction is O(1), lookups share the lock, and an entry
// found in the previous generation moves to the current one, so what is in
// use stays; what ages out is simply read again once.
package boundedmap

import "sync"

// Map is safe for concurrent use. A nil *Map holds nothing: Get always
// misses and Put does nothing (a cache turned off).
type Map[K comparable, V any] struct {
	half      int
	mu        sync.RWMutex
	cur, prev map[K]V
}

// New returns a Map of about size entries (at least 2), or nil when size is
// not positive.
func New[K comparable, V any](size int) *Map[K, V] {
	if size <= 0 {
		return nil
	}
	half := max(size/2, 1)
	return &Map[K, V]{half: half, cur: make(map[K]V, half)}
}

// Get returns the value of k.
func (m *Map[K, V]) Get(k K) (V, bool) {
	if m == nil {
		var zero V
		return zero, false
	}
	m.mu.RLock()
	v, inCur := m.cur[k]
	found := inCur
	if !inCur {
		v, found = m.prev[k]
	}
	m.mu.RUnlock()
	if found && !inCur {
		m.Put(k, v) // still in use: into the current generation
	}
	return v, found
}

// Put sets the value of k.
func (m *Map[K, V]) Put(k K, v V) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.cur) >= m.half {
		m.prev = m.cur
		m.cur = make(map[K]V, m.half)
	}
	m.cur[k] = v
}

// Delete removes k.
func (m *Map[K, V]) Delete(k K) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.cur, k)
	delete(m.prev, k)
}

// Len reports the number of entries held.
func (m *Map[K, V]) Len() int {
	if m == nil {
		return 0
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.cur) + len(m.prev)
}
