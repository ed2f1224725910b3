-- policies: a model's promotion policy, at most one row per model (none: the
-- default of one approval and no gates). The collections are JSON text.
CREATE TABLE policies (
    model_id           BIGINT       NOT NULL,
    required_approvals INT          NOT NULL,
    required_tags      MEDIUMTEXT   NOT NULL COMMENT 'JSON object',
    metric_gates       MEDIUMTEXT   NOT NULL COMMENT 'JSON array',
    protected_aliases  MEDIUMTEXT   NOT NULL COMMENT 'JSON array',
    updated_by         VARCHAR(255) NOT NULL,
    updated_at         DATETIME(6)  NOT NULL,
    PRIMARY KEY (model_id),
    CONSTRAINT fk_policies_model FOREIGN KEY (model_id) REFERENCES models (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
