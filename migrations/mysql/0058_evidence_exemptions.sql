-- evidence_exemptions: a requirement row justified as not applicable to a
-- model (version_number 0: all its versions) or one version, by whom and
-- when, and the audit event that recorded it.
CREATE TABLE evidence_exemptions (
    model_id       BIGINT       NOT NULL,
    version_number INT          NOT NULL,
    row_id         VARCHAR(64)  NOT NULL,
    justification  TEXT         NOT NULL,
    entered_by     VARCHAR(255) NOT NULL,
    entered_at     DATETIME(6)  NOT NULL,
    audit_seq      BIGINT       NOT NULL,
    PRIMARY KEY (model_id, version_number, row_id),
    CONSTRAINT fk_evidence_exemptions_model FOREIGN KEY (model_id) REFERENCES models (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
