-- uploads: resumable multipart upload sessions. See mysql/0063_uploads.sql.
CREATE TABLE uploads (
    id              TEXT     NOT NULL PRIMARY KEY,
    version_id      INTEGER  NOT NULL REFERENCES versions (id) ON DELETE CASCADE,
    path            TEXT     NOT NULL,
    open_path       TEXT     NULL,
    size            INTEGER  NOT NULL,
    sha256          TEXT     NOT NULL,
    part_size       INTEGER  NOT NULL,
    blob_key        TEXT     NOT NULL,
    store_upload_id TEXT     NOT NULL,
    status          TEXT     NOT NULL,
    created_by      TEXT     NOT NULL,
    created_at      DATETIME NOT NULL,
    updated_at      DATETIME NOT NULL,
    expires_at      DATETIME NOT NULL
);
CREATE UNIQUE INDEX uq_uploads_open_path ON uploads (version_id, open_path);
CREATE INDEX ix_uploads_version ON uploads (version_id, created_at, id);
CREATE INDEX ix_uploads_status_expires ON uploads (status, expires_at);
CREATE INDEX ix_uploads_blob_key ON uploads (blob_key);
