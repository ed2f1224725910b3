package store

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/modelkeep/modelkeep"
)

type metricRow struct {
	ID          int64     `gorm:"column:id;primaryKey"`
	VersionID   int64     `gorm:"column:version_id"`
	MetricKey   string    `gorm:"column:metric_key"` // "key" is reserved in MySQL
	Value       float64   `gorm:"column:value"`
	Step        int64     `gorm:"column:step"`
	Dataset     string    `gorm:"column:dataset"`
	Split       string    `gorm:"column:split"`
	Environment string    `gorm:"column:environment"`
	TS          time.Time `gorm:"column:ts"`
	RecordedBy  string    `gorm:"column:recorded_by"`
	// RunID and DatasetVersion name the run that produced the point and the
	// dataset version it was measured on ("" when not told).
	RunID          string `gorm:"column:run_id"`
	DatasetVersion string `gorm:"column:dataset_version"`
}

func (metricRow) TableName() string { return "metrics" }

// metricsBatch bounds the rows of one INSERT: 10 columns each stays far below
// the placeholder limits (65535 in MySQL, 32766 in SQLite) for the largest
// call the domain allows (modelkeep.MaxMetricsPerCall).
const metricsBatch = 500

// AddMetrics records metrics of a version, in one transaction; a zero
// Timestamp is the store's clock. ErrNotFound when the version does not
// exist. It keeps latest_metrics, the version's latest point of each key
// that filters and order_by read, in the same transaction.
func (s *Store) AddMetrics(ctx context.Context, model string, number int, metrics []modelkeep.Metric) error {
	if len(metrics) == 0 {
		return nil
	}
	return s.inTxStore(ctx, func(tx *Store) error {
		db := tx.db.WithContext(ctx)
		// First the model's metrics revision (metriccache.go), which locks
		// the model row: models before versions, the order every
		// transaction that takes both keeps.
		res := db.Exec("UPDATE models SET metrics_rev = metrics_rev + 1 WHERE name = ?", model)
		if res.Error != nil {
			return dbErr(fmt.Sprintf("add metrics to version %s/%d", model, number), res.Error)
		}
		if res.RowsAffected == 0 {
			return modelkeep.Errorf(modelkeep.ErrNotFound, "model %q not found", model)
		}
		var m struct {
			ID         int64 `gorm:"column:id"`
			MetricsRev int64 `gorm:"column:metrics_rev"`
		}
		if err := db.Raw("SELECT id, metrics_rev FROM models WHERE name = ?", model).Scan(&m).Error; err != nil {
			return dbErr(fmt.Sprintf("add metrics to version %s/%d", model, number), err)
		}
		rev := m.MetricsRev
		// The version, read and locked in one: on MySQL the inserts'
		// foreign key checks take a shared lock on the version row, and two
		// calls upgrading theirs to write latest_metrics would deadlock.
		var v versionRow
		err := db.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate}).
			Where("model_id = ? AND number = ?", m.ID, number).Take(&v).Error
		if err != nil {
			return notFound("add metrics", err, "version %d of model %q not found", number, model)
		}
		rows := make([]metricRow, len(metrics))
		for i, m := range metrics {
			rows[i] = metricRow{
				VersionID: v.ID, MetricKey: m.Key, Value: m.Value, Step: m.Step, Dataset: m.Dataset,
				Split: m.Split, Environment: m.Environment, TS: tx.orNow(m.Timestamp), RecordedBy: m.RecordedBy,
				RunID: m.RunID, DatasetVersion: m.DatasetVersion,
			}
		}
		if err := db.CreateInBatches(rows, metricsBatch).Error; err != nil {
			return dbErr(fmt.Sprintf("add metrics to version %s/%d", model, number), err)
		}
		return tx.updateLatestMetrics(ctx, v, rows, rev)
	})
}

// ListMetricsPage returns up to f.Limit of the version's metrics (all when
// Limit <= 0; all keys when f.Key is "") ordered by key, step, timestamp and
// id (the order of recording), after f.After when it is set; each point's
// Seq is its id. ErrNotFound when the version does not exist.
func (s *Store) ListMetricsPage(ctx context.Context, f modelkeep.MetricFilter) ([]modelkeep.Metric, error) {
	versionID, err := s.versionIDByName(ctx, f.Model, f.Number)
	if err != nil {
		return nil, err
	}
	var rows []metricRow
	if err := metricsPageQuery(s.db.WithContext(ctx), versionID, f).Find(&rows).Error; err != nil {
		return nil, dbErr(fmt.Sprintf("list metrics of version %s/%d", f.Model, f.Number), err)
	}
	out := make([]modelkeep.Metric, len(rows))
	for i, r := range rows {
		out[i] = modelkeep.Metric{
			Key: r.MetricKey, Value: r.Value, Step: r.Step, Dataset: r.Dataset, Split: r.Split,
			Environment: r.Environment, Timestamp: r.TS.UTC(), RecordedBy: r.RecordedBy, Seq: r.ID,
			RunID: r.RunID, DatasetVersion: r.DatasetVersion,
		}
	}
	return out, nil
}

// metricsPageQuery is ListMetricsPage's query for the version with row id
// versionID (f.Model and f.Number unused).
//
// A page is a range of ix_metrics_version_key (version_id, metric_key, step,
// ts), which ends with the primary key in both databases (InnoDB appends it
// to every secondary index, SQLite the rowid that id is), read in order
// from the position on, without a sort; TestListMetricsPagePlan checks the
// plans. The position is written twice: as a row comparison up to ts,
// which SQLite reads as the start of the range, and expanded into ORs,
// which MariaDB does (and which is exact, id included). Of one key, the
// order leaves metric_key out: MariaDB sorts otherwise.
func metricsPageQuery(db *gorm.DB, versionID int64, f modelkeep.MetricFilter) *gorm.DB {
	q := db.Model(&metricRow{}).Where("version_id = ?", versionID)
	a := f.After
	if f.Key != "" {
		q = q.Where("metric_key = ?", f.Key)
		switch {
		case a == nil || a.Key < f.Key:
			a = nil // the whole key is after the position
		case a.Key > f.Key:
			q = q.Where("1 = 0") // the whole key is before it
			a = nil
		}
	}
	if f.Limit > 0 {
		q = q.Limit(f.Limit)
	}
	switch {
	case a != nil && f.Key != "":
		ts := utc(a.Timestamp)
		q = q.Where("(step, ts) >= (?, ?)", a.Step, ts).
			Where("(step > ? OR (step = ? AND (ts > ? OR (ts = ? AND id > ?))))", a.Step, a.Step, ts, ts, a.Seq)
	case a != nil:
		ts := utc(a.Timestamp)
		q = q.Where("(metric_key, step, ts) >= (?, ?, ?)", a.Key, a.Step, ts).
			Where("(metric_key > ? OR (metric_key = ? AND (step > ? OR (step = ? AND (ts > ? OR (ts = ? AND id > ?))))))",
				a.Key, a.Key, a.Step, a.Step, ts, ts, a.Seq)
	}
	if f.Key != "" {
		return q.Order("step, ts, id")
	}
	return q.Order("metric_key, step, ts, id")
}
