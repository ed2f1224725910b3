-- deployments: the ledger of rollouts. A row runs from deployed_at until
-- ended_at (NULL: still running). Rows go with their model (ON DELETE
-- CASCADE): a model that was ever in production cannot be deleted, so only
-- the ledger of models that never reached production can go.
-- replaces_version is a version number, not a row id, like parent_version.
CREATE TABLE deployments (
    id               VARCHAR(64)  NOT NULL,
    model_id         BIGINT       NOT NULL,
    version_id       BIGINT       NOT NULL,
    environment      VARCHAR(128) NOT NULL,
    strategy         VARCHAR(32)  NOT NULL,
    traffic_percent  INT          NOT NULL,
    replaces_version INT          NULL,
    deployed_by      VARCHAR(255) NOT NULL,
    deployed_at      DATETIME(6)  NOT NULL,
    ended_at         DATETIME(6)  NULL,
    PRIMARY KEY (id),
    KEY ix_deployments_environment (environment, deployed_at, id),
    KEY ix_deployments_model (model_id, deployed_at, id),
    KEY ix_deployments_running (model_id, environment, ended_at),
    KEY ix_deployments_version (version_id),
    CONSTRAINT fk_deployments_model FOREIGN KEY (model_id) REFERENCES models (id) ON DELETE CASCADE,
    CONSTRAINT fk_deployments_version FOREIGN KEY (version_id) REFERENCES versions (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
