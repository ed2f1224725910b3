-- Refused calls (outcome "denied") are what a reviewer of access attempts
-- lists: GET /api/v1/audit?outcome=denied reads this index in seq order (it
-- ends in the primary key) instead of scanning the log.
CREATE INDEX ix_audit_events_outcome ON audit_events (outcome);
