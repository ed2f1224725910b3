package store

import (
	"fmt"
	"reflect"
	"testing"
	"time"

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
				got, err := s.ListMetrics(ctx, "m", tt.number, tt.key)
				if tt.wantErr != nil {
					wantErrIs(t, err, tt.wantErr)
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Errorf("got  %+v\nwant %+v", got, tt.want)
				}
			})
		}

		t.Run("zero timestamp is the store's clock", func(t *testing.T) {
			got, err := s.ListMetrics(ctx, "m", 2, "")
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
			got, err := s.ListMetrics(ctx, "m", 2, "k0999")
			if err != nil || len(got) != 1 || got[0].Value != 999 {
				t.Errorf("got %+v, %v", got, err)
			}
		})
	})
}
