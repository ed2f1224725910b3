-- See mysql/0053_metrics_run.sql.
ALTER TABLE metrics ADD COLUMN run_id TEXT NOT NULL DEFAULT '';
ALTER TABLE metrics ADD COLUMN dataset_version TEXT NOT NULL DEFAULT '';
