package store

import (
	"database/sql"
	"errors"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelkeep/modelkeep/search"

	"gorm.io/gorm"

	"github.com/modelkeep/modelkeep"
	"github.com/modelkeep/modelkeep/migrations"
)

// searchBase is the time the search fixtures start at.
var searchBase = time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC)

func at(minutes int) time.Time { return searchBase.Add(time.Duration(minutes) * time.Minute) }

// headNote is as long as the value heads the search indexes hold (headLen
// characters, some of two bytes); longNote is longer with the same head.
var (
	headNote = strings.Repeat("nö", headLen/2) + "n"
	longNote = headNote + "-and-more"
)

// weirdKey and weirdValue exercise quoting in the backfill migrations.
const (
	weirdKey   = "we\"ird\\key ü.x"
	weirdValue = "val\"ue\\ 😀"
)

// seedSearch fills a store with the models and versions the search tests
// expect (see the comments for what each exercises).
func seedSearch(t *testing.T, s *Store) {
	t.Helper()
	ctx := t.Context()
	for i, m := range []modelkeep.Model{
		{Name: "alpha", Description: "first 100% model", Tags: map[string]string{"team": "risk"}, CreatedBy: "alice"},
		{Name: "beta", Description: "second", Tags: map[string]string{"team": "growth"}, CreatedBy: "bob"},
		{Name: "gamma", Description: "third", Tags: map[string]string{"team": "risk", "tier": "1"}, CreatedBy: "alice"},
		{Name: "delta_x", Description: "Fourth", CreatedBy: "alice"},
		{Name: "deltayx", Description: "what? [x]*", CreatedBy: "bob"},
	} {
		// beta and gamma were created at the same time: ties break by name.
		m.CreatedAt = at([]int{0, 1, 1, 2, 3}[i])
		m.UpdatedAt = at([]int{9, 5, 7, 6, 8}[i])
		if err := s.CreateModel(ctx, m); err != nil {
			t.Fatal(err)
		}
	}

	// Versions of model "m"; "other" has versions that would match most
	// filters, to show that a version list stays within its model.
	for _, name := range []string{"m", "other"} {
		if err := s.CreateModel(ctx, modelkeep.Model{Name: name, CreatedAt: at(50)}); err != nil {
			t.Fatal(err)
		}
	}
	versions := []modelkeep.Version{
		1: {Tags: map[string]string{"team": "risk", "env": "prod", weirdKey: weirdValue},
			Params: map[string]string{"lr": "0.1", "opt": "adam", weirdKey: weirdValue},
			Source: modelkeep.Source{RunID: "r1", GitCommit: "c1"}, CreatedBy: "alice", CreatedAt: at(100)},
		2: {Tags: map[string]string{"team": "risk", "note": longNote}, Params: map[string]string{"lr": "0.01", "note": longNote},
			CreatedBy: "bob", CreatedAt: at(102)},
		3: {Tags: map[string]string{"team": "growth", "note": headNote + "x"}, CreatedBy: "alice", CreatedAt: at(102)},
		4: {Tags: map[string]string{"note": headNote}, Params: map[string]string{"note": headNote + "ü"}, CreatedBy: "alice", CreatedAt: at(101)},
		// Values that differ only by a trailing space: MySQL's collation
		// pads, the filter must not.
		5: {Tags: map[string]string{"code": "x "}, Params: map[string]string{"code": "y"}, CreatedBy: "alice", CreatedAt: at(103)},
		6: {Tags: map[string]string{"code": "x"}, Params: map[string]string{"code": "y "}, CreatedBy: "alice", CreatedAt: at(103)},
	}
	for n := 1; n < len(versions); n++ {
		v := versions[n]
		v.Model = "m"
		if got, err := s.CreateVersion(ctx, v); err != nil || got != n {
			t.Fatalf("create version %d: %d, %v", n, got, err)
		}
	}
	for n := 1; n <= 2; n++ {
		_, err := s.CreateVersion(ctx, modelkeep.Version{Model: "other", Tags: map[string]string{"team": "risk", "env": "prod"},
			Params: map[string]string{"lr": "0.1"}, Source: modelkeep.Source{RunID: "r1"}, CreatedAt: at(100)})
		if err != nil {
			t.Fatal(err)
		}
	}

	// Latest metric values of m: 1 auc 0.8, 2 auc 0.95, 3 auc 0.91, 4 auc
	// 0.65, 5 none, 6 auc 0.95 (a tie with 2).
	metric := func(key string, v float64, step int64, ts time.Time) modelkeep.Metric {
		return modelkeep.Metric{Key: key, Value: v, Step: step, Timestamp: ts, RecordedBy: "alice"}
	}
	for _, c := range []struct {
		model  string
		number int
		points []modelkeep.Metric
	}{
		// Higher steps win.
		{"m", 1, []modelkeep.Metric{metric("auc", 0.5, 0, at(200)), metric("auc", 0.8, 1, at(201)), metric("loss", 0.3, 1, at(201))}},
		// A higher step recorded earlier beats a lower step recorded later,
		// within a call and across calls.
		{"m", 2, []modelkeep.Metric{metric("auc", 0.95, 5, at(200)), metric("auc", 0.99, 3, at(201))}},
		{"m", 2, []modelkeep.Metric{metric("auc", 0.97, 4, at(300))}},
		// On the same step, the newer timestamp wins, whatever the order.
		{"m", 3, []modelkeep.Metric{metric("auc", 0.91, 2, at(202)), metric("auc", 0.7, 2, at(201))}},
		// Same step and timestamp: the one recorded last wins.
		{"m", 4, []modelkeep.Metric{metric("auc", 0.6, 1, at(200))}},
		{"m", 4, []modelkeep.Metric{metric("auc", 0.65, 1, at(200))}},
		{"m", 6, []modelkeep.Metric{metric("auc", 0.95, 0, at(200))}},
		{"other", 1, []modelkeep.Metric{metric("auc", 0.99, 0, at(200))}},
	} {
		if err := s.AddMetrics(ctx, c.model, c.number, c.points); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		number int
		at     time.Time
	}{{1, at(400)}, {3, at(399)}, {6, at(399)}} {
		if err := s.FinalizeVersion(ctx, "m", c.number, modelkeep.ManifestDigest(nil), c.at); err != nil {
			t.Fatal(err)
		}
	}
	mustSetStage(t, s, "m", 2, modelkeep.StageNone, modelkeep.StageStaging)
	mustSetStage(t, s, "m", 3, modelkeep.StageNone, modelkeep.StageProduction)
}

func mustParseFilter(t testing.TB, target modelkeep.FilterTarget, src string) *search.Filter {
	t.Helper()
	f, err := modelkeep.ParseFilter(target, src)
	if err != nil {
		t.Fatalf("parse %q: %v", src, err)
	}
	return f
}

func mustParseOrder(t testing.TB, target modelkeep.FilterTarget, src string) search.Order {
	t.Helper()
	o, err := modelkeep.ParseOrder(target, src)
	if err != nil {
		t.Fatalf("parse order %q: %v", src, err)
	}
	return o
}

// listModelNames pages through ListModels, size items at a time, as the
// service does.
func listModelNames(t *testing.T, s *Store, where *search.Filter, order search.Order, size int) string {
	t.Helper()
	var names []string
	f := modelkeep.ModelFilter{Where: where, Order: order, Limit: size}
	for range 50 {
		ms, err := s.ListModels(t.Context(), f)
		if err != nil {
			t.Fatalf("list models: %v", err)
		}
		for _, m := range ms {
			names = append(names, m.Name)
		}
		if len(ms) < size {
			return strings.Join(names, ",")
		}
		last := ms[len(ms)-1]
		f.AfterName = last.Name
		f.After = &modelkeep.SortKey{Name: last.Name}
		switch order.Field.Name {
		case "created_at":
			f.After.Value = last.CreatedAt
		case "updated_at":
			f.After.Value = last.UpdatedAt
		}
	}
	t.Fatal("too many pages")
	return ""
}

// listVersionNumbers pages through ListVersions of model m.
func listVersionNumbers(t *testing.T, s *Store, where *search.Filter, order search.Order, size int) string {
	t.Helper()
	var nums []string
	f := modelkeep.VersionFilter{Model: "m", Where: where, Order: order, Limit: size}
	for range 50 {
		vs, err := s.ListVersions(t.Context(), f)
		if err != nil {
			t.Fatalf("list versions: %v", err)
		}
		for _, v := range vs {
			nums = append(nums, fmt.Sprint(v.Number))
		}
		if len(vs) < size {
			return strings.Join(nums, ",")
		}
		last := vs[len(vs)-1]
		f.BeforeNumber = last.Number
		f.After = &modelkeep.SortKey{Number: last.Number}
		switch order.Field.Name {
		case "created_at":
			f.After.Value = last.CreatedAt
		case "finalized_at":
			if last.FinalizedAt != nil {
				f.After.Value = *last.FinalizedAt
			}
		case "metrics":
			if last.SortValue != nil {
				f.After.Value = *last.SortValue
			}
		}
	}
	t.Fatal("too many pages")
	return ""
}

func TestFilterModels(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		s := newStore(t, newURL)
		seedSearch(t, s)
		for _, tc := range []struct{ filter, want string }{
			{`tags.team = "risk"`, "alpha,gamma"},
			{`tags.team != "risk"`, "beta"}, // delta_x has no team tag: no match
			{`tags.team IN ("risk", "growth") AND tags.tier = "1"`, "gamma"},
			{`tags.tier = "1" OR name = "beta"`, "beta,gamma"},
			// Precedence: AND before OR, parentheses first.
			{`name = "alpha" OR name = "beta" AND tags.team = "risk"`, "alpha"},
			{`(name = "alpha" OR name = "beta") AND tags.team = "growth"`, "beta"},
			// LIKE: % and _ are wildcards, \ makes them literal.
			{`name LIKE "delta_x"`, "delta_x,deltayx"},
			{`name LIKE "delta\_x"`, "delta_x"},
			{`name LIKE "%a\_%"`, "delta_x"},
			{`description LIKE "%100\%%"`, "alpha"},
			{`description LIKE "%100%%"`, "alpha"},
			// LIKE is case-sensitive in both dialects.
			{`description LIKE "fourth"`, ""},
			{`description LIKE "Fourth"`, "delta_x"},
			// GLOB's own wildcards are literal characters here.
			{`description LIKE "what? [x]*"`, "deltayx"},
			{`description LIKE "what_ [x]%"`, "deltayx"},
			{`description LIKE "*"`, ""},
			{`description LIKE "[x]"`, ""},
			{`name IN ("beta", "nope", "gamma")`, "beta,gamma"},
			{`created_by = "bob"`, "beta,deltayx"},
			{`created_at = "2025-06-01T10:01:00Z"`, "beta,gamma"},
			{`created_at > "2025-06-01T10:01:00Z" AND created_at <= "2025-06-01T10:02:00Z"`, "delta_x"},
			{`updated_at >= "2025-06-01T10:08:00Z" AND name != "m" AND name != "other"`, "alpha,deltayx"},
		} {
			t.Run(tc.filter, func(t *testing.T) {
				where := mustParseFilter(t, modelkeep.FilterModels, tc.filter+` AND name != "m" AND name != "other"`)
				for _, size := range []int{1, 2, 100} {
					if got := listModelNames(t, s, where, search.Order{}, size); got != tc.want {
						t.Fatalf("page size %d: got %q, want %q", size, got, tc.want)
					}
				}
			})
		}
	})
}

func TestOrderModels(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		s := newStore(t, newURL)
		seedSearch(t, s)
		for _, tc := range []struct{ order, filter, want string }{
			{"", "", "alpha,beta,delta_x,deltayx,gamma,m,other"},
			{"name DESC", "", "other,m,gamma,deltayx,delta_x,beta,alpha"},
			// beta and gamma tie on created_at: by name, in the same direction.
			{"created_at", "", "alpha,beta,gamma,delta_x,deltayx,m,other"},
			{"created_at DESC", "", "other,m,deltayx,delta_x,gamma,beta,alpha"},
			{"created_at DESC", `tags.team = "risk" OR tags.team = "growth"`, "gamma,beta,alpha"},
			{"updated_at DESC", `created_by != ""`, "alpha,deltayx,gamma,delta_x,beta"},
		} {
			t.Run(tc.order+" "+tc.filter, func(t *testing.T) {
				where := mustParseFilter(t, modelkeep.FilterModels, tc.filter)
				order := mustParseOrder(t, modelkeep.FilterModels, tc.order)
				for _, size := range []int{1, 2, 3, 100} {
					if got := listModelNames(t, s, where, order, size); got != tc.want {
						t.Fatalf("page size %d: got %q, want %q", size, got, tc.want)
					}
				}
			})
		}
	})
}

func TestFilterVersions(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		s := newStore(t, newURL)
		seedSearch(t, s)
		for _, tc := range []struct{ filter, want string }{
			{`tags.team = "risk"`, "2,1"},
			{`tags.team = "risk" AND tags.env = "prod"`, "1"},
			{`tags."we\"ird\\key ü.x" = "val\"ue\\ 😀"`, "1"},
			{`tags.team != "risk"`, "3"}, // versions without the tag do not match
			{`tags.team LIKE "r%"`, "2,1"},
			{`tags.team IN ("growth", "nope")`, "3"},
			// Values as long as the indexed head, or longer: equal heads are
			// not equal values.
			{`tags.note = "` + longNote + `"`, "2"},
			{`tags.note = "` + headNote + `"`, "4"},
			{`tags.note = "` + headNote + `x"`, "3"},
			{`tags.note = "` + headNote[:len(headNote)-1] + `"`, ""},
			{`tags.note IN ("` + longNote + `", "` + headNote + `")`, "4,2"},
			{`tags.note LIKE "nö%"`, "4,3,2"},
			{`tags.note LIKE "n_n%"`, "4,3,2"}, // _ is one character, ö two bytes
			{`tags.note = "` + longNote + `" AND params.note = "` + longNote + `"`, "2"},
			{`params.note = "` + headNote + `ü"`, "4"},
			{`params.note = "` + headNote + `"`, ""},
			{`params.note = "` + headNote + `ü" AND tags.note = "` + headNote + `"`, "4"},
			{`tags.team = "risk" AND tags.note = "` + longNote + `" AND metrics.auc > 0.9`, "2"},
			{`tags.team = "risk" AND (tags.note = "` + longNote + `" OR version = 1)`, "2,1"},
			{`tags.team = "risk" AND stage != "production" AND status = "ready"`, "1"},
			// metrics.<key> is the latest value: highest step, then newest.
			{`metrics.auc >= 0.9`, "6,3,2"},
			{`metrics.auc > 0.9 AND tags.team = "risk"`, "2"},
			{`metrics.auc < 0.9`, "4,1"},
			{`metrics.auc = 0.95`, "6,2"},
			{`metrics.auc != 0.95`, "4,3,1"},
			{`metrics.loss <= 0.3`, "1"},
			{`metrics.nope > -1e300`, ""},
			{`params.lr = "0.1"`, "1"},
			// A trailing space is part of a value, in both dialects.
			{`tags.code = "x"`, "6"},
			{`tags.code = "x "`, "5"},
			{`tags.code IN ("x ", "z")`, "5"},
			{`tags.code != "x"`, "5"},
			{`tags.code = "x" AND params.code = "y "`, "6"},
			{`params.code = "y"`, "5"},
			{`params.code != "y"`, "6"},
			{`params.opt LIKE "ad%"`, "1"},
			{`params.lr IN ("0.1", "0.01")`, "2,1"},
			{`params."we\"ird\\key ü.x" LIKE "val\"ue\\\\ %"`, "1"},
			{`stage IN ("staging", "production")`, "3,2"},
			{`stage = "none"`, "6,5,4,1"},
			{`status = "ready"`, "6,3,1"},
			{`status = "ready" AND stage != "production"`, "6,1"},
			{`finalized_at > "2025-06-01T16:39:00Z"`, "1"},
			{`finalized_at >= "2025-06-01"`, "6,3,1"},
			{`source.run_id = "r1"`, "1"},
			{`source.git_commit = "c1"`, "1"},
			{`version IN (1, 5) OR version >= 6`, "6,5,1"},
			{`version > 2 AND version < 5`, "4,3"},
			{`created_by = "bob"`, "2"},
			{`created_at = "2025-06-01T11:42:00Z"`, "3,2"},
			// AND binds tighter than OR; parentheses first.
			{`tags.team = "risk" OR metrics.auc > 0.9 AND stage = "production"`, "3,2,1"},
			{`(tags.team = "risk" OR metrics.auc > 0.9) AND stage = "production"`, "3"},
			{`(tags.team = "risk" OR metrics.auc > 0.9) AND stage != "production"`, "6,2,1"},
		} {
			t.Run(tc.filter, func(t *testing.T) {
				where := mustParseFilter(t, modelkeep.FilterVersions, tc.filter)
				// The same filter in an OR with a condition no version meets
				// is never read from a tag's or param's index
				// (compileDrivenVersionList): both plans must agree.
				generic := mustParseFilter(t, modelkeep.FilterVersions, "("+tc.filter+") OR version < 0")
				// And without the posting cache, tag and param equalities
				// are read from their index (compileDrivenVersionList).
				noCache := *s
				noCache.postingCache = nil
				for _, size := range []int{1, 2, 100} {
					if got := listVersionNumbers(t, s, where, search.Order{}, size); got != tc.want {
						t.Fatalf("page size %d: got %q, want %q", size, got, tc.want)
					}
					if got := listVersionNumbers(t, &noCache, where, search.Order{}, size); got != tc.want {
						t.Fatalf("without the posting cache, page size %d: got %q, want %q", size, got, tc.want)
					}
					if got := listVersionNumbers(t, s, generic, search.Order{}, size); got != tc.want {
						t.Fatalf("without a driving index, page size %d: got %q, want %q", size, got, tc.want)
					}
				}
			})
		}
	})
}

func TestOrderVersions(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		s := newStore(t, newURL)
		seedSearch(t, s)
		for _, tc := range []struct{ order, filter, want string }{
			{"", "", "6,5,4,3,2,1"},
			{"version", "", "1,2,3,4,5,6"},
			// Ties (2 and 3, 5 and 6) break by number, in the same direction.
			{"created_at", "", "1,4,2,3,5,6"},
			{"created_at DESC", "", "6,5,3,2,4,1"},
			// Versions without a value come last in both directions.
			{"finalized_at DESC", "", "1,6,3,5,4,2"},
			{"finalized_at", "", "3,6,1,2,4,5"},
			{"metrics.auc DESC", "", "6,2,3,1,4,5"},
			{"metrics.auc", "", "4,1,3,2,6,5"},
			{"metrics.auc DESC", `stage = "none"`, "6,1,4,5"},
			{"metrics.auc", `metrics.auc > 0.7`, "1,3,2,6"},
			{"metrics.loss", "", "1,2,3,4,5,6"},
			{"metrics.nope DESC", "", "6,5,4,3,2,1"},
			{"created_at DESC", `tags.team = "risk" OR status = "ready"`, "6,3,2,1"},
		} {
			t.Run(tc.order+" "+tc.filter, func(t *testing.T) {
				where := mustParseFilter(t, modelkeep.FilterVersions, tc.filter)
				order := mustParseOrder(t, modelkeep.FilterVersions, tc.order)
				for _, size := range []int{1, 2, 4, 100} {
					if got := listVersionNumbers(t, s, where, order, size); got != tc.want {
						t.Fatalf("page size %d: got %q, want %q", size, got, tc.want)
					}
				}
			})
		}
	})
}

// A list sorted by a metric gives each version's value of it as it read
// it (SortValue: the latest point, highest step, then newest, then last
// recorded), nil for a version without one and in other orders.
func TestSortValue(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		s := newStore(t, newURL)
		seedSearch(t, s)
		value := func(v modelkeep.Version) string {
			if v.SortValue == nil {
				return fmt.Sprintf("%d:-", v.Number)
			}
			return fmt.Sprintf("%d:%v", v.Number, *v.SortValue)
		}
		for _, tc := range []struct{ order, want string }{
			{"metrics.auc DESC", "6:0.95,2:0.95,3:0.91,1:0.8,4:0.65,5:-"},
			{"metrics.loss", "1:0.3,2:-,3:-,4:-,5:-,6:-"},
			{"created_at", "1:-,4:-,2:-,3:-,5:-,6:-"},
		} {
			order, err := modelkeep.ParseOrder(modelkeep.FilterVersions, tc.order)
			if err != nil {
				t.Fatal(err)
			}
			vs, err := s.ListVersions(t.Context(), modelkeep.VersionFilter{Model: "m", Order: order})
			var got []string
			for _, v := range vs {
				got = append(got, value(v))
			}
			if err != nil || strings.Join(got, ",") != tc.want {
				t.Errorf("%s: %s (%v), want %s", tc.order, strings.Join(got, ","), err, tc.want)
			}
		}
	})
}

// sideTables reads the search side tables in a comparable form.
func sideTables(t *testing.T, s *Store) string {
	t.Helper()
	var tags []versionTagRow
	var params []versionParamRow
	var latest []latestMetricRow
	db := s.db.WithContext(t.Context())
	if err := db.Order("version_id, tag_key").Find(&tags).Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Order("version_id, param_key").Find(&params).Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Order("version_id, metric_key").Find(&latest).Error; err != nil {
		t.Fatal(err)
	}
	for i := range latest {
		latest[i].TS = latest[i].TS.UTC()
		latest[i].Rev = 0 // which AddMetrics call wrote it: not something a backfill can know
	}
	return fmt.Sprintf("%+v\n%+v\n%+v", tags, params, latest)
}

// The backfill migrations (0021, 0023, 0025, then 0034, 0037 and 0042 for
// the version numbers) must produce what CreateVersion
// and AddMetrics maintain, odd keys included.
func TestSearchBackfillMigrations(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		s := newStore(t, newURL)
		seedSearch(t, s)
		want := sideTables(t, s)
		if !strings.Contains(want, weirdValue) {
			t.Fatalf("fixture lacks the odd tag: %s", want)
		}
		db := s.db.WithContext(t.Context())
		for _, table := range []string{"version_tags", "version_params", "latest_metrics"} {
			if err := db.Exec("DELETE FROM " + table).Error; err != nil {
				t.Fatal(err)
			}
		}
		runMigrations(t, s, 21, 23, 25, 34, 37, 42)
		if got := sideTables(t, s); got != want {
			t.Fatalf("after backfill:\n%s\nmaintained:\n%s", got, want)
		}
	})
}

// runMigrations runs the statements of the given migrations of s's dialect
// again, in order: how the backfill tests check a backfill against what the
// store maintains.
func runMigrations(t *testing.T, s *Store, versions ...int) {
	t.Helper()
	all, err := migrations.Load(s.dialect)
	if err != nil {
		t.Fatal(err)
	}
	db := s.db.WithContext(t.Context())
	ran := 0
	for _, m := range all {
		if !slices.Contains(versions, m.Version) {
			continue
		}
		for _, stmt := range m.Statements {
			if err := db.Exec(stmt).Error; err != nil {
				t.Fatalf("%s: %v", m.Name, err)
			}
		}
		ran++
	}
	if ran != len(versions) {
		t.Fatalf("ran %d of the migrations %v", ran, versions)
	}
}

func TestSearchRowsMatchSchema(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		s := newStore(t, newURL)
		m := s.db.Migrator()
		for _, row := range []any{&versionTagRow{}, &versionParamRow{}, &latestMetricRow{}} {
			stmt := &gorm.Statement{DB: s.db}
			if err := stmt.Parse(row); err != nil {
				t.Fatal(err)
			}
			for _, f := range stmt.Schema.Fields {
				if !m.HasColumn(row, f.DBName) {
					t.Errorf("%s.%s: no such column", stmt.Schema.Table, f.DBName)
				}
			}
			cols, err := m.ColumnTypes(row)
			if err != nil {
				t.Fatal(err)
			}
			// The value heads are generated by the database, not written.
			generated := map[string]int{"version_tags": 1, "version_params": 1}[stmt.Schema.Table]
			if len(cols) != len(stmt.Schema.Fields)+generated {
				t.Errorf("%s has %d columns, the row %d fields and %d generated", stmt.Schema.Table, len(cols), len(stmt.Schema.Fields), generated)
			}
		}
	})
}

func TestCompileFilter(t *testing.T) {
	f := mustParseFilter(t, modelkeep.FilterVersions, `tags.team = "risk" AND (metrics.auc >= 0.9 OR tags.x LIKE "a\_%")`)
	for _, tc := range []struct {
		dialect, sql string
		args         []any
	}{
		{dialectSQLite,
			"(versions.id IN (SELECT vt.version_id FROM version_tags vt WHERE vt.model_id = ? AND vt.tag_key = ? AND vt.tag_value_head = ?) AND " +
				"(versions.id IN (SELECT lm.version_id FROM latest_metrics lm WHERE lm.model_id = ? AND lm.metric_key = ? AND lm.value >= ?) OR " +
				"versions.id IN (SELECT vt.version_id FROM version_tags vt WHERE vt.model_id = ? AND vt.tag_key = ? AND vt.tag_value GLOB ?)))",
			[]any{int64(7), "team", "risk", int64(7), "auc", 0.9, int64(7), "x", "a_*"}},
		{dialectMySQL,
			"(versions.id IN (SELECT vt.version_id FROM version_tags vt WHERE vt.model_id = ? AND vt.tag_key = ? AND vt.tag_value_head = ? " +
				"AND CAST(vt.tag_value_head AS BINARY) IN (?)) AND " +
				"(versions.id IN (SELECT lm.version_id FROM latest_metrics lm WHERE lm.model_id = ? AND lm.metric_key = ? AND lm.value >= ?) OR " +
				"versions.id IN (SELECT vt.version_id FROM version_tags vt WHERE vt.model_id = ? AND vt.tag_key = ? AND CONCAT(vt.tag_value) LIKE ? ESCAPE '!')))",
			[]any{int64(7), "team", "risk", "risk", int64(7), "auc", 0.9, int64(7), "x", "a!_%"}},
	} {
		sql, args, err := compileFilter(tc.dialect, modelkeep.FilterVersions, 7, f)
		if err != nil || sql != tc.sql || !reflect.DeepEqual(args, tc.args) {
			t.Errorf("%s:\n got %s %v (%v)\nwant %s %v", tc.dialect, sql, args, err, tc.sql, tc.args)
		}
	}
}

func TestLikePatterns(t *testing.T) {
	for _, tc := range []struct{ in, mysql, glob string }{
		{`a%b_c`, `a%b_c`, `a*b?c`},
		{`100\%`, `100!%`, `100%`},
		{`\_x\\y\z`, `!_x\yz`, `_x\yz`},
		{`!*?[]`, `!!*?[]`, `![*][?][[]]`},
	} {
		if got := likeToMySQL(tc.in); got != tc.mysql {
			t.Errorf("likeToMySQL(%q) = %q, want %q", tc.in, got, tc.mysql)
		}
		if got := likeToGlob(tc.in); got != tc.glob {
			t.Errorf("likeToGlob(%q) = %q, want %q", tc.in, got, tc.glob)
		}
	}
}

func TestCompileOrderRefusesForeignKeys(t *testing.T) {
	for _, tc := range []struct {
		order string
		after modelkeep.SortKey
	}{
		{"created_at DESC", modelkeep.SortKey{Value: 0.5, Number: 1}},  // a metric value for a time
		{"metrics.auc DESC", modelkeep.SortKey{Value: time.Now()}},     // a time for a metric
		{"created_at DESC", modelkeep.SortKey{Value: nil, Number: 1}},  // no value for a column that has one
		{"metrics.auc DESC", modelkeep.SortKey{Value: "x", Number: 1}}, // nonsense
	} {
		o := mustParseOrder(t, modelkeep.FilterVersions, tc.order)
		var err error
		if o.Field.Name == "metrics" {
			s := &Store{dialect: dialectSQLite}
			f := modelkeep.VersionFilter{Model: "m", Order: o, After: &tc.after}
			_, _, err = s.metricOrderQueries(nil, modelAt{id: 1}, f, nil)
		} else {
			_, err = compileOrder(modelkeep.FilterVersions, o, &tc.after)
		}
		if !errors.Is(err, modelkeep.ErrInvalid) {
			t.Errorf("order %s after %+v: %v, want ErrInvalid", tc.order, tc.after, err)
		}
	}
}

// sqlWordRE finds the words of compiled SQL; allowedSQLWords are all it may
// contain: identifiers from the allow-lists and keywords, never user text.
var (
	sqlWordRE       = regexp.MustCompile(`[A-Za-z_][A-Za-z0-9_]*`)
	allowedSQLWords = map[string]bool{}
	joinAliasRE     = regexp.MustCompile(`^j[0-9]+$`) // compileDrivenVersionList's joins
)

func init() {
	for _, w := range strings.Fields(`models versions id name description created_by created_at updated_at number
		status stage finalized_at source_run_id source_git_commit model_tags mt version_tags vt version_params vp
		latest_metrics lm sort_metric model_id version_id tag_key tag_value param_key param_value metric_key value
		tag_value_head param_value_head version_number d
		IN SELECT FROM WHERE AND OR LIKE ESCAPE GLOB CONCAT CAST AS BINARY IS NULL ASC DESC LEFT JOIN ON
		STRAIGHT_JOIN CROSS ORDER BY LIMIT
`) {
		allowedSQLWords[w] = true
	}
}

// checkCompiledSQL asserts that sql is made of allow-listed words, the
// '!' escape literal and punctuation only, with one argument per placeholder.
func checkCompiledSQL(t *testing.T, input, sql string, args []any) {
	t.Helper()
	if n := strings.Count(sql, "?"); n != len(args) {
		t.Fatalf("%q: %d placeholders, %d arguments in %s", input, n, len(args), sql)
	}
	rest := strings.ReplaceAll(sql, "'!'", "")
	for _, w := range sqlWordRE.FindAllString(rest, -1) {
		if !allowedSQLWords[w] && !joinAliasRE.MatchString(w) {
			t.Fatalf("%q: SQL has the word %q, not from the allow-list: %s", input, w, sql)
		}
	}
	rest = sqlWordRE.ReplaceAllString(rest, "")
	if strings.Trim(rest, " .(),?=<>") != "" {
		t.Fatalf("%q: SQL has unexpected characters %q: %s", input, rest, sql)
	}
}

const canary = "zqxcanary"

// canaried returns a copy of f with every key and string value replaced by
// a canary, and how many it placed.
func canaried(e search.Expr) (search.Expr, int) {
	switch e := e.(type) {
	case *search.And:
		out, n := &search.And{}, 0
		for _, x := range e.Terms {
			c, k := canaried(x)
			out.Terms, n = append(out.Terms, c), n+k
		}
		return out, n
	case *search.Or:
		out, n := &search.Or{}, 0
		for _, x := range e.Terms {
			c, k := canaried(x)
			out.Terms, n = append(out.Terms, c), n+k
		}
		return out, n
	case *search.Condition:
		c, n := *e, 0
		if c.Field.Key != "" {
			c.Field.Key, n = canary, n+1
		}
		c.Values = slices.Clone(c.Values)
		for i, v := range c.Values {
			if _, ok := v.(string); ok {
				c.Values[i], n = canary, n+1
			}
		}
		return &c, n
	}
	return e, 0
}

// FuzzCompileFilter checks that whatever the parser accepts compiles to SQL
// made only of allow-listed identifiers with every user value (keys included)
// in the arguments, and that SQLite runs it.
//
//	go test -run '^$' -fuzz FuzzCompileFilter -fuzztime 60s ./store
func FuzzCompileFilter(f *testing.F) {
	for _, s := range []string{
		`tags.team = "risk" AND metrics.auc >= 0.9 AND stage IN ("staging","production")`,
		`(version < 3 OR name LIKE "a\%b_") AND created_at > "2025-01-01"`,
		`tags."a' OR 1=1 --" != "'; DROP TABLE models; --" or params.lr in ("1", "2")`,
		`metrics.auc DESC`,
		`finalized_at >= "2025-01-31T12:00:00.123+02:00" OR description LIKE "[*?]"`,
	} {
		f.Add(s)
	}
	s, err := Open(f.Context(), Options{URL: "sqlite:" + f.TempDir() + "/fuzz.db"})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	if err := s.CreateModel(f.Context(), modelkeep.Model{Name: "m", Tags: map[string]string{"team": "risk"}}); err != nil {
		f.Fatal(err)
	}
	if _, err := s.CreateVersion(f.Context(), modelkeep.Version{Model: "m", Tags: map[string]string{"team": "risk"}}); err != nil {
		f.Fatal(err)
	}
	if err := s.AddMetrics(f.Context(), "m", 1, []modelkeep.Metric{{Key: "auc", Value: 0.9}}); err != nil {
		f.Fatal(err)
	}

	f.Fuzz(func(t *testing.T, input string) {
		ctx := t.Context()
		for _, target := range []modelkeep.FilterTarget{modelkeep.FilterModels, modelkeep.FilterVersions} {
			flt, err := modelkeep.ParseFilter(target, input)
			if err == nil && flt != nil {
				for _, dialect := range []string{dialectSQLite, dialectMySQL} {
					sql, args, err := compileFilter(dialect, target, 1, flt)
					if err != nil {
						t.Fatalf("%q: compile: %v", input, err)
					}
					checkCompiledSQL(t, input, sql, args)
					root, n := canaried(flt.Root)
					sql, args, err = compileFilter(dialect, target, 1, &search.Filter{Root: root})
					if err != nil {
						t.Fatalf("%q: compile canaried: %v", input, err)
					}
					if strings.Contains(sql, canary) || slices.Index(args, any(canary)) < 0 && n > 0 {
						t.Fatalf("%q: user text in the SQL %s or missing from the args %v", input, sql, args)
					}
					if target != modelkeep.FilterVersions {
						continue
					}
					for _, vf := range []modelkeep.VersionFilter{
						{Where: flt, Limit: 5},
						{Where: &search.Filter{Root: root}, Limit: 5, BeforeNumber: 3, Stage: modelkeep.StageStaging, Status: modelkeep.StatusReady},
					} {
						sql, args, _, err := compileDrivenVersionList(dialect, 1, vf)
						if err != nil {
							t.Fatalf("%q: compile driven list: %v", input, err)
						}
						// The select list is a constant of its own (versions_read.go).
						checkCompiledSQL(t, input, strings.Replace(sql, stateColumns, "", 1), args)
						if strings.Contains(sql, canary) {
							t.Fatalf("%q: user text in the SQL %s", input, sql)
						}
					}
				}
				var lerr error
				if target == modelkeep.FilterModels {
					_, lerr = s.ListModels(ctx, modelkeep.ModelFilter{Where: flt, Limit: 5})
				} else {
					_, lerr = s.ListVersions(ctx, modelkeep.VersionFilter{Model: "m", Where: flt, Limit: 5})
				}
				if lerr != nil {
					t.Fatalf("%q: the database refused the compiled filter: %v", input, lerr)
				}
			}

			o, err := modelkeep.ParseOrder(target, input)
			if err != nil || o.IsZero() {
				continue
			}
			for _, after := range []*modelkeep.SortKey{
				nil, {Name: "x", Number: 1}, {Value: time.Unix(1, 0), Name: "x", Number: 1}, {Value: math.Pi, Number: 1},
			} {
				co, err := compileOrder(target, o, after)
				if err != nil {
					continue // a SortKey of the wrong type: refused, as it should be
				}
				checkCompiledSQL(t, input, co.orderBy, nil)
				checkCompiledSQL(t, input, co.where, co.whereArgs)
			}
			if target == modelkeep.FilterVersions && o.Field.Name == "metrics" {
				// Metric sorts are built by metricOrderQueries: the key is
				// only ever an argument.
				withCanary := o
				withCanary.Field.Key = canary
				dry := s.db.Session(&gorm.Session{DryRun: true})
				noWhere := func(q *gorm.DB) *gorm.DB { return q }
				for _, after := range []*modelkeep.SortKey{nil, {Number: 1}, {Value: math.Pi, Number: 1}} {
					f := modelkeep.VersionFilter{Model: "m", Order: withCanary, After: after}
					withValue, withoutValue, err := s.metricOrderQueries(dry, modelAt{id: 1}, f, noWhere)
					if err != nil {
						t.Fatalf("%q: metric order: %v", input, err)
					}
					for _, q := range []*gorm.DB{withValue, withoutValue} {
						if q == nil {
							continue
						}
						st := q.Find(&[]map[string]any{}).Statement
						if strings.Contains(st.SQL.String(), canary) || !slices.Contains(st.Vars, any(canary)) {
							t.Fatalf("%q: the metric key is not (only) an argument: %s %v", input, st.SQL.String(), st.Vars)
						}
					}
				}
			}
			var lerr error
			if target == modelkeep.FilterModels {
				_, lerr = s.ListModels(ctx, modelkeep.ModelFilter{Order: o, Limit: 5})
			} else {
				_, lerr = s.ListVersions(ctx, modelkeep.VersionFilter{Model: "m", Order: o, Limit: 5})
			}
			if lerr != nil {
				t.Fatalf("%q: the database refused the compiled order: %v", input, lerr)
			}
		}
	})
}

// TestDrivenListPlan checks the plan of a list filtered by a tag equality on
// both databases: read from the tag's index in number order, no sort, so
// the engine can stop after a page whatever the model's size.
func TestDrivenListPlan(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		s := newStore(t, newURL)
		seedSearch(t, s)
		modelID, err := s.modelID(t.Context(), "m")
		if err != nil {
			t.Fatal(err)
		}
		where := mustParseFilter(t, modelkeep.FilterVersions, `tags.team = "risk" AND tags.env = "prod" AND metrics.auc >= 0.5`)
		query, args, ok, err := compileDrivenVersionList(s.dialect, modelID, modelkeep.VersionFilter{Where: where, Limit: 101, BeforeNumber: 5})
		if err != nil || !ok {
			t.Fatalf("not driven: %v, %v", ok, err)
		}
		plan := explainPlan(t, s, query, args...)
		all := strings.Join(plan, "\n")
		if len(plan) == 0 || !strings.Contains(plan[0], "ix_version_tags_value") ||
			strings.Contains(all, "filesort") || strings.Contains(all, "TEMP B-TREE") {
			t.Fatalf("want a read of ix_version_tags_value first and no sort; plan:\n%s", all)
		}
		if s.dialect == dialectMySQL && !strings.Contains(plan[0], "table=d") {
			t.Fatalf("the driving table is not first; plan:\n%s", all)
		}

		// A sort by a metric reads the metric's index in order, both ways,
		// and the versions without the metric by number.
		for _, desc := range []bool{true, false} {
			m, err := s.listedModel(t.Context(), "m")
			if err != nil {
				t.Fatal(err)
			}
			f := modelkeep.VersionFilter{Model: "m", Order: search.Order{Field: search.Field{Name: "metrics", Key: "auc"}, Desc: desc},
				After: &modelkeep.SortKey{Value: 0.9, Number: 3}}
			noWhere := func(q *gorm.DB) *gorm.DB { return q.Where("versions.model_id = ?", m.id) }
			for i := range 2 {
				sql := s.db.ToSQL(func(tx *gorm.DB) *gorm.DB {
					withValue, withoutValue, err := s.metricOrderQueries(tx.Session(&gorm.Session{}), m, f, noWhere)
					if err != nil {
						t.Fatal(err)
					}
					return []*gorm.DB{withValue, withoutValue}[i].Limit(10).Find(&[]map[string]any{})
				})
				if i == 1 && s.dialect == dialectMySQL {
					// On a table of a few rows MariaDB rightly prefers a scan
					// and a sort for the versions without the metric; the
					// first phase is the one whose plan is forced.
					continue
				}
				plan := explainPlan(t, s, sql)
				all := strings.Join(plan, "\n")
				if strings.Contains(all, "filesort") || strings.Contains(all, "TEMP B-TREE") ||
					i == 0 && !strings.Contains(plan[0], "ix_latest_metrics_value") ||
					// the index alone (on SQLite it carries the version id, 0044)
					i == 0 && s.dialect == dialectSQLite && !strings.Contains(plan[0], "COVERING INDEX") {
					t.Fatalf("metric order (desc %v), phase %d: want no sort (and the metric's index first); plan:\n%s", desc, i+1, all)
				}
			}
		}
	})
}

// explainPlan returns the query plan of query, a line per row.
func explainPlan(t *testing.T, s *Store, query string, args ...any) []string {
	t.Helper()
	explain := "EXPLAIN "
	if s.dialect == dialectSQLite {
		explain = "EXPLAIN QUERY PLAN "
	}
	rows, err := s.db.WithContext(t.Context()).Raw(explain+query, args...).Rows()
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var plan []string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		var line []string
		for i, v := range vals {
			line = append(line, cols[i]+"="+v.String)
		}
		plan = append(plan, strings.Join(line, " "))
	}
	return plan
}

// A trailing space is part of a model tag's value too, in both dialects
// (MySQL's collation would ignore it: filterCompiler.exactly).
func TestFilterModelTagsTrailingSpace(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		s := newStore(t, newURL)
		mustCreateModel(t, s, "n", map[string]string{"team": "risk"})
		mustCreateModel(t, s, "o", map[string]string{"team": "risk "})
		for _, tc := range []struct{ filter, want string }{
			{`tags.team = "risk"`, "n"},
			{`tags.team = "risk "`, "o"},
			{`tags.team IN ("risk ", "x")`, "o"},
			{`tags.team != "risk"`, "o"},
			{`tags.team != "risk "`, "n"},
		} {
			ms, err := s.ListModels(t.Context(), modelkeep.ModelFilter{Where: mustParseFilter(t, modelkeep.FilterModels, tc.filter)})
			var names []string
			for _, m := range ms {
				names = append(names, m.Name)
			}
			if got := strings.Join(names, ","); err != nil || got != tc.want {
				t.Errorf("%s: %q, %v; want %q", tc.filter, got, err, tc.want)
			}
		}
	})
}

// Only string values are compared as binary strings on MySQL; a metric's
// != stays a numeric comparison.
func TestExactComparesStringsOnly(t *testing.T) {
	for _, tc := range []struct {
		filter string
		cast   bool
	}{
		{`metrics.auc != 0.9`, false},
		{`metrics.auc = 0.9`, false},
		{`tags.team != "risk"`, true},
		{`tags.team = "risk"`, true},
		{`params.lr IN ("0.1", "0.2")`, true},
	} {
		sql, _, err := compileFilter(dialectMySQL, modelkeep.FilterVersions, 7, mustParseFilter(t, modelkeep.FilterVersions, tc.filter))
		if err != nil || strings.Contains(sql, "AS BINARY") != tc.cast {
			t.Errorf("%s: %s (%v); want a binary comparison: %v", tc.filter, sql, err, tc.cast)
		}
	}
}

// The compiler takes identifiers only from its own allow-list, whatever
// tree it is handed: a field the parser would refuse (or a parser that let
// one through) is refused here too, and no SQL is made of its name.
func TestCompileFilterAllowList(t *testing.T) {
	cond := func(name, key string, typ search.Type, v any) *search.Filter {
		return &search.Filter{Root: &search.Condition{Field: search.Field{Name: name, Key: key}, Type: typ, Op: search.OpEq, Values: []any{v}}}
	}
	tests := []struct {
		name   string
		target modelkeep.FilterTarget
		filter *search.Filter
	}{
		{"a column nobody listed", modelkeep.FilterVersions, cond("blob_key", "", search.Text, "x")},
		{"SQL as a field name", modelkeep.FilterVersions, cond("1=1) OR (1", "", search.Text, "x")},
		{"a model field on versions", modelkeep.FilterVersions, cond("name", "", search.Text, "x")},
		{"a version field on models", modelkeep.FilterModels, cond("stage", "", search.Enum, "production")},
		{"a keyed field nobody listed", modelkeep.FilterVersions, cond("secrets", "k", search.Text, "x")},
		{"metrics on models", modelkeep.FilterModels, cond("metrics", "auc", search.Number, 0.9)},
		{"a keyed field without its key", modelkeep.FilterVersions, cond("tags", "", search.Text, "x")},
		{"a plain field with a key", modelkeep.FilterVersions, cond("stage", "x", search.Enum, "none")},
		{"inside an OR", modelkeep.FilterVersions, &search.Filter{Root: &search.Or{Terms: []search.Expr{
			cond("version", "", search.Int, int64(1)).Root, cond("password", "", search.Text, "x").Root}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, dialect := range []string{dialectSQLite, dialectMySQL} {
				sql, args, err := compileFilter(dialect, tt.target, 7, tt.filter)
				if !errors.Is(err, modelkeep.ErrInvalid) || sql != "" || args != nil {
					t.Errorf("%s: %q %v, %v; want ErrInvalid and no SQL", dialect, sql, args, err)
				}
			}
		})
	}
	for _, o := range []search.Order{
		{Field: search.Field{Name: "blob_key"}},
		{Field: search.Field{Name: "stage"}},
		{Field: search.Field{Name: "tags", Key: "team"}},
		{Field: search.Field{Name: "created_at", Key: "x"}},
	} {
		if _, err := compileOrder(modelkeep.FilterVersions, o, nil); !errors.Is(err, modelkeep.ErrInvalid) {
			t.Errorf("order by %s: %v, want ErrInvalid", o.Field, err)
		}
	}
}
