package store

import "sync"

// boundedMap is a concurrent map of about size entries for facts that never
// change once true (a dataset's name, a model's name): two generations,
// inserts go to cur, and when cur holds half the size it becomes prev and
// the old prev is dropped whole. Eviction is O(1) and reads share the lock;
// a hot entry that ages out is simply read from the database once more.
type boundedMap[K comparable, V any] struct {
	half      int
	mu        sync.RWMutex
	cur, prev map[K]V
}

func newBoundedMap[K comparable, V any](size int) *boundedMap[K, V] {
	half := max(size/2, 1)
	return &boundedMap[K, V]{half: half, cur: make(map[K]V, half)}
}

func (m *boundedMap[K, V]) get(k K) (V, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if v, ok := m.cur[k]; ok {
		return v, true
	}
	v, ok := m.prev[k]
	return v, ok
}

func (m *boundedMap[K, V]) put(k K, v V) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.cur) >= m.half {
		m.prev = m.cur
		m.cur = make(map[K]V, m.half)
	}
	m.cur[k] = v
}
