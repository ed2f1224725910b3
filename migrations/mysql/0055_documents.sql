-- documents: immutable evidence files (risk management file, instructions
-- for use, declaration of conformity, test reports, ...), one per content:
-- sha256 is unique and the bytes are in the blob store under blob_key.
CREATE TABLE documents (
    id          VARCHAR(64)  NOT NULL,
    sha256      CHAR(64)     NOT NULL,
    kind        VARCHAR(64)  NOT NULL,
    title       VARCHAR(512) NOT NULL,
    doc_version VARCHAR(128) NOT NULL,
    media_type  VARCHAR(255) NOT NULL,
    size        BIGINT       NOT NULL,
    blob_key    VARCHAR(1024) NOT NULL,
    created_by  VARCHAR(255) NOT NULL,
    created_at  DATETIME(6)  NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY uq_documents_sha256 (sha256),
    KEY ix_documents_kind (kind, created_at, id),
    KEY ix_documents_created (created_at, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
