-- audit_checkpoints: signed checkpoints of the audit chain. See
-- mysql/0010_audit_checkpoints.sql.
CREATE TABLE audit_checkpoints (
    seq        INTEGER  PRIMARY KEY,
    hash       TEXT     NOT NULL,
    time       DATETIME NOT NULL,
    kind       TEXT     NOT NULL,
    key_id     TEXT     NOT NULL,
    public_key TEXT     NOT NULL,
    signature  TEXT     NOT NULL
);
CREATE INDEX ix_audit_checkpoints_kind ON audit_checkpoints (kind, seq);
