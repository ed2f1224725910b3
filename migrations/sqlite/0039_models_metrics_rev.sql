-- See mysql/0039_models_metrics_rev.sql.
ALTER TABLE models ADD COLUMN metrics_rev INTEGER NOT NULL DEFAULT 0;
