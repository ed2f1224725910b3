-- versions: numbered releases of a model. See mysql/0003_versions.sql.
CREATE TABLE versions (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    model_id          INTEGER  NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    number            INTEGER  NOT NULL,
    description       TEXT     NOT NULL,
    tags              TEXT     NOT NULL,
    params            TEXT     NOT NULL,
    source_run_id     TEXT     NOT NULL,
    source_git_commit TEXT     NOT NULL,
    source_code_uri   TEXT     NOT NULL,
    datasets          TEXT     NOT NULL,
    parent_model      TEXT     NULL,
    parent_version    INTEGER  NULL,
    status            TEXT     NOT NULL,
    stage             TEXT     NOT NULL,
    manifest_digest   TEXT     NOT NULL,
    ever_production   INTEGER  NOT NULL DEFAULT 0,
    created_by        TEXT     NOT NULL,
    created_at        DATETIME NOT NULL,
    updated_at        DATETIME NOT NULL,
    finalized_at      DATETIME NULL
);
CREATE UNIQUE INDEX uq_versions_model_number ON versions (model_id, number);
CREATE INDEX ix_versions_model_stage ON versions (model_id, stage);
CREATE INDEX ix_versions_model_status ON versions (model_id, status);
CREATE INDEX ix_versions_parent ON versions (parent_model, parent_version);
