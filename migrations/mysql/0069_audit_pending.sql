-- audit_pending: audit records committed with their change but not yet in
-- the hash chain. A change inserts its record here in its own transaction,
-- taking no lock shared with other changes (the AUTO_INCREMENT id only
-- breaks ties between records a sequencer pass sees at once); the sequencer
-- (store.SequenceAudit) moves committed records into audit_events, giving
-- each its seq, prev_hash and hash under the audit_head lock, and deletes
-- them here in the same transaction. The columns are audit_events' before
-- hashing; details is already canonical JSON.
CREATE TABLE audit_pending (
    id          BIGINT        NOT NULL AUTO_INCREMENT,
    time        DATETIME(6)   NOT NULL,
    actor       VARCHAR(255)  NOT NULL,
    action      VARCHAR(128)  NOT NULL,
    resource    VARCHAR(2048) NOT NULL,
    outcome     VARCHAR(32)   NOT NULL,
    request_id  VARCHAR(255)  NOT NULL,
    remote_addr VARCHAR(255)  NOT NULL,
    details     LONGTEXT      NOT NULL,
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
