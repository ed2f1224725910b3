-- metrics: measured values of a version. See mysql/0019_metrics.sql.
CREATE TABLE metrics (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    version_id  INTEGER  NOT NULL REFERENCES versions (id) ON DELETE CASCADE,
    metric_key  TEXT     NOT NULL,
    value       REAL     NOT NULL,
    step        INTEGER  NOT NULL,
    dataset     TEXT     NOT NULL,
    split       TEXT     NOT NULL,
    environment TEXT     NOT NULL,
    ts          DATETIME NOT NULL,
    recorded_by TEXT     NOT NULL
);
CREATE INDEX ix_metrics_version_key ON metrics (version_id, metric_key, step, ts);
