-- transitions: requests to move a version to another stage, bound to the
-- version's manifest digest. Listing is newest first, by (requested_at, id),
-- across all models filtered by status, or within one model.
CREATE TABLE transitions (
    id                 VARCHAR(64)  NOT NULL,
    model_id           BIGINT       NOT NULL,
    version_id         BIGINT       NOT NULL,
    from_stage         VARCHAR(16)  NOT NULL,
    to_stage           VARCHAR(16)  NOT NULL,
    status             VARCHAR(16)  NOT NULL,
    comment            TEXT         NOT NULL,
    requested_by       VARCHAR(255) NOT NULL,
    requested_at       DATETIME(6)  NOT NULL,
    manifest_digest    VARCHAR(80)  NOT NULL,
    required_approvals INT          NOT NULL,
    decided_by         VARCHAR(255) NOT NULL DEFAULT '',
    decided_at         DATETIME(6)  NULL,
    decision_comment   TEXT         NOT NULL,
    PRIMARY KEY (id),
    KEY ix_transitions_status (status, requested_at, id),
    KEY ix_transitions_model (model_id, requested_at, id),
    KEY ix_transitions_version (version_id),
    CONSTRAINT fk_transitions_model FOREIGN KEY (model_id) REFERENCES models (id) ON DELETE CASCADE,
    CONSTRAINT fk_transitions_version FOREIGN KEY (version_id) REFERENCES versions (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
