package modelkeep

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"time"
)

// Metric is one measured value of a version.
type Metric struct {
	Key         string
	Value       float64
	Step        int64
	Dataset     string
	Split       string // training, validation, test, evaluation, production, ...
	Environment string // for production monitoring
	// RunID is the run that produced the point, DatasetVersion the version
	// of Dataset it was measured on ("" when not told).
	RunID          string
	DatasetVersion string
	Timestamp      time.Time
	RecordedBy     string
	// Seq is the point's place in the order of recording, set when the
	// store lists points (0 otherwise): the last tie-breaker of the list
	// order, which page tokens carry. It is not shown.
	Seq int64
}

// MaxMetricsPerCall bounds one LogMetrics call.
const MaxMetricsPerCall = 1000

// LogMetrics records metric points of a version, pending or ready
// (evaluation and production monitoring go on after release).
func (s *Service) LogMetrics(ctx context.Context, model string, number int, metrics []Metric) ([]Metric, error) {
	if err := validateVersionRef(model, number); err != nil {
		return nil, err
	}
	if len(metrics) == 0 || len(metrics) > MaxMetricsPerCall {
		return nil, Errorf(ErrInvalid, "send 1 to %d metrics", MaxMetricsPerCall)
	}
	now := s.Now()
	keys, runs := map[string]bool{}, map[string]bool{}
	for i := range metrics {
		m := &metrics[i]
		if err := ValidateMetricKey(fmt.Sprintf("metrics[%d].key", i), m.Key); err != nil {
			return nil, err
		}
		switch {
		case math.IsNaN(m.Value) || math.IsInf(m.Value, 0):
			return nil, Errorf(ErrInvalid, "metrics[%d]: value must be a finite number", i)
		case m.Step < 0:
			return nil, Errorf(ErrInvalid, "metrics[%d]: step must not be negative", i)
		case len(m.Dataset) > 255 || len(m.Split) > 64 || len(m.Environment) > 128:
			return nil, Errorf(ErrInvalid, "metrics[%d]: dataset, split or environment too long", i)
		}
		if err := checkMetricSource(i, *m); err != nil {
			return nil, err
		}
		if m.Timestamp.IsZero() {
			m.Timestamp = now
		}
		m.Timestamp = m.Timestamp.UTC().Truncate(time.Microsecond)
		m.RecordedBy = ActorName(ctx)
		keys[m.Key] = true
		if m.RunID != "" {
			runs[m.RunID] = true
		}
	}
	err := s.meta.InTx(ctx, func(tx MetaStore) error {
		for _, id := range slices.Sorted(maps.Keys(runs)) {
			if _, err := tx.GetRun(ctx, id); errors.Is(err, ErrNotFound) {
				return Errorf(ErrInvalid, "run_id: run %q is not registered (POST /api/v1/runs)", id)
			} else if err != nil {
				return err
			}
		}
		// AddMetrics says ErrNotFound for a missing model or version.
		if err := tx.AddMetrics(ctx, model, number, metrics); err != nil {
			return err
		}
		details := map[string]any{"count": len(metrics), "keys": slices.Sorted(maps.Keys(keys))}
		if len(runs) > 0 {
			details["runs"] = slices.Sorted(maps.Keys(runs))
		}
		return s.record(ctx, tx, "metrics.log", VersionResource(model, number), details)
	})
	if err != nil {
		return nil, err
	}
	return metrics, nil
}

// checkMetricSource checks what a point says of where it came from: a run
// id and a dataset version, both optional, the version only with its
// dataset.
func checkMetricSource(i int, m Metric) error {
	if m.RunID != "" {
		if err := ValidateRunID(m.RunID); err != nil {
			return Errorf(ErrInvalid, "metrics[%d]: %w", i, err)
		}
	}
	if m.DatasetVersion != "" {
		if m.Dataset == "" {
			return Errorf(ErrInvalid, "metrics[%d]: dataset_version needs its dataset", i)
		}
		if err := ValidateDatasetVersion(m.DatasetVersion); err != nil {
			return Errorf(ErrInvalid, "metrics[%d]: %w", i, err)
		}
	}
	return nil
}

// ListMetricsInput selects and pages a version's metric points.
type ListMetricsInput struct {
	Key       string // "" for every key
	PageSize  int
	PageToken string
}

// ListMetrics returns a page of a version's metric points (of one key when
// in.Key is not ""), ordered by key, step, timestamp and then the order of
// recording; the second result is the next page token ("" on the last
// page). The token is a point's position in that order, so points recorded
// meanwhile are listed when they sort after it and never repeat any.
func (s *Service) ListMetrics(ctx context.Context, model string, number int, in ListMetricsInput) ([]Metric, string, error) {
	return listMetrics(ctx, s.meta, s.pager, model, number, in)
}

// metricPages is what listing a version's points needs from the store.
type metricPages interface {
	ListMetricsPage(ctx context.Context, f MetricFilter) ([]Metric, error)
}

func listMetrics(ctx context.Context, store metricPages, pager *Pager, model string, number int, in ListMetricsInput) ([]Metric, string, error) {
	if err := validateVersionRef(model, number); err != nil {
		return nil, "", err
	}
	if in.Key != "" {
		if err := ValidateMetricKey("key", in.Key); err != nil {
			return nil, "", err
		}
	}
	// A token names a point of one version's listing with or without one key.
	l := NewListing("listMetrics", model, strconv.Itoa(number), in.Key)
	pg, cur, err := pager.start(l, in.PageSize, in.PageToken)
	if err != nil {
		return nil, "", err
	}
	f := MetricFilter{Model: model, Number: number, Key: in.Key, Limit: pg.limit + 1}
	if in.PageToken != "" {
		// Every listed point has a key, a step >= 0 and a Seq >= 1.
		if cur.Name == "" || cur.Num < 0 || cur.Seq < 1 {
			return nil, "", Errorf(ErrInvalid, "invalid page_token")
		}
		ts, err := cursorTime(cur.Time)
		if err != nil {
			return nil, "", err
		}
		f.After = &Metric{Key: cur.Name, Step: cur.Num, Timestamp: ts, Seq: cur.Seq}
	}
	// ListMetricsPage says ErrNotFound for a missing model or version.
	ms, err := store.ListMetricsPage(ctx, f)
	if err != nil {
		return nil, "", err
	}
	ms, next := endPage(pg, ms, func(m Metric) pageCursor {
		return pageCursor{Name: m.Key, Num: m.Step, Time: m.Timestamp.UnixMicro(), Seq: m.Seq}
	})
	return ms, next, nil
}
