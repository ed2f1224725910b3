-- evidence_exemptions. See mysql/0058_evidence_exemptions.sql.
CREATE TABLE evidence_exemptions (
    model_id       INTEGER  NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    version_number INTEGER  NOT NULL,
    row_id         TEXT     NOT NULL,
    justification  TEXT     NOT NULL,
    entered_by     TEXT     NOT NULL,
    entered_at     DATETIME NOT NULL,
    audit_seq      INTEGER  NOT NULL,
    PRIMARY KEY (model_id, version_number, row_id)
);
