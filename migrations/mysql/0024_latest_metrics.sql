-- latest_metrics: for each version and metric key, the latest point of the
-- metrics table (highest step, then newest ts, then the last recorded): what
-- filters and order_by see as metrics.<key>. AddMetrics keeps it in its
-- transaction; 0025 fills it for metrics recorded before. model_id repeats
-- versions.model_id so that a threshold or a sort on one metric within one
-- model is a range scan of ix_latest_metrics_search.
CREATE TABLE latest_metrics (
    version_id BIGINT       NOT NULL,
    model_id   BIGINT       NOT NULL,
    metric_key VARCHAR(255) NOT NULL,
    value      DOUBLE       NOT NULL,
    step       BIGINT       NOT NULL,
    ts         DATETIME(6)  NOT NULL,
    PRIMARY KEY (version_id, metric_key),
    KEY ix_latest_metrics_search (model_id, metric_key, value, version_id),
    CONSTRAINT fk_latest_metrics_version FOREIGN KEY (version_id) REFERENCES versions (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
