package store

import (
	"context"
	"sync"

	"github.com/modelkeep/modelkeep/search"

	"github.com/modelkeep/modelkeep/internal/lru"
)

// The metric cache holds, per model and metric key, every version's latest
// value (latest_metrics), so that a version list's metric thresholds are
// checked in memory on the versions its posting lists give (postings.go)
// instead of one database look-up per candidate.
//
// Unlike tags, metrics change: AddMetrics may record a newer point at any
// time. Each AddMetrics call bumps models.metrics_rev under the model row's
// lock and stamps the latest_metrics rows it writes with the new revision
// (migrations 0039, 0040), so revisions are committed in order and one
// statement sees every row stamped up to some revision. The cache catches up
// by reading the rows stamped after the revision it holds, with no upper
// bound: a row stamped at or below what the list read may have been
// overwritten by a newer call since, and carries the newer stamp. A list
// that read metrics_rev = R then sees values at least as new as R.
type metricCache struct {
	values *lru.Weighted[metricKey, *metricValues] // weighing their values
}

// metricCacheEntries bounds the metric cache: about 40 MiB of values.
const metricCacheEntries = 1 << 20

type metricKey struct {
	modelID int64
	key     string
}

// metricValues is one model's latest values of one metric, by version id,
// as of revision rev.
type metricValues struct {
	// refresh serialises catch-ups; mu guards rev and values, and is held
	// for writing only while a catch-up applies what it read, not while it
	// queries.
	refresh sync.Mutex
	mu      sync.RWMutex
	rev     int64 // -1: nothing read yet
	values  map[int64]float64
}

func newMetricCache(max int) *metricCache {
	return &metricCache{values: lru.New[metricKey, *metricValues](max)}
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
	k := metricKey{modelID: m.id, key: key}
	mv := mc.values.GetOrAdd(k, func() *metricValues {
		return &metricValues{rev: -1, values: map[int64]float64{}}
	})

	current := func() (int64, bool) {
		mv.mu.RLock()
		defer mv.mu.RUnlock()
		return mv.rev, mv.rev >= m.metricsRev
	}
	if _, ok := current(); ok {
		return mv, nil
	}
	mv.refresh.Lock()
	defer mv.refresh.Unlock()
	from, ok := current()
	if ok {
		return mv, nil // another list caught up meanwhile
	}
	type point struct {
		id    int64
		value float64
	}
	var points []point
	newest := m.metricsRev
	rows, err := s.db.WithContext(ctx).Raw("SELECT version_id, value, rev FROM latest_metrics WHERE model_id = ? AND metric_key = ? AND rev > ?",
		m.id, key, from).Rows()
	if err != nil {
		return nil, dbErr("read metric values", err)
	}
	defer rows.Close()
	for rows.Next() {
		var p point
		var rev int64
		if err := rows.Scan(&p.id, &p.value, &rev); err != nil {
			return nil, dbErr("read metric values", err)
		}
		points = append(points, p)
		newest = max(newest, rev)
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr("read metric values", err)
	}
	mv.mu.Lock()
	for _, p := range points {
		mv.values[p.id] = p.value
	}
	// Revisions commit in order, so the statement saw every row up to the
	// newest stamp it read.
	mv.rev = newest
	n := len(mv.values)
	mv.mu.Unlock()
	// Evicts the least recently used others beyond the budget (never mv:
	// a list is using it); nothing when mv was evicted meanwhile.
	mc.values.SetWeight(k, mv, n)
	return mv, nil
}

// metricCondition is a metric threshold checked in memory.
type metricCondition struct {
	values *metricValues
	cond   *search.Condition
}

// cachableMetric reports whether cond is a metric comparison the metric
// cache can check: metrics.<key> with =, !=, <, <=, >, >= or IN numbers.
func (c *filterCompiler) cachableMetric(cond *search.Condition) bool {
	if cond.Field.Name != "metrics" || cond.Field.Key == "" || cond.Op == search.OpLike || len(cond.Values) == 0 {
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
	case search.OpIn:
		for _, x := range mc.cond.Values {
			if v == x.(float64) {
				return true
			}
		}
		return false
	}
	x := mc.cond.Values[0].(float64)
	switch mc.cond.Op {
	case search.OpEq:
		return v == x
	case search.OpNe:
		return v != x
	case search.OpLt:
		return v < x
	case search.OpLe:
		return v <= x
	case search.OpGt:
		return v > x
	case search.OpGe:
		return v >= x
	}
	return false
}
