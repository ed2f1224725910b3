package store

import (
	"context"

	"gorm.io/gorm"

	"github.com/modelkeep/modelkeep"
)

// listByMetric reads a version list sorted by a metric (order_by=metrics.<key>,
// either direction) in two phases, so that neither sorts the model's
// versions: first the versions that have the metric, read from
// ix_latest_metrics_value in order (value, then version number: 0043), then
// those that have none, by number, as every order puts them last. f.After
// continues either phase: a position with a value is in the first, one
// without in the second. where adds the list's own conditions (model,
// stage, status, filter) to a query on versions.
func (s *Store) listByMetric(ctx context.Context, m modelAt, f modelkeep.VersionFilter, where func(*gorm.DB) *gorm.DB) ([]modelkeep.Version, error) {
	withValue, withoutValue, err := s.metricOrderQueries(s.db.WithContext(ctx), m, f, where)
	if err != nil {
		return nil, err
	}
	var out []modelkeep.Version
	if withValue != nil {
		if f.Limit > 0 {
			withValue = withValue.Limit(f.Limit)
		}
		if out, err = s.readVersions(ctx, withValue, f.Model, m, describeList(f.Model)); err != nil {
			return nil, err
		}
		if f.Limit > 0 && len(out) >= f.Limit {
			return out, nil
		}
	}
	if f.Limit > 0 {
		withoutValue = withoutValue.Limit(f.Limit - len(out))
	}
	vs, err := s.readVersions(ctx, withoutValue, f.Model, m, describeList(f.Model))
	if err != nil {
		return nil, err
	}
	return append(out, vs...), nil
}

// metricOrderQueries builds the two phases of listByMetric, without their
// limits: withValue is nil when f.After is already past it.
func (s *Store) metricOrderQueries(db *gorm.DB, m modelAt, f modelkeep.VersionFilter, where func(*gorm.DB) *gorm.DB) (withValue, withoutValue *gorm.DB, err error) {
	key := f.Order.Field.Key
	dir, cmp, cmpOrEq := " ASC", " > ", " >= "
	if f.Order.Desc {
		dir, cmp, cmpOrEq = " DESC", " < ", " <= "
	}
	var afterValue *float64
	if f.After != nil && f.After.Value != nil {
		v, ok := f.After.Value.(float64)
		if !ok {
			return nil, nil, modelkeep.Errorf(modelkeep.ErrInvalid, "invalid page_token")
		}
		afterValue = &v
	}
	sel := stateColumns
	inNullPhase := f.After != nil && f.After.Value == nil
	if !inNullPhase {
		// The join order is fixed (STRAIGHT_JOIN, CROSS JOIN): the index
		// gives the order, and the engine stops after a page.
		join, sel1 := fixedJoin(s.dialect)
		// The sort value after the state: readVersions gives it as
		// Version.SortValue, of which the page token is made.
		sel1 += sel + ", sort_metric.value"
		q := db.Table("latest_metrics AS sort_metric").Select(sel1).
			Joins(join+" versions ON versions.id = sort_metric.version_id").
			Where("sort_metric.model_id = ? AND sort_metric.metric_key = ?", m.id, key)
		if afterValue != nil {
			// The redundant range first: one the engine can seek to.
			q = q.Where("sort_metric.value"+cmpOrEq+"? AND (sort_metric.value"+cmp+"? OR sort_metric.version_number"+cmp+"?)",
				*afterValue, *afterValue, f.After.Number)
		}
		withValue = where(q).Order("sort_metric.value" + dir + ", sort_metric.version_number" + dir)
	}
	q := db.Table("versions").Select(sel).
		Where("NOT EXISTS (SELECT 1 FROM latest_metrics nm WHERE nm.version_id = versions.id AND nm.metric_key = ?)", key)
	if inNullPhase {
		q = q.Where("versions.number"+cmp+"?", f.After.Number)
	}
	return withValue, where(q).Order("versions.number" + dir), nil
}
