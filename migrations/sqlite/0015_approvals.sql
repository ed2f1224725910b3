-- approvals: one approver's yes to a transition. See mysql/0015_approvals.sql.
CREATE TABLE approvals (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    transition_id TEXT     NOT NULL REFERENCES transitions (id) ON DELETE CASCADE,
    approver      TEXT     NOT NULL,
    comment       TEXT     NOT NULL,
    at            DATETIME NOT NULL,
    gates         TEXT     NOT NULL
);
CREATE UNIQUE INDEX uq_approvals_transition_approver ON approvals (transition_id, approver);
