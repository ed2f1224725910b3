-- aliases: named pointers (e.g. "champion") to one version of a model.
CREATE TABLE aliases (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    model_id   INTEGER  NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    alias      TEXT     NOT NULL,
    version_id INTEGER  NOT NULL REFERENCES versions (id) ON DELETE CASCADE,
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL
);
CREATE UNIQUE INDEX uq_aliases_model_alias ON aliases (model_id, alias);
CREATE INDEX ix_aliases_version ON aliases (version_id);
