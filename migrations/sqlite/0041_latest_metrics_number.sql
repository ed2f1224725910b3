-- See mysql/0041_latest_metrics_number.sql.
ALTER TABLE latest_metrics ADD COLUMN version_number INTEGER NOT NULL DEFAULT 0;
