package store

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/modelkeep/modelkeep/search"

	"github.com/modelkeep/modelkeep"
)

func postingListOf(numbers ...int32) *postingList {
	l := &postingList{numbers: numbers}
	for _, n := range numbers {
		l.ids = append(l.ids, int64(n)*10)
	}
	return l
}

func TestIntersectNewest(t *testing.T) {
	for _, tc := range []struct {
		lists  [][]int32
		before int
		want   string
	}{
		{[][]int32{{1, 2, 3}}, 0, "3,2,1"},
		{[][]int32{{1, 2, 3}}, 3, "2,1"},
		{[][]int32{{1, 2, 3}}, 1, ""},
		{[][]int32{{1, 2, 3}}, 99, "3,2,1"},
		{[][]int32{{1, 3, 5, 7, 9}, {2, 3, 4, 5, 9, 10}}, 0, "9,5,3"},
		{[][]int32{{1, 3, 5, 7, 9}, {2, 3, 4, 5, 9, 10}}, 9, "5,3"},
		{[][]int32{{1, 3, 5, 7, 9}, {2, 3, 4, 5, 9, 10}, {3, 9}}, 0, "9,3"},
		{[][]int32{{1, 2}, {3, 4}}, 0, ""},
		{[][]int32{{}, {3, 4}}, 0, ""},
	} {
		var lists []*postingList
		for _, l := range tc.lists {
			lists = append(lists, postingListOf(l...))
		}
		var got []string
		intersectNewest(lists, tc.before, func(n int32, id int64) bool {
			if id != int64(n)*10 {
				t.Errorf("number %d came with id %d", n, id)
			}
			got = append(got, fmt.Sprint(n))
			return true
		})
		if strings.Join(got, ",") != tc.want {
			t.Errorf("%v before %d: got %v, want %s", tc.lists, tc.before, got, tc.want)
		}
	}
	// yield false stops.
	n := 0
	intersectNewest([]*postingList{postingListOf(1, 2, 3, 4)}, 0, func(int32, int64) bool { n++; return n < 2 })
	if n != 2 {
		t.Errorf("yield called %d times after false", n)
	}
}

// A list weighs its versions and one for its entry.
func TestPostingCacheEvicts(t *testing.T) {
	pc := newPostingCache(8)
	key := func(v string) postingKey { return postingKey{modelID: 1, table: "version_tags", key: "k", value: v} }
	put := func(v string, upTo int, numbers ...int32) {
		l := postingListOf(numbers...)
		l.key, l.upTo = key(v), upTo
		pc.put(l)
	}
	put("a", 3, 1, 2, 3)
	put("b", 2, 1, 2)
	put("c", 2, 1, 2) // 4 + 3 + 3 over 8: a, the least recently used, goes
	if _, ok := pc.lists.Get(key("a")); ok || pc.lists.Weight() != 6 {
		t.Fatalf("a kept or size %d", pc.lists.Weight())
	}
	put("b", 1, 1) // older than the cached b: ignored
	if l, ok := pc.lists.Get(key("b")); !ok || l.upTo != 2 {
		t.Fatalf("b replaced by an older list, or gone: %+v", l)
	}
	put("d", 9, 1, 2, 3, 4, 5, 6, 7, 8) // larger than the cache: not kept
	if _, ok := pc.lists.Get(key("d")); ok || pc.lists.Weight() != 6 {
		t.Fatalf("d kept or size %d", pc.lists.Weight())
	}
}

// The posting lists follow the model: versions created after a list was
// cached are in the next answer, and a model deleted and created again
// (with a new id: ids are never reused) does not inherit the old versions.
func TestPostingsFollowTheModel(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		s := newStore(t, newURL)
		ctx := t.Context()
		where := mustParseFilter(t, modelkeep.FilterVersions, `tags.team = "risk" AND params.lr = "0.1"`)
		create := func(tags, params map[string]string) {
			t.Helper()
			if _, err := s.CreateVersion(ctx, modelkeep.Version{Model: "m", Tags: tags, Params: params}); err != nil {
				t.Fatal(err)
			}
		}
		risk, lr := map[string]string{"team": "risk"}, map[string]string{"lr": "0.1"}
		for round := range 2 {
			mustCreateModel(t, s, "m", nil)
			create(risk, lr)
			create(risk, nil)
			if got := listVersionNumbers(t, s, where, search.Order{}, 10); got != "1" {
				t.Fatalf("round %d: got %q, want 1", round, got)
			}
			if s.postingCache.lists.Len() == 0 {
				t.Fatal("the list did not go through the posting cache")
			}
			create(risk, lr)
			create(nil, lr)
			create(risk, lr)
			if got := listVersionNumbers(t, s, where, search.Order{}, 10); got != "5,3,1" {
				t.Fatalf("round %d after more versions: got %q", round, got)
			}
			if got := listVersionNumbers(t, s, where, search.Order{}, 1); got != "5,3,1" {
				t.Fatalf("round %d by pages of 1: got %q", round, got)
			}
			if err := s.DeleteModel(ctx, "m"); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// Lists read while versions are being created agree with the database read
// without the cache, at every moment: each answer starts at the newest match
// created before the list began or later (never a stale cache), holds the
// matches below it in order, and the last list, after the writer is done,
// is every match.
func TestPostingsUnderConcurrentCreates(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		s := newStore(t, newURL)
		ctx := t.Context()
		mustCreateModel(t, s, "m", nil)
		tagsOf := func(n int) map[string]string {
			return map[string]string{"team": fmt.Sprint("t", n%3), "tier": fmt.Sprint("x", n%2)}
		}
		const versions = 60
		where := mustParseFilter(t, modelkeep.FilterVersions, `tags.team = "t0" AND tags.tier = "x1"`)
		matches := func(n int) bool { tg := tagsOf(n); return tg["team"] == "t0" && tg["tier"] == "x1" }
		// newestMatch is the newest matching version number at or below n.
		newestMatch := func(n int) int {
			for ; n >= 1 && !matches(n); n-- {
			}
			return max(n, 0)
		}
		var created atomic.Int64 // versions committed so far
		var wg sync.WaitGroup
		wg.Go(func() {
			for n := 1; n <= versions; n++ {
				if _, err := s.CreateVersion(ctx, modelkeep.Version{Model: "m", Tags: tagsOf(n)}); err != nil {
					t.Error(err)
					return
				}
				created.Store(int64(n))
			}
		})
		for range 2 {
			wg.Go(func() {
				r := rand.New(rand.NewPCG(1, 2))
				for range 40 {
					floor := newestMatch(int(created.Load()))
					vs, err := s.ListVersions(ctx, modelkeep.VersionFilter{Model: "m", Where: where, Limit: 1 + r.IntN(5)})
					if err != nil {
						t.Error(err)
						return
					}
					var got []int
					for _, v := range vs {
						got = append(got, v.Number)
					}
					// Nothing older than what was committed when the list
					// began, then the matches below the first one, in order.
					if len(got) == 0 && floor > 0 || len(got) > 0 && got[0] < floor {
						t.Errorf("list begun after version %d matched answers %v: stale", floor, got)
						return
					}
					if len(got) == 0 {
						continue
					}
					var want []int
					for n := got[0]; n >= 1 && len(want) < len(got); n-- {
						if matches(n) {
							want = append(want, n)
						}
					}
					if !slices.Equal(got, want) {
						t.Errorf("got %v, want %v", got, want)
						return
					}
				}
			})
		}
		wg.Wait()
		var want []int
		for n := versions; n >= 1; n-- {
			if matches(n) {
				want = append(want, n)
			}
		}
		vs, err := s.ListVersions(ctx, modelkeep.VersionFilter{Model: "m", Where: where})
		var got []int
		for _, v := range vs {
			got = append(got, v.Number)
		}
		if err != nil || !slices.Equal(got, want) {
			t.Fatalf("after the writer: %v (%v), want %v", got, err, want)
		}
	})
}

// Metric thresholds checked in memory follow every AddMetrics: each answer
// is what the database gives without the caches.
func TestMetricCacheFollowsNewPoints(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		s := newStore(t, newURL)
		ctx := t.Context()
		noCache := *s
		noCache.postingCache, noCache.metricCache = nil, nil
		mustCreateModel(t, s, "m", nil)
		for range 6 {
			if _, err := s.CreateVersion(ctx, modelkeep.Version{Model: "m", Tags: map[string]string{"team": "risk"}}); err != nil {
				t.Fatal(err)
			}
		}
		where := mustParseFilter(t, modelkeep.FilterVersions, `tags.team = "risk" AND metrics.auc >= 0.9 AND metrics.loss != 0.5`)
		check := func(step string, want string) {
			t.Helper()
			for _, size := range []int{1, 2, 10} {
				if got := listVersionNumbers(t, s, where, search.Order{}, size); got != want {
					t.Fatalf("%s, page size %d: got %q, want %q", step, size, got, want)
				}
				if got := listVersionNumbers(t, &noCache, where, search.Order{}, size); got != want {
					t.Fatalf("%s, without the caches: got %q, want %q", step, got, want)
				}
			}
		}
		add := func(number int, key string, value float64, step int64) {
			t.Helper()
			if err := s.AddMetrics(ctx, "m", number, []modelkeep.Metric{{Key: key, Value: value, Step: step}}); err != nil {
				t.Fatal(err)
			}
		}
		check("no metrics", "")
		add(2, "auc", 0.95, 1)
		add(2, "loss", 0.1, 1)
		add(4, "auc", 0.91, 1)
		add(4, "loss", 0.2, 1)
		add(5, "auc", 0.99, 1) // no loss: != does not match a missing metric
		check("first points", "4,2")
		if s.metricCache.values.Len() == 0 {
			t.Fatal("the list did not go through the metric cache")
		}
		add(4, "auc", 0.5, 2) // a later step replaces the value
		check("auc of 4 fell", "2")
		add(2, "auc", 0.1, 0) // an earlier step does not
		add(5, "loss", 0.3, 1)
		add(6, "auc", 0.9, 1)
		add(6, "loss", 0.5, 1)
		check("more points", "5,2")
	})
}

// Lists read while metrics are being recorded agree with the database: a
// version's answer never flips back, as its auc only rises here.
func TestMetricCacheUnderConcurrentPoints(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		s := newStore(t, newURL)
		ctx := t.Context()
		mustCreateModel(t, s, "m", nil)
		const versions = 20
		for range versions {
			if _, err := s.CreateVersion(ctx, modelkeep.Version{Model: "m", Tags: map[string]string{"team": "risk"}}); err != nil {
				t.Fatal(err)
			}
		}
		where := mustParseFilter(t, modelkeep.FilterVersions, `tags.team = "risk" AND metrics.auc >= 0.9`)
		var wg sync.WaitGroup
		wg.Go(func() {
			// Version n's auc rises to 0.95, newest first.
			for n := versions; n >= 1; n-- {
				if err := s.AddMetrics(ctx, "m", n, []modelkeep.Metric{{Key: "auc", Value: 0.95, Step: 1}}); err != nil {
					t.Error(err)
					return
				}
			}
		})
		for range 2 {
			wg.Go(func() {
				prev := 0
				for range 30 {
					vs, err := s.ListVersions(ctx, modelkeep.VersionFilter{Model: "m", Where: where})
					if err != nil {
						t.Error(err)
						return
					}
					// Always a run from the newest down, growing.
					for i, v := range vs {
						if v.Number != versions-i {
							t.Errorf("answer %d: version %d at %d", len(vs), v.Number, i)
							return
						}
					}
					if len(vs) < prev {
						t.Errorf("answer shrank from %d to %d", prev, len(vs))
						return
					}
					prev = len(vs)
				}
			})
		}
		wg.Wait()
		if got := listVersionNumbers(t, s, where, search.Order{}, 100); strings.Count(got, ",") != versions-1 {
			t.Fatalf("after all points: %q", got)
		}
	})
}

// A catch-up that starts from a revision older than the rows' stamps still
// sees them: a point recorded after the list read metrics_rev restamps the
// row above that revision, and must not drop the version's value.
func TestMetricCacheCatchUpPastTheListsRevision(t *testing.T) {
	s := newStore(t, func(t *testing.T) string { return "sqlite:" + t.TempDir() + "/m.db" })
	ctx := t.Context()
	mustCreateModel(t, s, "m", nil)
	if _, err := s.CreateVersion(ctx, modelkeep.Version{Model: "m"}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddMetrics(ctx, "m", 1, []modelkeep.Metric{{Key: "auc", Value: 0.95, Step: 1}}); err != nil {
		t.Fatal(err)
	}
	m, err := s.listedModel(ctx, "m") // the list reads revision 1
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddMetrics(ctx, "m", 1, []modelkeep.Metric{{Key: "auc", Value: 0.97, Step: 2}}); err != nil {
		t.Fatal(err)
	}
	mv, err := s.metricValuesOf(ctx, m, "auc") // then catches up
	if err != nil {
		t.Fatal(err)
	}
	v1, err := s.versionRowOf(ctx, "m", 1)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := mv.lookup(v1.ID); !ok || got != 0.97 || mv.rev != 2 {
		t.Fatalf("after the catch-up: %v, %v at revision %d; want 0.97 at 2", got, ok, mv.rev)
	}
}

// A filter of metric thresholds alone is answered by SQL: no posting list
// to start from, so the metric values are not read into the cache.
func TestMetricOnlyFilterSkipsTheCaches(t *testing.T) {
	s := newStore(t, func(t *testing.T) string { return "sqlite:" + t.TempDir() + "/m.db" })
	ctx := t.Context()
	mustCreateModel(t, s, "m", nil)
	if _, err := s.CreateVersion(ctx, modelkeep.Version{Model: "m"}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddMetrics(ctx, "m", 1, []modelkeep.Metric{{Key: "auc", Value: 0.95}}); err != nil {
		t.Fatal(err)
	}
	where := mustParseFilter(t, modelkeep.FilterVersions, `metrics.auc >= 0.9`)
	if got := listVersionNumbers(t, s, where, search.Order{}, 10); got != "1" {
		t.Fatalf("got %q", got)
	}
	if n := s.metricCache.values.Len(); n != 0 {
		t.Fatalf("%d metric cache entries, want 0", n)
	}
}
