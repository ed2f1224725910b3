-- deployments: the ledger of rollouts. See mysql/0018_deployments.sql.
CREATE TABLE deployments (
    id               TEXT     NOT NULL PRIMARY KEY,
    model_id         INTEGER  NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    version_id       INTEGER  NOT NULL REFERENCES versions (id) ON DELETE CASCADE,
    environment      TEXT     NOT NULL,
    strategy         TEXT     NOT NULL,
    traffic_percent  INTEGER  NOT NULL,
    replaces_version INTEGER  NULL,
    deployed_by      TEXT     NOT NULL,
    deployed_at      DATETIME NOT NULL,
    ended_at         DATETIME NULL
);
CREATE INDEX ix_deployments_environment ON deployments (environment, deployed_at, id);
CREATE INDEX ix_deployments_model ON deployments (model_id, deployed_at, id);
CREATE INDEX ix_deployments_running ON deployments (model_id, environment, ended_at);
CREATE INDEX ix_deployments_version ON deployments (version_id);
