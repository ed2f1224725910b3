-- tokens: Modelkeep-issued bearer tokens (their records; the signed token is
-- shown once and never stored). id is the JWT's jti.
CREATE TABLE tokens (
    id         VARCHAR(64)  NOT NULL,
    subject    VARCHAR(128) NOT NULL,
    roles      TEXT         NOT NULL,
    models     TEXT         NOT NULL,
    created_by VARCHAR(255) NOT NULL,
    created_at DATETIME(6)  NOT NULL,
    expires_at DATETIME(6)  NOT NULL,
    revoked_at DATETIME(6)  NULL,
    PRIMARY KEY (id),
    KEY ix_tokens_created (created_at, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
