-- web_sessions: browser sessions of the web UI (package websession). A
-- session is known by the hex SHA-256 of its cookie value (id), never by the
-- value. token_id is the jti of the token it was made from ('' for a sign-in
-- at the identity provider); roles and models are JSON arrays, as in tokens.
CREATE TABLE web_sessions (
    id              CHAR(64)     NOT NULL,
    subject         VARCHAR(255) NOT NULL,
    roles           TEXT         NOT NULL,
    models          TEXT         NOT NULL,
    source          VARCHAR(16)  NOT NULL,
    token_id        VARCHAR(64)  NOT NULL,
    csrf_token      VARCHAR(64)  NOT NULL,
    created_at      DATETIME(6)  NOT NULL,
    last_seen_at    DATETIME(6)  NOT NULL,
    idle_expires_at DATETIME(6)  NOT NULL,
    expires_at      DATETIME(6)  NOT NULL,
    revoked_at      DATETIME(6)  NULL,
    PRIMARY KEY (id),
    KEY ix_web_sessions_expires (expires_at),
    KEY ix_web_sessions_idle (idle_expires_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
