-- audit_events: the append-only, hash-chained audit log. seq is assigned by
-- the store from audit_head, not by AUTO_INCREMENT, so the chain has no gaps.
-- details is LONGTEXT, not JSON: MySQL's JSON type rewrites the document, and
-- the hash covers the exact bytes.
-- Secondary indexes end in the primary key (seq) in InnoDB, so "actor = ?
-- ORDER BY seq DESC" reads the (actor) index in order. resource is indexed by
-- a prefix: a file's resource name can exceed the 3072-byte key limit.
CREATE TABLE audit_events (
    seq         BIGINT        NOT NULL,
    time        DATETIME(6)   NOT NULL,
    actor       VARCHAR(255)  NOT NULL,
    action      VARCHAR(128)  NOT NULL,
    resource    VARCHAR(2048) NOT NULL,
    outcome     VARCHAR(32)   NOT NULL,
    request_id  VARCHAR(255)  NOT NULL,
    remote_addr VARCHAR(255)  NOT NULL,
    details     LONGTEXT      NOT NULL,
    prev_hash   CHAR(64)      CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    hash        CHAR(64)      CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    PRIMARY KEY (seq),
    KEY ix_audit_events_actor (actor),
    KEY ix_audit_events_action (action),
    KEY ix_audit_events_resource (resource(512)),
    KEY ix_audit_events_time (time)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
