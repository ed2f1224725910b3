-- metrics: measured values of a version (training curves, evaluations,
-- production monitoring). "key" is reserved in MySQL, hence metric_key; ts
-- rather than "timestamp" for the same reason. Listing reads them by
-- (version_id, metric_key, step, ts).
CREATE TABLE metrics (
    id          BIGINT       NOT NULL AUTO_INCREMENT,
    version_id  BIGINT       NOT NULL,
    metric_key  VARCHAR(255) NOT NULL,
    value       DOUBLE       NOT NULL,
    step        BIGINT       NOT NULL,
    dataset     VARCHAR(255) NOT NULL,
    split       VARCHAR(64)  NOT NULL,
    environment VARCHAR(128) NOT NULL,
    ts          DATETIME(6)  NOT NULL,
    recorded_by VARCHAR(255) NOT NULL,
    PRIMARY KEY (id),
    KEY ix_metrics_version_key (version_id, metric_key, step, ts),
    CONSTRAINT fk_metrics_version FOREIGN KEY (version_id) REFERENCES versions (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
