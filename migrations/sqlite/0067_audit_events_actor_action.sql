-- See mysql/0067_audit_events_actor_action.sql (in SQLite an index ends in
-- the rowid, which is seq).
CREATE INDEX ix_audit_events_actor_action ON audit_events (actor, action);
