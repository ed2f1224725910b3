-- See mysql/0068_audit_events_resource_root.sql: the same value, by instr
-- and substr for SUBSTRING_INDEX and LEFT.
ALTER TABLE audit_events ADD COLUMN resource_root TEXT GENERATED ALWAYS AS (substr(
    CASE
        WHEN instr(substr(resource, instr(resource, '/') + 1), '/') = 0 OR instr(resource, '/') = 0 THEN resource
        ELSE substr(resource, 1, instr(resource, '/') + instr(substr(resource, instr(resource, '/') + 1), '/') - 1)
    END, 1, 512)) VIRTUAL;
CREATE INDEX ix_audit_events_resource_root ON audit_events (resource_root);
