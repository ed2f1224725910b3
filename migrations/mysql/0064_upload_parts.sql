-- upload_parts: the parts an upload session has received, each checked
-- against the SHA-256 its sender gave. etag names the bytes the blob store
-- holds (checked by it at completion). hash_state is the SHA-256 state
-- after parts 1..number when the part was hashed in order, continuing the
-- state of the part before it, whose sha256 then was prev_sha256 (''
-- for part 1); NULL when the part came before its predecessor.
CREATE TABLE upload_parts (
    upload_id   CHAR(32)       CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    number      INT            NOT NULL,
    size        BIGINT         NOT NULL,
    sha256      CHAR(64)       CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    etag        VARCHAR(255)   CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    hash_state  VARBINARY(512) NULL,
    prev_sha256 VARCHAR(64)    CHARACTER SET ascii COLLATE ascii_bin NULL,
    created_at  DATETIME(6)    NOT NULL,
    PRIMARY KEY (upload_id, number),
    CONSTRAINT fk_upload_parts_upload FOREIGN KEY (upload_id) REFERENCES uploads (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
