-- files: the artifacts of a version.
-- path is VARBINARY(1024): case-sensitive, compared and sorted bytewise (the
-- manifest digest sorts paths bytewise too), and at most 1024 bytes like
-- modelkeep.MaxPathLen. As bytes it fits in the (version_id, path) unique key
-- (8 + 1024 bytes, below InnoDB's 3072), so no path hash column is needed;
-- a utf8mb4 VARCHAR(1024) would need 4096 bytes.
CREATE TABLE files (
    id         BIGINT          NOT NULL AUTO_INCREMENT,
    version_id BIGINT          NOT NULL,
    path       VARBINARY(1024) NOT NULL,
    size       BIGINT          NOT NULL,
    sha256     CHAR(64)        CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    blob_key   VARCHAR(512)    NOT NULL,
    created_at DATETIME(6)     NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY uq_files_version_path (version_id, path),
    KEY ix_files_blob_key (blob_key),
    CONSTRAINT fk_files_version FOREIGN KEY (version_id) REFERENCES versions (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
