-- policies: a model's promotion policy. See mysql/0016_policies.sql.
CREATE TABLE policies (
    model_id           INTEGER  NOT NULL PRIMARY KEY REFERENCES models (id) ON DELETE CASCADE,
    required_approvals INTEGER  NOT NULL,
    required_tags      TEXT     NOT NULL,
    metric_gates       TEXT     NOT NULL,
    protected_aliases  TEXT     NOT NULL,
    updated_by         TEXT     NOT NULL,
    updated_at         DATETIME NOT NULL
);
