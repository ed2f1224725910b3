-- The metrics_rev (0039) of the AddMetrics call that wrote each row, and the
-- index the metric cache reads the rows written since a revision by.
ALTER TABLE latest_metrics
    ADD COLUMN rev BIGINT NOT NULL DEFAULT 0,
    ADD KEY ix_latest_metrics_rev (model_id, metric_key, rev);
