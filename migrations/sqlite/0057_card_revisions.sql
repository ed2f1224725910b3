-- card_revisions. See mysql/0057_card_revisions.sql.
CREATE TABLE card_revisions (
    id             INTEGER  PRIMARY KEY AUTOINCREMENT,
    model_id       INTEGER  NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    version_number INTEGER  NOT NULL,
    revision       INTEGER  NOT NULL,
    body           TEXT     NOT NULL,
    created_by     TEXT     NOT NULL,
    created_at     DATETIME NOT NULL,
    audit_seq      INTEGER  NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX uq_card_revisions ON card_revisions (model_id, version_number, revision);
