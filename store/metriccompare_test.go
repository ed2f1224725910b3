package store

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/modelkeep/modelkeep"
)

func TestCompareMetrics(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		s := newStore(t, newURL)
		ctx := t.Context()
		mustCreateModel(t, s, "m", nil)
		mustCreateModel(t, s, "other", nil)
		for range 4 {
			mustCreateVersion(t, s, "m")
		}
		mustCreateVersion(t, s, "other")
		ts := time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC)
		point := func(key string, v float64, step int64, dataset, split string, sec int) modelkeep.Metric {
			return modelkeep.Metric{Key: key, Value: v, Step: step, Dataset: dataset, Split: split,
				Timestamp: ts.Add(time.Duration(sec) * time.Second), RecordedBy: "ci"}
		}
		add := func(model string, n int, ms ...modelkeep.Metric) {
			t.Helper()
			if err := s.AddMetrics(ctx, model, n, ms); err != nil {
				t.Fatal(err)
			}
		}
		// v1: a training curve on the validation split and a test value.
		add("m", 1, point("auc", 0.70, 1, "holdout", "validation", 0), point("auc", 0.85, 3, "holdout", "validation", 2),
			point("auc", 0.80, 2, "holdout", "validation", 1), point("auc", 0.82, 0, "holdout", "test", 0))
		// v2: two points at the same step; the later one is the last.
		add("m", 2, point("auc", 0.90, 5, "holdout", "validation", 0), point("auc", 0.88, 5, "holdout", "validation", 9))
		// v3 has no auc; v4 has it on another dataset.
		add("m", 3, point("loss", 0.1, 1, "", "training", 0))
		add("m", 4, point("auc", 0.95, 1, "fresh", "validation", 0))
		add("other", 1, point("auc", 0.99, 1, "holdout", "validation", 0))

		row := func(version int, m modelkeep.Metric) modelkeep.VersionMetric {
			return modelkeep.VersionMetric{Version: version, Stage: modelkeep.StageNone, Metric: m}
		}
		tests := []struct {
			name string
			f    modelkeep.MetricComparisonFilter
			want []modelkeep.VersionMetric
		}{
			{
				name: "last of each series, newest version first",
				f:    modelkeep.MetricComparisonFilter{Key: "auc", Aggregate: modelkeep.AggregateLast},
				want: []modelkeep.VersionMetric{
					row(4, point("auc", 0.95, 1, "fresh", "validation", 0)),
					row(2, point("auc", 0.88, 5, "holdout", "validation", 9)),
					row(1, point("auc", 0.82, 0, "holdout", "test", 0)),
					row(1, point("auc", 0.85, 3, "holdout", "validation", 2)),
				},
			},
			{
				name: "min",
				f:    modelkeep.MetricComparisonFilter{Key: "auc", Split: "validation", Dataset: "holdout", Aggregate: modelkeep.AggregateMin},
				want: []modelkeep.VersionMetric{
					row(2, point("auc", 0.88, 5, "holdout", "validation", 9)),
					row(1, point("auc", 0.70, 1, "holdout", "validation", 0)),
				},
			},
			{
				name: "max",
				f:    modelkeep.MetricComparisonFilter{Key: "auc", Split: "validation", Aggregate: modelkeep.AggregateMax},
				want: []modelkeep.VersionMetric{
					row(4, point("auc", 0.95, 1, "fresh", "validation", 0)),
					row(2, point("auc", 0.90, 5, "holdout", "validation", 0)),
					row(1, point("auc", 0.85, 3, "holdout", "validation", 2)),
				},
			},
			{
				name: "a page of versions",
				f:    modelkeep.MetricComparisonFilter{Key: "auc", Aggregate: modelkeep.AggregateLast, BeforeNumber: 4, Limit: 1},
				want: []modelkeep.VersionMetric{row(2, point("auc", 0.88, 5, "holdout", "validation", 9))},
			},
			{
				name: "no such metric",
				f:    modelkeep.MetricComparisonFilter{Key: "f1", Aggregate: modelkeep.AggregateLast},
				want: []modelkeep.VersionMetric{},
			},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				tt.f.Model = "m"
				got, err := s.CompareMetrics(ctx, tt.f)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Errorf("got  %s\nwant %s", fmtRows(got), fmtRows(tt.want))
				}
			})
		}
		t.Run("missing model", func(t *testing.T) {
			_, err := s.CompareMetrics(ctx, modelkeep.MetricComparisonFilter{Model: "nope", Key: "auc"})
			wantErrIs(t, err, modelkeep.ErrNotFound)
		})
	})
}

func fmtRows(rows []modelkeep.VersionMetric) string {
	s := ""
	for _, r := range rows {
		s += fmt.Sprintf("\n  v%d %s %s/%s step %d = %g at %s", r.Version, r.Key, r.Dataset, r.Split, r.Step, r.Value, r.Timestamp.Format(time.TimeOnly))
	}
	return s
}
