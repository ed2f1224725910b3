-- audit_events: the append-only, hash-chained audit log. See
-- mysql/0006_audit_events.sql. seq is the rowid, set by the store.
CREATE TABLE audit_events (
    seq         INTEGER PRIMARY KEY,
    time        DATETIME NOT NULL,
    actor       TEXT     NOT NULL,
    action      TEXT     NOT NULL,
    resource    TEXT     NOT NULL,
    outcome     TEXT     NOT NULL,
    request_id  TEXT     NOT NULL,
    remote_addr TEXT     NOT NULL,
    details     TEXT     NOT NULL,
    prev_hash   TEXT     NOT NULL,
    hash        TEXT     NOT NULL
);
CREATE INDEX ix_audit_events_actor ON audit_events (actor);
CREATE INDEX ix_audit_events_action ON audit_events (action);
CREATE INDEX ix_audit_events_resource ON audit_events (resource);
CREATE INDEX ix_audit_events_time ON audit_events (time);
