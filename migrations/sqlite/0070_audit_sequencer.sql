-- audit_sequencer: the audit sequencer's lease. See
-- mysql/0070_audit_sequencer.sql.
CREATE TABLE audit_sequencer (
    id      INTEGER PRIMARY KEY,
    holder  TEXT     NOT NULL,
    expires_us INTEGER NOT NULL
);
