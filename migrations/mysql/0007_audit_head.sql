-- audit_head: the single row (id = 1) holding the last seq and hash of the
-- audit chain. Appends lock it, so they serialise and the chain stays linear.
CREATE TABLE audit_head (
    id   INT      NOT NULL,
    seq  BIGINT   NOT NULL,
    hash CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
