package store

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// The search side tables (migrations 0020 to 0025): versions' tags and params
// one row per entry, and each version's latest value of each metric, so that
// filters on tags.<key>, params.<key> and metrics.<key> read an index instead
// of JSON text. They are written in the same transaction as what they mirror.
// model_id repeats the version's model (which never changes) so that their
// search indexes are scoped to one model, as every version list is.

type versionTagRow struct {
	VersionID int64  `gorm:"column:version_id;primaryKey;autoIncrement:false"`
	ModelID   int64  `gorm:"column:model_id"`
	TagKey    string `gorm:"column:tag_key;primaryKey"`
	TagValue  string `gorm:"column:tag_value"`
}

func (versionTagRow) TableName() string { return "version_tags" }

type versionParamRow struct {
	VersionID  int64  `gorm:"column:version_id;primaryKey;autoIncrement:false"`
	ModelID    int64  `gorm:"column:model_id"`
	ParamKey   string `gorm:"column:param_key;primaryKey"`
	ParamValue string `gorm:"column:param_value"`
}

func (versionParamRow) TableName() string { return "version_params" }

type latestMetricRow struct {
	VersionID int64     `gorm:"column:version_id;primaryKey;autoIncrement:false"`
	ModelID   int64     `gorm:"column:model_id"`
	MetricKey string    `gorm:"column:metric_key;primaryKey"`
	Value     float64   `gorm:"column:value"`
	Step      int64     `gorm:"column:step"`
	TS        time.Time `gorm:"column:ts"`
}

func (latestMetricRow) TableName() string { return "latest_metrics" }

// kvBatch bounds the rows of one INSERT of tags or params (4 placeholders
// each); a version may have up to modelkeep.MaxParams params.
const kvBatch = 500

// putVersionKV writes the version_tags and version_params rows of a new
// version. Versions' tags and params never change after creation; code that
// comes to change them must rewrite these rows in the same transaction.
func (s *Store) putVersionKV(ctx context.Context, versionID, modelID int64, tags, params map[string]string) error {
	db := s.db.WithContext(ctx)
	if len(tags) > 0 {
		rows := make([]versionTagRow, 0, len(tags))
		for _, k := range slices.Sorted(maps.Keys(tags)) {
			rows = append(rows, versionTagRow{VersionID: versionID, ModelID: modelID, TagKey: k, TagValue: tags[k]})
		}
		if err := db.CreateInBatches(rows, kvBatch).Error; err != nil {
			return dbErr("store version tags", err)
		}
	}
	if len(params) > 0 {
		rows := make([]versionParamRow, 0, len(params))
		for _, k := range slices.Sorted(maps.Keys(params)) {
			rows = append(rows, versionParamRow{VersionID: versionID, ModelID: modelID, ParamKey: k, ParamValue: params[k]})
		}
		if err := db.CreateInBatches(rows, kvBatch).Error; err != nil {
			return dbErr("store version params", err)
		}
	}
	return nil
}

// supersedes reports whether metric point b, recorded after a, replaces a
// as the latest: a higher step, or the same step and a timestamp not older.
func supersedes(a, b latestMetricRow) bool {
	return b.Step > a.Step || b.Step == a.Step && !b.TS.Before(a.TS)
}

// updateLatestMetrics folds points just recorded for version v (in the order
// recorded) into latest_metrics. The caller holds the version row's lock, so
// concurrent calls for one version take turns and never both insert a key.
func (s *Store) updateLatestMetrics(ctx context.Context, v versionRow, points []metricRow) error {
	db := s.db.WithContext(ctx)
	best := map[string]latestMetricRow{}
	for _, p := range points {
		r := latestMetricRow{VersionID: v.ID, ModelID: v.ModelID, MetricKey: p.MetricKey, Value: p.Value, Step: p.Step, TS: p.TS}
		if cur, ok := best[p.MetricKey]; !ok || supersedes(cur, r) {
			best[p.MetricKey] = r
		}
	}
	keys := slices.Sorted(maps.Keys(best))
	var existing []latestMetricRow
	if err := db.Where("version_id = ? AND metric_key IN ?", v.ID, keys).Find(&existing).Error; err != nil {
		return dbErr("read latest metrics", err)
	}
	for _, old := range existing {
		if !supersedes(old, best[old.MetricKey]) {
			delete(best, old.MetricKey)
		}
	}
	if len(best) == 0 {
		return nil
	}
	rows := make([]latestMetricRow, 0, len(best))
	for _, k := range keys {
		if r, ok := best[k]; ok {
			rows = append(rows, r)
		}
	}
	err := db.Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "version_id"}, {Name: "metric_key"}},
		DoUpdates: clause.AssignmentColumns([]string{"value", "step", "ts"}),
	}).CreateInBatches(rows, metricsBatch).Error
	if err != nil {
		return dbErr("update latest metrics", err)
	}
	return nil
}

// lockVersion takes the version row's write lock until the transaction ends
// (SQLite's write transactions serialise anyway).
func (s *Store) lockVersion(ctx context.Context, versionID int64) error {
	db := s.db.WithContext(ctx)
	var row versionRow
	err := db.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate}).
		Select("id").Where("id = ?", versionID).Take(&row).Error
	if err != nil {
		return notFound("lock version", err, "version not found")
	}
	return nil
}

// latestMetricOf reads one row of latest_metrics; found is false when there
// is none.
func (s *Store) latestMetricOf(ctx context.Context, versionID int64, key string) (row latestMetricRow, found bool, err error) {
	db := s.db.WithContext(ctx)
	err = db.Where("version_id = ? AND metric_key = ?", versionID, key).Take(&row).Error
	switch {
	case err == nil:
		return row, true, nil
	case errors.Is(err, gorm.ErrRecordNotFound):
		return row, false, nil
	}
	return row, false, dbErr(fmt.Sprintf("read latest metric %q", key), err)
}
