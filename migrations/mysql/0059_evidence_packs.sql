-- evidence_packs: every evidence pack generated, archived in the blob store
-- as an immutable object (with the Object Lock it got, if any).
CREATE TABLE evidence_packs (
    id             VARCHAR(64)   NOT NULL,
    model_id       BIGINT        NOT NULL,
    version_number INT           NOT NULL,
    sha256         CHAR(64)      NOT NULL,
    size           BIGINT        NOT NULL,
    blob_key       VARCHAR(1024) NOT NULL,
    lock_mode      VARCHAR(16)   NOT NULL,
    retain_until   DATETIME(6)   NULL,
    generated_by   VARCHAR(255)  NOT NULL,
    generated_at   DATETIME(6)   NOT NULL,
    PRIMARY KEY (id),
    KEY ix_evidence_packs_version (model_id, version_number, generated_at),
    CONSTRAINT fk_evidence_packs_model FOREIGN KEY (model_id) REFERENCES models (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
