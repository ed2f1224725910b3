-- files: the artifacts of a version. TEXT compares bytewise (BINARY
-- collation), so paths are case-sensitive and sorted like the manifest.
CREATE TABLE files (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    version_id INTEGER  NOT NULL REFERENCES versions (id) ON DELETE CASCADE,
    path       TEXT     NOT NULL,
    size       INTEGER  NOT NULL,
    sha256     TEXT     NOT NULL,
    blob_key   TEXT     NOT NULL,
    created_at DATETIME NOT NULL
);
CREATE UNIQUE INDEX uq_files_version_path ON files (version_id, path);
CREATE INDEX ix_files_blob_key ON files (blob_key);
