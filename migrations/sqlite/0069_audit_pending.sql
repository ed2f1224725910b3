-- audit_pending: audit records committed with their change but not yet in
-- the hash chain. See mysql/0069_audit_pending.sql.
CREATE TABLE audit_pending (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    time        DATETIME NOT NULL,
    actor       TEXT     NOT NULL,
    action      TEXT     NOT NULL,
    resource    TEXT     NOT NULL,
    outcome     TEXT     NOT NULL,
    request_id  TEXT     NOT NULL,
    remote_addr TEXT     NOT NULL,
    details     TEXT     NOT NULL
);
