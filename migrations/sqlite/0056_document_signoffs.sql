-- document_signoffs. See mysql/0056_document_signoffs.sql.
CREATE TABLE document_signoffs (
    id          INTEGER  PRIMARY KEY AUTOINCREMENT,
    document_id TEXT     NOT NULL REFERENCES documents (id),
    signer      TEXT     NOT NULL,
    signed_at   DATETIME NOT NULL,
    meaning     TEXT     NOT NULL,
    comment     TEXT     NOT NULL,
    key_id      TEXT     NOT NULL,
    signature   TEXT     NOT NULL
);
CREATE INDEX ix_document_signoffs_document ON document_signoffs (document_id, signed_at);
