-- approvals: one approver's yes to a transition, with the promotion gates as
-- evaluated then (gates: JSON array of {gate, passed, detail}). The unique
-- key makes approvals come from distinct approvers even under races.
CREATE TABLE approvals (
    id            BIGINT       NOT NULL AUTO_INCREMENT,
    transition_id VARCHAR(64)  NOT NULL,
    approver      VARCHAR(255) NOT NULL,
    comment       TEXT         NOT NULL,
    at            DATETIME(6)  NOT NULL,
    gates         MEDIUMTEXT   NOT NULL COMMENT 'JSON array',
    PRIMARY KEY (id),
    UNIQUE KEY uq_approvals_transition_approver (transition_id, approver),
    CONSTRAINT fk_approvals_transition FOREIGN KEY (transition_id) REFERENCES transitions (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
