-- upload_parts: the parts an upload session has received. See
-- mysql/0064_upload_parts.sql.
CREATE TABLE upload_parts (
    upload_id   TEXT     NOT NULL REFERENCES uploads (id) ON DELETE CASCADE,
    number      INTEGER  NOT NULL,
    size        INTEGER  NOT NULL,
    sha256      TEXT     NOT NULL,
    etag        TEXT     NOT NULL,
    hash_state  BLOB     NULL,
    prev_sha256 TEXT     NULL,
    created_at  DATETIME NOT NULL,
    PRIMARY KEY (upload_id, number)
);
