package modelkeep

import (
	"context"
	"slices"
)

// MetricAggregate picks the one point of a metric series that stands for a
// version in a comparison.
type MetricAggregate string

const (
	// AggregateLast is the point of the highest step, the latest among
	// equal steps: where training ended, the latest evaluation.
	AggregateLast MetricAggregate = "last"
	// AggregateMin and AggregateMax are the lowest and highest values (the
	// latest such point on ties).
	AggregateMin MetricAggregate = "min"
	AggregateMax MetricAggregate = "max"
)

// MetricAggregates lists the aggregates CompareMetrics accepts.
var MetricAggregates = []MetricAggregate{AggregateLast, AggregateMin, AggregateMax}

// Replaces reports whether point next, read after cur in (step, timestamp,
// insertion) order, replaces cur as the series' representative.
func (a MetricAggregate) Replaces(cur, next Metric) bool {
	switch a {
	case AggregateMin:
		return next.Value <= cur.Value
	case AggregateMax:
		return next.Value >= cur.Value
	}
	return true // read in order, the later point is the last one
}

// VersionMetric is the representative point of one series of a metric for
// one version: one per (version, dataset, split, environment).
type VersionMetric struct {
	Version int
	Stage   Stage
	Metric
}

// MetricComparisonFilter selects what CompareMetrics returns.
type MetricComparisonFilter struct {
	Model     string
	Key       string
	Dataset   string // "" for any
	Split     string // "" for any
	Aggregate MetricAggregate
	// BeforeNumber, when not 0, keeps versions numbered below it.
	BeforeNumber int
	// Limit bounds the versions (not the rows) returned.
	Limit int
}

// CompareMetricsInput selects and pages a comparison.
type CompareMetricsInput struct {
	Key       string
	Dataset   string
	Split     string
	Aggregate string // "" is last
	PageSize  int    // versions per page
	PageToken string
}

// CompareMetrics puts one metric of every version of a model side by side,
// newest version first: for each version that has the metric, one point per
// series (dataset, split, environment), chosen by the aggregate. A page
// holds up to PageSize versions; the second result is the next page token.
func (s *Service) CompareMetrics(ctx context.Context, model string, in CompareMetricsInput) ([]VersionMetric, string, error) {
	if err := ValidateName("model", model); err != nil {
		return nil, "", err
	}
	if err := ValidateMetricKey("key", in.Key); err != nil {
		return nil, "", err
	}
	agg := MetricAggregate(in.Aggregate)
	if agg == "" {
		agg = AggregateLast
	}
	if !slices.Contains(MetricAggregates, agg) {
		return nil, "", Errorf(ErrInvalid, "aggregate %q: want last, min or max", in.Aggregate)
	}
	l := NewListing("compareMetrics", model, in.Key, in.Dataset, in.Split, string(agg))
	pg, cur, err := s.pager.start(l, in.PageSize, in.PageToken)
	if err != nil {
		return nil, "", err
	}
	if a, ok := ActorFrom(ctx); ok && !a.CanAccessModel(model) {
		return nil, "", Errorf(ErrForbidden, "the token is not valid for model %q", model)
	}
	rows, err := s.meta.CompareMetrics(ctx, MetricComparisonFilter{
		Model: model, Key: in.Key, Dataset: in.Dataset, Split: in.Split, Aggregate: agg,
		BeforeNumber: int(cur.Num), Limit: pg.limit + 1,
	})
	if err != nil {
		return nil, "", err
	}
	// The page ends after limit versions: the rows of a further one only say
	// that there is more.
	versions, next := 0, ""
	for i, r := range rows {
		if i == 0 || r.Version != rows[i-1].Version {
			versions++
		}
		if versions > pg.limit {
			next = pg.token(pageCursor{Num: int64(rows[i-1].Version)})
			rows = rows[:i]
			break
		}
	}
	return rows, next, nil
}
