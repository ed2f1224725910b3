-- uploads: resumable multipart upload sessions (docs/uploads.md), one file
-- path of a pending version each. The parts go to the blob store's
-- multipart upload store_upload_id, which becomes blob_key at completion.
-- open_path is path while the session is open or completing and NULL
-- otherwise: the unique key allows one live session per path (NULLs do not
-- collide). sha256 is the expected digest ('' when none was given), and the
-- file's own once completed. The sweep finds expired sessions by
-- (status, expires_at) and the owner of a multipart upload by blob_key.
CREATE TABLE uploads (
    id              CHAR(32)        CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    version_id      BIGINT          NOT NULL,
    path            VARBINARY(1024) NOT NULL,
    open_path       VARBINARY(1024) NULL,
    size            BIGINT          NOT NULL,
    sha256          VARCHAR(64)     CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    part_size       BIGINT          NOT NULL,
    blob_key        VARCHAR(512)    NOT NULL,
    store_upload_id VARCHAR(1024)   CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    status          VARCHAR(16)     NOT NULL,
    created_by      VARCHAR(255)    NOT NULL,
    created_at      DATETIME(6)     NOT NULL,
    updated_at      DATETIME(6)     NOT NULL,
    expires_at      DATETIME(6)     NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY uq_uploads_open_path (version_id, open_path),
    KEY ix_uploads_version (version_id, created_at, id),
    KEY ix_uploads_status_expires (status, expires_at),
    KEY ix_uploads_blob_key (blob_key),
    CONSTRAINT fk_uploads_version FOREIGN KEY (version_id) REFERENCES versions (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
