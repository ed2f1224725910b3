package store

import (
	"container/list"
	"context"
	"sync"

	"github.com/modelkeep/modelkeep"
)

// The metric cache holds, per model and metric key, every version's latest
// value (latest_metrics), so that a version list's metric thresholds are
// checked in memory on the versions its posting lists give (postings.go)
// instead of one database look-up per candidate.
//
// Unlike tags, metrics change: AddMetrics may record a newer point at any
// time. Each AddMetrics call bumps models.metrics_rev under the model row's
// lock and stamps the latest_metrics rows it writes with the new revision
// (migrations 0039, 0040), so revisions are committed in order: a list that
// reads metrics_rev = R knows every row stamped up to R is visible, and the
// cache catches up by reading the rows stamped after the revision it holds.
// The values a list sees are then exactly the committed ones as of R.
type metricCache struct {
	mu      sync.Mutex
	entries map[metricKey]*list.Element // of *metricValues
	lru     *list.List
	size    int // values held in all
	max     int
}

// metricCacheEntries bounds the metric cache: about 40 MiB of values.
const metricCacheEntries = 1 << 20

type metricKey struct {
	modelID   int64
	modelBorn int64
	key       string
}

// metricValues is one model's latest values of one metric, by version id,
// as of revision rev.
type metricValues struct {
	key    metricKey
	mu     sync.RWMutex
	rev    int64 // -1: nothing read yet
	values map[int64]float64
	// counted is how many values the cache's size counts for this entry;
	// guarded by the cache's mu, not mu.
	counted int
}

func newMetricCache(max int) *metricCache {
	return &metricCache{entries: map[metricKey]*list.Element{}, lru: list.New(), max: max}
}

// lookup returns the version's value and whether it has one.
func (mv *metricValues) lookup(versionID int64) (float64, bool) {
	mv.mu.RLock()
	defer mv.mu.RUnlock()
	v, ok := mv.values[versionID]
	return v, ok
}

// metricValuesOf returns the values of metric key for model m, caught up
// with revision m.metricsRev.
func (s *Store) metricValuesOf(ctx context.Context, m modelAt, key string) (*metricValues, error) {
	mc := s.metricCache
	k := metricKey{modelID: m.id, modelBorn: m.born, key: key}
	mc.mu.Lock()
	var mv *metricValues
	if e, ok := mc.entries[k]; ok {
		mc.lru.MoveToFront(e)
		mv = e.Value.(*metricValues)
	} else {
		mv = &metricValues{key: k, rev: -1, values: map[int64]float64{}}
		mc.entries[k] = mc.lru.PushFront(mv)
	}
	mc.mu.Unlock()

	mv.mu.RLock()
	current := mv.rev >= m.metricsRev
	mv.mu.RUnlock()
	if current {
		return mv, nil
	}
	mv.mu.Lock()
	defer mv.mu.Unlock()
	if mv.rev >= m.metricsRev {
		return mv, nil // another list caught up meanwhile
	}
	rows, err := s.db.WithContext(ctx).Raw("SELECT version_id, value FROM latest_metrics WHERE model_id = ? AND metric_key = ? AND rev > ? AND rev <= ?",
		m.id, key, mv.rev, m.metricsRev).Rows()
	if err != nil {
		return nil, dbErr("read metric values", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var v float64
		if err := rows.Scan(&id, &v); err != nil {
			return nil, dbErr("read metric values", err)
		}
		mv.values[id] = v
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr("read metric values", err)
	}
	mv.rev = m.metricsRev
	mc.grew(mv, len(mv.values))
	return mv, nil
}

// grew records that mv now holds n values and evicts the least recently
// used entries beyond the budget (mv itself last: a list is using it).
func (mc *metricCache) grew(mv *metricValues, n int) {
	mc.mu.Lock()
	defer mc.mu.Unlock()
	if e, ok := mc.entries[mv.key]; !ok || e.Value.(*metricValues) != mv {
		return // evicted meanwhile: not counted any more
	}
	mc.size += n - mv.counted
	mv.counted = n
	for mc.size > mc.max && mc.lru.Len() > 1 {
		e := mc.lru.Back()
		old := e.Value.(*metricValues)
		if old == mv {
			mc.lru.MoveToFront(e)
			continue
		}
		mc.lru.Remove(e)
		delete(mc.entries, old.key)
		mc.size -= old.counted
	}
}

// metricCondition is a metric threshold checked in memory.
type metricCondition struct {
	values *metricValues
	cond   *modelkeep.Condition
}

// cachableMetric reports whether cond is a metric comparison the metric
// cache can check: metrics.<key> with =, !=, <, <=, >, >= or IN numbers.
func (c *filterCompiler) cachableMetric(cond *modelkeep.Condition) bool {
	if cond.Field.Name != "metrics" || cond.Field.Key == "" || cond.Op == modelkeep.OpLike || len(cond.Values) == 0 {
		return false
	}
	for _, v := range cond.Values {
		if _, ok := v.(float64); !ok {
			return false
		}
	}
	_, ok := c.keyedTable(cond)
	return ok
}

// matches reports whether the version meets the condition, as the SQL does:
// a version without the metric meets none, != included.
func (mc metricCondition) matches(versionID int64) bool {
	v, ok := mc.values.lookup(versionID)
	if !ok {
		return false
	}
	switch mc.cond.Op {
	case modelkeep.OpIn:
		for _, x := range mc.cond.Values {
			if v == x.(float64) {
				return true
			}
		}
		return false
	}
	x := mc.cond.Values[0].(float64)
	switch mc.cond.Op {
	case modelkeep.OpEq:
		return v == x
	case modelkeep.OpNe:
		return v != x
	case modelkeep.OpLt:
		return v < x
	case modelkeep.OpLe:
		return v <= x
	case modelkeep.OpGt:
		return v > x
	case modelkeep.OpGe:
		return v >= x
	}
	return false
}
