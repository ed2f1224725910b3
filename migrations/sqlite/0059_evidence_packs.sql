-- evidence_packs. See mysql/0059_evidence_packs.sql.
CREATE TABLE evidence_packs (
    id             TEXT     NOT NULL PRIMARY KEY,
    model_id       INTEGER  NOT NULL REFERENCES models (id),
    version_number INTEGER  NOT NULL,
    sha256         TEXT     NOT NULL,
    size           INTEGER  NOT NULL,
    blob_key       TEXT     NOT NULL,
    lock_mode      TEXT     NOT NULL,
    retain_until   DATETIME NULL,
    generated_by   TEXT     NOT NULL,
    generated_at   DATETIME NOT NULL
);
CREATE INDEX ix_evidence_packs_version ON evidence_packs (model_id, version_number, generated_at);
