-- Who did what: GET /api/v1/audit?actor=&action= reads this index in seq
-- order (InnoDB ends it in the primary key) instead of reading the rows of
-- every event of the actor, or of the action, to find the few of both.
CREATE INDEX ix_audit_events_actor_action ON audit_events (actor, action);
