-- latest_metrics: each version's latest point of each metric. See
-- mysql/0024_latest_metrics.sql.
CREATE TABLE latest_metrics (
    version_id INTEGER  NOT NULL REFERENCES versions (id) ON DELETE CASCADE,
    model_id   INTEGER  NOT NULL,
    metric_key TEXT     NOT NULL,
    value      REAL     NOT NULL,
    step       INTEGER  NOT NULL,
    ts         DATETIME NOT NULL,
    PRIMARY KEY (version_id, metric_key)
);
CREATE INDEX ix_latest_metrics_search ON latest_metrics (model_id, metric_key, value, version_id);
