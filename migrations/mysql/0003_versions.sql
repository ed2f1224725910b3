-- versions: numbered releases of a model. tags, params and datasets are JSON
-- text (MEDIUMTEXT: the domain allows more than TEXT's 64 KiB).
-- parent_model/parent_version name the parent by name, not by id: the parent
-- may live in another model and outlive or predate this row.
CREATE TABLE versions (
    id                BIGINT       NOT NULL AUTO_INCREMENT,
    model_id          BIGINT       NOT NULL,
    number            INT          NOT NULL,
    description       TEXT         NOT NULL,
    tags              MEDIUMTEXT   NOT NULL COMMENT 'JSON object',
    params            MEDIUMTEXT   NOT NULL COMMENT 'JSON object',
    source_run_id     VARCHAR(255) NOT NULL,
    source_git_commit VARCHAR(255) NOT NULL,
    source_code_uri   TEXT         NOT NULL,
    datasets          MEDIUMTEXT   NOT NULL COMMENT 'JSON array',
    parent_model      VARCHAR(128) NULL,
    parent_version    INT          NULL,
    status            VARCHAR(16)  NOT NULL,
    stage             VARCHAR(16)  NOT NULL,
    manifest_digest   VARCHAR(80)  NOT NULL,
    ever_production   BOOLEAN      NOT NULL DEFAULT FALSE,
    created_by        VARCHAR(255) NOT NULL,
    created_at        DATETIME(6)  NOT NULL,
    updated_at        DATETIME(6)  NOT NULL,
    finalized_at      DATETIME(6)  NULL,
    PRIMARY KEY (id),
    UNIQUE KEY uq_versions_model_number (model_id, number),
    KEY ix_versions_model_stage (model_id, stage),
    KEY ix_versions_model_status (model_id, status),
    KEY ix_versions_parent (parent_model, parent_version),
    CONSTRAINT fk_versions_model FOREIGN KEY (model_id) REFERENCES models (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
