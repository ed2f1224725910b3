-- audit_head: the single row (id = 1) holding the last seq and hash of the
-- audit chain.
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY,
    seq  INTEGER NOT NULL,
    hash TEXT    NOT NULL
);
