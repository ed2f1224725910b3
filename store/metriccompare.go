package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/modelkeep/modelkeep"
)

// CompareMetrics returns, for up to f.Limit versions of f.Model that have
// metric f.Key (within f.Dataset and f.Split when set), newest first, one
// point per series (dataset, split, environment): the one f.Aggregate picks
// from the series read in (step, timestamp, insertion) order. Rows are
// ordered by version number descending, then dataset, split, environment.
// ErrNotFound when the model does not exist.
//
// The points are streamed, not loaded: a series may hold one per training
// step, and only the current pick of each series is kept.
func (s *Store) CompareMetrics(ctx context.Context, f modelkeep.MetricComparisonFilter) ([]modelkeep.VersionMetric, error) {
	modelID, err := s.modelID(ctx, f.Model)
	if err != nil {
		return nil, err
	}
	db := s.db.WithContext(ctx)
	op := fmt.Sprintf("compare metric %q of model %q", f.Key, f.Model)
	filter := "metrics.metric_key = ?"
	args := []any{f.Key}
	if f.Dataset != "" {
		filter += " AND metrics.dataset = ?"
		args = append(args, f.Dataset)
	}
	if f.Split != "" {
		filter += " AND metrics.split = ?"
		args = append(args, f.Split)
	}

	// The page: versions with the metric, newest first.
	q := db.Model(&versionRow{}).Select("id", "number", "stage").Where("model_id = ?", modelID).
		Where("EXISTS (SELECT 1 FROM metrics WHERE metrics.version_id = versions.id AND "+filter+")", args...)
	if f.BeforeNumber != 0 {
		q = q.Where("number < ?", f.BeforeNumber)
	}
	if f.Limit > 0 {
		q = q.Limit(f.Limit)
	}
	var versions []versionRow
	if err := q.Order("number DESC").Find(&versions).Error; err != nil {
		return nil, dbErr(op, err)
	}
	out := []modelkeep.VersionMetric{}
	if len(versions) == 0 {
		return out, nil
	}
	byID := map[int64]versionRow{}
	ids := make([]int64, len(versions))
	for i, v := range versions {
		byID[v.ID], ids[i] = v, v.ID
	}

	rows, err := db.Model(&metricRow{}).Where("metrics.version_id IN ?", ids).Where(filter, args...).
		Order("step, ts, id").Rows()
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer rows.Close()
	type series struct {
		versionID             int64
		dataset, split, where string
	}
	picks := map[series]modelkeep.Metric{}
	for rows.Next() {
		var r metricRow
		if err := db.ScanRows(rows, &r); err != nil {
			return nil, dbErr(op, err)
		}
		m := modelkeep.Metric{
			Key: r.MetricKey, Value: r.Value, Step: r.Step, Dataset: r.Dataset, Split: r.Split,
			Environment: r.Environment, Timestamp: r.TS.UTC(), RecordedBy: r.RecordedBy,
		}
		k := series{r.VersionID, r.Dataset, r.Split, r.Environment}
		if cur, ok := picks[k]; !ok || f.Aggregate.Replaces(cur, m) {
			picks[k] = m
		}
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr(op, err)
	}
	for k, m := range picks {
		v := byID[k.versionID]
		out = append(out, modelkeep.VersionMetric{Version: v.Number, Stage: modelkeep.Stage(v.Stage), Metric: m})
	}
	slices.SortFunc(out, func(a, b modelkeep.VersionMetric) int {
		return cmp.Or(cmp.Compare(b.Version, a.Version), cmp.Compare(a.Dataset, b.Dataset),
			cmp.Compare(a.Split, b.Split), cmp.Compare(a.Environment, b.Environment))
	})
	return out, nil
}
