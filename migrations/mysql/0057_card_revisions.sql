-- card_revisions: every revision of every model card, never changed: a
-- model's card has version_number 0, a version's its number. The body is
-- the card's JSON as stored (document references completed); audit_seq the
-- event that recorded the revision.
CREATE TABLE card_revisions (
    id             BIGINT       NOT NULL AUTO_INCREMENT,
    model_id       BIGINT       NOT NULL,
    version_number INT          NOT NULL,
    revision       INT          NOT NULL,
    body           MEDIUMTEXT   NOT NULL COMMENT 'JSON object',
    created_by     VARCHAR(255) NOT NULL,
    created_at     DATETIME(6)  NOT NULL,
    audit_seq      BIGINT       NOT NULL DEFAULT 0,
    PRIMARY KEY (id),
    UNIQUE KEY uq_card_revisions (model_id, version_number, revision),
    CONSTRAINT fk_card_revisions_model FOREIGN KEY (model_id) REFERENCES models (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
