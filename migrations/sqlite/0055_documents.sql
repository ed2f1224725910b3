-- documents: immutable evidence files. See mysql/0055_documents.sql.
CREATE TABLE documents (
    id          TEXT     NOT NULL PRIMARY KEY,
    sha256      TEXT     NOT NULL,
    kind        TEXT     NOT NULL,
    title       TEXT     NOT NULL,
    doc_version TEXT     NOT NULL,
    media_type  TEXT     NOT NULL,
    size        INTEGER  NOT NULL,
    blob_key    TEXT     NOT NULL,
    created_by  TEXT     NOT NULL,
    created_at  DATETIME NOT NULL
);
CREATE UNIQUE INDEX uq_documents_sha256 ON documents (sha256);
CREATE INDEX ix_documents_kind ON documents (kind, created_at, id);
CREATE INDEX ix_documents_created ON documents (created_at, id);
