-- transitions: requests to move a version to another stage. See
-- mysql/0014_transitions.sql.
CREATE TABLE transitions (
    id                 TEXT     NOT NULL PRIMARY KEY,
    model_id           INTEGER  NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    version_id         INTEGER  NOT NULL REFERENCES versions (id) ON DELETE CASCADE,
    from_stage         TEXT     NOT NULL,
    to_stage           TEXT     NOT NULL,
    status             TEXT     NOT NULL,
    comment            TEXT     NOT NULL,
    requested_by       TEXT     NOT NULL,
    requested_at       DATETIME NOT NULL,
    manifest_digest    TEXT     NOT NULL,
    required_approvals INTEGER  NOT NULL,
    decided_by         TEXT     NOT NULL DEFAULT '',
    decided_at         DATETIME NULL,
    decision_comment   TEXT     NOT NULL
);
CREATE INDEX ix_transitions_status ON transitions (status, requested_at, id);
CREATE INDEX ix_transitions_model ON transitions (model_id, requested_at, id);
CREATE INDEX ix_transitions_version ON transitions (version_id);
