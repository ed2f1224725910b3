-- The index a metric threshold and a sort by a metric read: a model's values
-- of one key in order, ties by version number. It replaces 0024's, which
-- ended with the version id.
ALTER TABLE latest_metrics
    DROP KEY ix_latest_metrics_search,
    ADD KEY ix_latest_metrics_value (model_id, metric_key, value, version_number);
