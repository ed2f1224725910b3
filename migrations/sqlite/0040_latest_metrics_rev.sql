-- See mysql/0040_latest_metrics_rev.sql.
ALTER TABLE latest_metrics ADD COLUMN rev INTEGER NOT NULL DEFAULT 0;
CREATE INDEX ix_latest_metrics_rev ON latest_metrics (model_id, metric_key, rev);
