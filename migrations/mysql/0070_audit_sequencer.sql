-- audit_sequencer: the single row (id = 1) naming the process that runs the
-- audit sequencer, and until when its lease holds (Unix microseconds). A process takes the
-- lease when it is free or expired, and renews it while it runs; the others
-- wait for it to expire. The lease only elects who polls: every sequencer
-- pass also locks audit_head, so two passes can never chain a record twice
-- or fork the chain, even when clocks disagree about the expiry.
CREATE TABLE audit_sequencer (
    id      INT          NOT NULL,
    holder  VARCHAR(255) NOT NULL,
    expires_us BIGINT      NOT NULL,
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
