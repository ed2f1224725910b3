-- document_signoffs: a person's sign-off of a document: the server signed
-- {sha256, signer, signed_at} (RFC 8785) with its Ed25519 key key_id.
CREATE TABLE document_signoffs (
    id          BIGINT       NOT NULL AUTO_INCREMENT,
    document_id VARCHAR(64)  NOT NULL,
    signer      VARCHAR(255) NOT NULL,
    signed_at   DATETIME(6)  NOT NULL,
    meaning     VARCHAR(64)  NOT NULL,
    comment     TEXT         NOT NULL,
    key_id      VARCHAR(64)  NOT NULL,
    signature   VARCHAR(128) NOT NULL,
    PRIMARY KEY (id),
    KEY ix_document_signoffs_document (document_id, signed_at),
    CONSTRAINT fk_document_signoffs_document FOREIGN KEY (document_id) REFERENCES documents (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
