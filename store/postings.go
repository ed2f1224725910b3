package store

import (
	"context"
	"math"
	"slices"

	"github.com/modelkeep/modelkeep/search"

	"github.com/modelkeep/modelkeep"
	"github.com/modelkeep/modelkeep/internal/lru"
)

// A filter such as tags.team = "risk" AND tags.tier = "gold" AND
// metrics.auc >= 0.9 over the newest versions of a big model needs the
// versions that have both tags. Read from the database, that is one index
// look-up per candidate (compileDrivenVersionList): thousands per page. The
// posting cache keeps, per model and tag or param equality, the sorted list
// of the versions that have it, and intersects the lists in memory; only the
// survivors go to the database, for the remaining conditions and their rows.
//
// The lists are exact, not a cache that may be stale, because of three
// facts of the schema (the tests of postings_test.go hold them):
//   - a version's tags and params never change after CreateVersion (there
//     is no call that changes them; one that comes must bump the model out
//     of this cache);
//   - a model created again gets a new id (AUTOINCREMENT on SQLite, as
//     InnoDB does), so it never finds the old model's lists; a pending
//     version deleted on its own (DeleteVersion) may stay in a list, but
//     its row id is never used again, so the read of the candidates
//     (compileCandidateList) finds no row for it and the list goes on to
//     the next batch: a stale entry costs a look-up, never a wrong answer;
//   - numbers are handed out under the model row's lock, so when
//     models.latest_version reads N, versions 1..N are all committed.
//
// So a list that covers versions 1..upTo stays right, and catching up with
// a model that has grown reads only the versions after upTo. Lists live in
// one LRU bounded by postingCacheEntries versions in all (12 bytes each).
type postingCache struct {
	lists *lru.Weighted[postingKey, *postingList] // weighing their versions
}

// postingCacheEntries bounds the cache: about 48 MiB of lists.
const postingCacheEntries = 4 << 20

type postingKey struct {
	modelID int64
	table   string
	key     string
	value   string
}

// postingList holds the versions 1..upTo of a model that have one key and
// value, by ascending number.
type postingList struct {
	key     postingKey
	upTo    int
	numbers []int32
	ids     []int64
}

func newPostingCache(max int) *postingCache {
	return &postingCache{lists: lru.New[postingKey, *postingList](max)}
}

// cachable reports whether cond can be answered from a posting list: a
// drivable equality whose value is shorter than a value head (so that the
// head is the value, and the index alone answers it).
func (c *filterCompiler) cachable(cond *search.Condition) bool {
	if !c.drivable(cond) {
		return false
	}
	kt, _ := c.keyedTable(cond)
	_, whole, _ := valueHeads(kt, cond)
	return !whole
}

// modelAt is what a version list knows of its model when it starts.
type modelAt struct {
	id         int64
	latest     int   // models.latest_version
	metricsRev int64 // models.metrics_rev
}

// postings returns the list of the model's versions 1..m.latest that have
// cond's key and value, reading from the database only the versions the
// cached list does not cover yet. The list returned must not be changed.
func (s *Store) postings(ctx context.Context, m modelAt, kt keyedTable, cond *search.Condition) (*postingList, error) {
	key := postingKey{modelID: m.id, table: kt.table, key: cond.Field.Key, value: cond.Values[0].(string)}
	pc := s.postingCache
	cached, _ := pc.lists.Get(key)
	if cached != nil && cached.upTo >= m.latest {
		return cached, nil
	}
	upTo := 0
	if cached != nil {
		upTo = cached.upTo
	}
	// The versions after upTo, up to the latest committed when the list
	// started: reading past it could see a version whose predecessors are
	// not all visible to this read yet.
	db := s.db.WithContext(ctx)
	query, args := postingsQuery(s.dialect, kt, m.id, key.key, key.value, upTo, m.latest)
	rows, err := db.Raw(query, args...).Rows()
	if err != nil {
		return nil, dbErr("read search postings", err)
	}
	defer rows.Close()
	next := &postingList{key: key, upTo: m.latest}
	if cached != nil {
		// A new list, never the cached one changed: other requests may be
		// reading it.
		next.numbers = append(make([]int32, 0, len(cached.numbers)+16), cached.numbers...)
		next.ids = append(make([]int64, 0, len(cached.ids)+16), cached.ids...)
	}
	for rows.Next() {
		var n int32
		var id int64
		if err := rows.Scan(&n, &id); err != nil {
			return nil, dbErr("read search postings", err)
		}
		next.numbers = append(next.numbers, n)
		next.ids = append(next.ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr("read search postings", err)
	}
	pc.put(next)
	return next, nil
}

// put stores l, replacing a shorter list of the same key (never a longer
// one: another request may have got further meanwhile), and evicts the
// least recently used lists beyond the budget. A list larger than the
// whole cache is used once, not kept.
func (pc *postingCache) put(l *postingList) {
	pc.lists.Put(l.key, l, len(l.numbers), func(old *postingList) bool { return old.upTo < l.upTo })
}

// intersectNewest calls yield with the (number, id) pairs present in every
// list, newest first, starting below before (0: from the newest), until
// yield returns false.
func intersectNewest(lists []*postingList, before int, yield func(number int32, id int64) bool) {
	if len(lists) == 0 {
		return
	}
	pos := make([]int, len(lists)) // index of the next candidate in each list, walking down
	for i, l := range lists {
		pos[i] = len(l.numbers) - 1
		if before > 0 && before <= math.MaxInt32 {
			// Just below the first entry at or above before.
			first, _ := slices.BinarySearch(l.numbers, int32(before))
			pos[i] = first - 1
		}
	}
	for {
		// The highest number every list can still reach.
		target := int32(-1)
		for i, l := range lists {
			if pos[i] < 0 {
				return
			}
			if n := l.numbers[pos[i]]; target < 0 || n < target {
				target = n
			}
		}
		all := true
		for i, l := range lists {
			for pos[i] >= 0 && l.numbers[pos[i]] > target {
				pos[i]--
			}
			if pos[i] < 0 {
				return
			}
			if l.numbers[pos[i]] != target {
				all = false
			}
		}
		if !all {
			continue
		}
		if !yield(target, lists[0].ids[pos[0]]) {
			return
		}
		for i := range lists {
			pos[i]--
		}
	}
}

// Batches of candidates a posting-list answer sends to the database: the
// first is a few pages' worth (the other conditions may drop most), the
// next ones grow, up to what one statement may bind.
const firstCandidateBatch = 8

// maxCandidateBatch is the most candidate ids one statement binds: the
// SQLite driver's cost of binding grows faster than the count (1 ms for
// 512 ids, 87 ms for 8,192), MySQL's does not.
var maxCandidateBatch = map[string]int{dialectMySQL: 8192, dialectSQLite: 512}

// listFromPostings answers a version list in the default order whose filter
// is an AND holding cachable tag or param equalities: their posting lists
// are intersected newest first, and batches of the versions in all of them
// go to the database with the rest of the filter (compileCandidateList)
// until the page is full. ok is false when the list does not qualify.
func (s *Store) listFromPostings(ctx context.Context, m modelAt, f modelkeep.VersionFilter) ([]modelkeep.Version, bool, error) {
	if s.postingCache == nil || s.inTx || f.Where == nil || f.Where.Root == nil || !f.Order.IsZero() {
		return nil, false, nil
	}
	c := &filterCompiler{dialect: s.dialect, target: modelkeep.FilterVersions, modelID: m.id}
	terms := andTerms(f.Where.Root)
	// The posting lists first: without one this path does not apply, and
	// the metric values are not worth reading.
	var lists []*postingList
	var metricConds []*search.Condition
	var rest []search.Expr
	for _, t := range terms {
		cond, isCond := t.(*search.Condition)
		switch {
		case isCond && c.cachable(cond):
			kt, _ := c.keyedTable(cond)
			l, err := s.postings(ctx, m, kt, cond)
			if err != nil {
				return nil, false, err
			}
			lists = append(lists, l)
		case isCond && s.metricCache != nil && c.cachableMetric(cond):
			metricConds = append(metricConds, cond)
		default:
			rest = append(rest, t)
		}
	}
	if len(lists) == 0 {
		return nil, false, nil
	}
	metrics := make([]metricCondition, len(metricConds))
	for i, cond := range metricConds {
		mv, err := s.metricValuesOf(ctx, m, cond.Field.Key)
		if err != nil {
			return nil, false, err
		}
		metrics[i] = metricCondition{values: mv, cond: cond}
	}
	// When the database has nothing left to check, every candidate is an
	// answer: a batch is exactly what the page lacks.
	exact := len(rest) == 0 && f.Stage == "" && f.Status == ""
	maxBatch := maxCandidateBatch[s.dialect]
	batch := maxBatch
	if f.Limit > 0 {
		batch = min(max(firstCandidateBatch*f.Limit, 64), maxBatch)
		if exact {
			batch = min(f.Limit, maxBatch)
		}
	}
	var out []modelkeep.Version
	before := f.BeforeNumber
	for {
		var ids []int64
		var last int32
		exhausted := true
		intersectNewest(lists, before, func(n int32, id int64) bool {
			last = n
			for _, mc := range metrics {
				if !mc.matches(id) {
					return true
				}
			}
			ids = append(ids, id)
			if len(ids) < batch {
				return true
			}
			exhausted = false
			return false
		})
		if len(ids) == 0 {
			return out, true, nil
		}
		need := 0
		if f.Limit > 0 {
			need = f.Limit - len(out)
		}
		query, args, err := compileCandidateList(s.dialect, m, f, rest, ids, need)
		if err != nil {
			return nil, false, err
		}
		vs, err := s.readVersions(ctx, s.db.WithContext(ctx).Raw(query, args...), f.Model, m, describeList(f.Model))
		if err != nil {
			return nil, false, err
		}
		out = append(out, vs...)
		if f.Limit > 0 && len(out) >= f.Limit || exhausted {
			return out, true, nil
		}
		before, batch = int(last), min(batch*4, maxBatch)
	}
}

// compileCandidateList compiles the read of the candidates ids (versions of
// m that passed the posting lists) that also meet rest and f's stage and
// status, newest first, at most need (0: all). When rest has keyed
// conditions the first one's table is read first, by primary key, and the
// others are joined to it as in compileDrivenVersionList, so that versions
// rows are read only for the survivors.
func compileCandidateList(dialect string, m modelAt, f modelkeep.VersionFilter, rest []search.Expr, ids []int64, need int) (string, []any, error) {
	c := &filterCompiler{dialect: dialect, target: modelkeep.FilterVersions, modelID: m.id}
	join, sel := fixedJoin(dialect)
	sel = "SELECT " + sel + stateColumns + " FROM "
	join = " " + join + " "
	c.b.text(sel)
	idsIn := func(col string) {
		c.b.text(col + " IN (")
		for i, id := range ids {
			if i > 0 {
				c.b.text(",")
			}
			c.b.arg(id)
		}
		c.b.text(")")
	}
	keyed, where := c.splitKeyed(rest, -1)
	if len(keyed) == 0 {
		c.b.text("versions WHERE ")
		idsIn("versions.id")
	} else {
		d := keyed[0]
		c.b.text(d.kt.table + " " + d.alias)
		if err := c.joinKeyed(join, d.alias, d.kt, keyed[1:]); err != nil {
			return "", nil, err
		}
		c.b.text(join + "versions ON versions.id = " + d.alias + "." + d.kt.idCol + " WHERE ")
		idsIn(d.alias + "." + d.kt.idCol)
		c.b.text(" AND ")
		if err := c.keyedMatch(d.kt, d.alias, d.cond); err != nil {
			return "", nil, err
		}
	}
	c.b.text(" AND versions.model_id = ")
	c.b.arg(m.id)
	if err := c.listTail(f, where, "versions.number", need); err != nil {
		return "", nil, err
	}
	return c.b.sql.String(), c.b.args, nil
}

// postingsQuery reads the versions (number, id) of a model with a key and
// value head, in a range of numbers, from the search index in order (on
// SQLite the value head is a VIRTUAL column, which it reads from the table
// too: migrations/sqlite/0044).
//
// On MySQL the head is also compared as a binary string: the collation
// ignores trailing spaces (filterCompiler.exactly).
func postingsQuery(dialect string, kt keyedTable, modelID int64, key, value string, after, upTo int) (string, []any) {
	exact, args := "", []any{modelID, key, value}
	if dialect == dialectMySQL {
		exact = "CAST(" + kt.headCol + " AS BINARY) = ? AND "
		args = append(args, value)
	}
	return "SELECT " + kt.numberCol + ", " + kt.idCol + " FROM " + kt.table + " WHERE model_id = ? AND " + kt.keyCol + " = ? AND " +
			kt.headCol + " = ? AND " + exact + kt.numberCol + " > ? AND " + kt.numberCol + " <= ? ORDER BY " + kt.numberCol,
		append(args, after, upTo)
}
