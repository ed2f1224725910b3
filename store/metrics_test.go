package store

import (
	"cmp"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/modelkeep/modelkeep"
)

func TestMetrics(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		s := newStore(t, newURL)
		ctx := t.Context()
		mustCreateModel(t, s, "m", nil)
		mustCreateVersion(t, s, "m")
		mustCreateVersion(t, s, "m")
		ts := time.Date(2026, 8, 1, 0, 0, 0, 123456789, time.UTC)
		in := []modelkeep.Metric{
			{Key: "loss", Value: 0.5, Step: 2, Split: "training", Timestamp: ts, RecordedBy: "ci"},
			{Key: "auc", Value: 0.93, Step: 12, Dataset: "holdout", Split: "test", Timestamp: ts, RecordedBy: "ci"},
			{Key: "loss", Value: 0.9, Step: 1, Split: "training", Timestamp: ts.Add(time.Second), RecordedBy: "ci"},
			{Key: "loss", Value: 0.7, Step: 1, Split: "validation", Timestamp: ts, RecordedBy: "ci"},
			{Key: "latency_p99", Value: 1e-300, Step: 0, Environment: "production", Timestamp: ts, RecordedBy: "monitor"},
		}
		if err := s.AddMetrics(ctx, "m", 1, in); err != nil {
			t.Fatal(err)
		}
		if err := s.AddMetrics(ctx, "m", 2, []modelkeep.Metric{{Key: "auc", Value: 0.5}}); err != nil {
			t.Fatal(err)
		}
		if err := s.AddMetrics(ctx, "m", 1, nil); err != nil {
			t.Errorf("no metrics: %v", err)
		}
		norm := func(m modelkeep.Metric) modelkeep.Metric {
			m.Timestamp = m.Timestamp.Truncate(time.Microsecond)
			return m
		}

		tests := []struct {
			name    string
			number  int
			key     string
			want    []modelkeep.Metric
			wantErr error
		}{
			// By key, then step, then timestamp.
			{name: "all keys", number: 1, want: []modelkeep.Metric{norm(in[1]), norm(in[4]), norm(in[3]), norm(in[2]), norm(in[0])}},
			{name: "one key", number: 1, key: "loss", want: []modelkeep.Metric{norm(in[3]), norm(in[2]), norm(in[0])}},
			{name: "unknown key", number: 1, key: "f1", want: []modelkeep.Metric{}},
			{name: "missing version", number: 9, wantErr: modelkeep.ErrNotFound},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := s.ListMetricsPage(ctx, modelkeep.MetricFilter{Model: "m", Number: tt.number, Key: tt.key})
				if tt.wantErr != nil {
					wantErrIs(t, err, tt.wantErr)
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				for i := range got {
					if got[i].Seq < 1 {
						t.Errorf("point %d has no Seq: %+v", i, got[i])
					}
					got[i].Seq = 0
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Errorf("got  %+v\nwant %+v", got, tt.want)
				}
			})
		}

		t.Run("zero timestamp is the store's clock", func(t *testing.T) {
			got, err := s.ListMetricsPage(ctx, modelkeep.MetricFilter{Model: "m", Number: 2, Key: ""})
			if err != nil || len(got) != 1 || got[0].Timestamp.IsZero() {
				t.Errorf("got %+v, %v", got, err)
			}
		})
		t.Run("add to a missing version", func(t *testing.T) {
			wantErrIs(t, s.AddMetrics(ctx, "m", 9, in), modelkeep.ErrNotFound)
			wantErrIs(t, s.AddMetrics(ctx, "nope", 1, in), modelkeep.ErrNotFound)
		})
		t.Run("the largest call", func(t *testing.T) {
			many := make([]modelkeep.Metric, modelkeep.MaxMetricsPerCall)
			for i := range many {
				many[i] = modelkeep.Metric{Key: fmt.Sprintf("k%04d", i), Value: float64(i), Timestamp: ts}
			}
			if err := s.AddMetrics(ctx, "m", 2, many); err != nil {
				t.Fatal(err)
			}
			got, err := s.ListMetricsPage(ctx, modelkeep.MetricFilter{Model: "m", Number: 2, Key: "k0999"})
			if err != nil || len(got) != 1 || got[0].Value != 999 {
				t.Errorf("got %+v, %v", got, err)
			}
		})
	})
}

// TestListMetricsPage pages through a version's points in every page size:
// each point exactly once, in (key, step, timestamp, order of recording)
// order, the same on both databases.
func TestListMetricsPage(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		s := newStore(t, newURL)
		ctx := t.Context()
		mustCreateModel(t, s, "m", nil)
		mustCreateVersion(t, s, "m")
		mustCreateVersion(t, s, "m")
		// Ties everywhere: equal keys, steps and timestamps, identical
		// points (only the order of recording tells them apart), whole
		// seconds next to fractions (SQLite compares times as text), and a
		// key that is a prefix of another.
		t0 := time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC)
		times := []time.Time{t0, t0.Add(500 * time.Millisecond), t0.Add(50 * time.Millisecond), t0.Add(-time.Second), t0.Add(time.Microsecond)}
		var in []modelkeep.Metric
		for i := range 60 {
			in = append(in, modelkeep.Metric{
				Key: []string{"loss", "auc", "loss_val", "a"}[i%4], Value: float64(i), Step: int64(i % 3),
				Timestamp: times[i%len(times)], RecordedBy: "ci",
			})
		}
		in = append(in, in[0], in[1], in[0])
		// Recorded in two calls: the order of recording spans them.
		if err := s.AddMetrics(ctx, "m", 1, in[:30]); err != nil {
			t.Fatal(err)
		}
		if err := s.AddMetrics(ctx, "m", 1, in[30:]); err != nil {
			t.Fatal(err)
		}
		if err := s.AddMetrics(ctx, "m", 2, []modelkeep.Metric{{Key: "auc", Value: 1}}); err != nil {
			t.Fatal(err)
		}
		// The expected order: stable, so recording breaks the last ties.
		want := slices.Clone(in)
		slices.SortStableFunc(want, func(a, b modelkeep.Metric) int {
			return cmp.Or(strings.Compare(a.Key, b.Key), cmp.Compare(a.Step, b.Step), a.Timestamp.Compare(b.Timestamp))
		})
		ofKey := func(key string) []modelkeep.Metric {
			return slices.DeleteFunc(slices.Clone(want), func(m modelkeep.Metric) bool { return m.Key != key })
		}

		pages := func(t *testing.T, f modelkeep.MetricFilter) []modelkeep.Metric {
			t.Helper()
			var got []modelkeep.Metric
			for page := 0; ; page++ {
				if page > len(in)+1 {
					t.Fatalf("no end after %d pages", page)
				}
				ms, err := s.ListMetricsPage(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				if f.Limit > 0 && len(ms) > f.Limit {
					t.Fatalf("page %d: %d points, limit %d", page, len(ms), f.Limit)
				}
				got = append(got, ms...)
				if f.Limit <= 0 || len(ms) < f.Limit {
					return got
				}
				f.After = &ms[len(ms)-1]
			}
		}
		tests := []struct {
			name string
			key  string
			want []modelkeep.Metric
		}{
			{name: "all keys", want: want},
			{name: "one key", key: "loss", want: ofKey("loss")},
			{name: "a key that prefixes another", key: "a", want: ofKey("a")},
			{name: "unknown key", key: "f1"},
		}
		for _, tt := range tests {
			for _, limit := range []int{0, 1, 2, 3, 7, 50, 1000} {
				t.Run(fmt.Sprintf("%s/limit %d", tt.name, limit), func(t *testing.T) {
					got := pages(t, modelkeep.MetricFilter{Model: "m", Number: 1, Key: tt.key, Limit: limit})
					seen := map[int64]bool{}
					for i := range got {
						if seen[got[i].Seq] || got[i].Seq < 1 {
							t.Fatalf("point %d: Seq %d missing or seen before", i, got[i].Seq)
						}
						seen[got[i].Seq] = true
						got[i].Seq = 0
					}
					if !slices.Equal(got, tt.want) {
						t.Errorf("got  %+v\nwant %+v", got, tt.want)
					}
				})
			}
		}

		t.Run("a position in another key", func(t *testing.T) {
			for _, tc := range []struct {
				after string
				want  []modelkeep.Metric
			}{
				{"a", ofKey("loss")},   // before every point of the key
				{"m", nil},             // after them
				{"loss_val", nil},      // after them, the key its prefix
				{"auc", ofKey("loss")}, // before
			} {
				f := modelkeep.MetricFilter{Model: "m", Number: 1, Key: "loss", Limit: 100,
					After: &modelkeep.Metric{Key: tc.after, Step: 99, Timestamp: t0, Seq: 1 << 40}}
				got, err := s.ListMetricsPage(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				for i := range got {
					got[i].Seq = 0
				}
				if len(got) != len(tc.want) || len(got) > 0 && !slices.Equal(got, tc.want) {
					t.Errorf("after a point of %q: got %+v\nwant %+v", tc.after, got, tc.want)
				}
			}
		})
		t.Run("points recorded between pages", func(t *testing.T) {
			first, err := s.ListMetricsPage(ctx, modelkeep.MetricFilter{Model: "m", Number: 2, Limit: 1})
			if err != nil || len(first) != 1 {
				t.Fatalf("first page: %+v, %v", first, err)
			}
			// One point sorts before the page's last, one ties with it
			// (recorded later, so after it), one after.
			late := []modelkeep.Metric{
				{Key: "a", Value: 2, Timestamp: t0}, {Key: "auc", Value: 3, Timestamp: first[0].Timestamp}, {Key: "b", Value: 4, Timestamp: t0},
			}
			if err := s.AddMetrics(ctx, "m", 2, late); err != nil {
				t.Fatal(err)
			}
			rest, err := s.ListMetricsPage(ctx, modelkeep.MetricFilter{Model: "m", Number: 2, After: &first[0], Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			var values []float64
			for _, m := range rest {
				values = append(values, m.Value)
			}
			if !slices.Equal(values, []float64{3, 4}) {
				t.Errorf("after the first page: values %v, want [3 4]", values)
			}
		})
		t.Run("missing version", func(t *testing.T) {
			_, err := s.ListMetricsPage(ctx, modelkeep.MetricFilter{Model: "m", Number: 9, Limit: 1})
			wantErrIs(t, err, modelkeep.ErrNotFound)
			_, err = s.ListMetricsPage(ctx, modelkeep.MetricFilter{Model: "nope", Number: 1, Limit: 1})
			wantErrIs(t, err, modelkeep.ErrNotFound)
		})
	})
}

// TestListMetricsPagePlan: a page of metrics after a position is a range of
// ix_metrics_version_key read in order, with no sort, on both databases.
func TestListMetricsPagePlan(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		s := newStore(t, newURL)
		ctx := t.Context()
		mustCreateModel(t, s, "m", nil)
		t0 := time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC)
		// Enough points in several versions that a table scan and a sort
		// is no longer the cheaper plan.
		for range 4 {
			n := mustCreateVersion(t, s, "m")
			many := make([]modelkeep.Metric, modelkeep.MaxMetricsPerCall)
			for i := range many {
				many[i] = modelkeep.Metric{Key: fmt.Sprintf("k%02d", i%20), Value: float64(i), Step: int64(i / 20), Timestamp: t0}
			}
			if err := s.AddMetrics(ctx, "m", n, many); err != nil {
				t.Fatal(err)
			}
		}
		if s.dialect == dialectMySQL {
			if err := s.db.WithContext(ctx).Exec("ANALYZE TABLE metrics").Error; err != nil {
				t.Fatal(err)
			}
		} else if err := s.db.WithContext(ctx).Exec("ANALYZE").Error; err != nil {
			t.Fatal(err)
		}
		v, err := s.versionRowOf(ctx, "m", 2)
		if err != nil {
			t.Fatal(err)
		}
		after := &modelkeep.Metric{Key: "k07", Step: 20, Timestamp: t0, Seq: 1500}
		for _, f := range []modelkeep.MetricFilter{
			{Limit: 51},
			{After: after, Limit: 51},
			{Key: "k07", Limit: 51},
			{Key: "k07", After: after, Limit: 51},
		} {
			stmt := metricsPageQuery(s.db.WithContext(ctx).Session(&gorm.Session{DryRun: true}), v.ID, f).Find(&[]metricRow{}).Statement
			plan := explainPlan(t, s, stmt.SQL.String(), stmt.Vars...)
			all := strings.Join(plan, "\n")
			name := fmt.Sprintf("key %q, after %v", f.Key, f.After != nil)
			if len(plan) != 1 || !strings.Contains(all, "ix_metrics_version_key") ||
				strings.Contains(all, "filesort") || strings.Contains(all, "TEMP B-TREE") {
				t.Errorf("%s: want a read of ix_metrics_version_key and no sort; plan:\n%s", name, all)
				continue
			}
			if f.After == nil {
				continue
			}
			// After a position, the range starts there: not at the version's
			// or the key's first point.
			switch s.dialect {
			case dialectSQLite:
				if !strings.Contains(all, "step,ts)>(?,?") {
					t.Errorf("%s: want the index range from the position; plan:\n%s", name, all)
				}
			case dialectMySQL:
				var keyLen int
				if _, err := fmt.Sscanf(all[strings.Index(all, "key_len="):], "key_len=%d", &keyLen); err != nil ||
					!strings.Contains(all, "type=range") || keyLen < 8+(255*4+2)+8+8 {
					t.Errorf("%s: want the index range from the position, through ts; plan:\n%s", name, all)
				}
			}
		}
	})
}
