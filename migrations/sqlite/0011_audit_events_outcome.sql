-- See mysql/0011_audit_events_outcome.sql.
CREATE INDEX ix_audit_events_outcome ON audit_events (outcome, seq);
