-- web_sessions. See mysql/0060_web_sessions.sql.
CREATE TABLE web_sessions (
    id              TEXT     NOT NULL PRIMARY KEY,
    subject         TEXT     NOT NULL,
    roles           TEXT     NOT NULL,
    models          TEXT     NOT NULL,
    source          TEXT     NOT NULL,
    token_id        TEXT     NOT NULL,
    csrf_token      TEXT     NOT NULL,
    created_at      DATETIME NOT NULL,
    last_seen_at    DATETIME NOT NULL,
    idle_expires_at DATETIME NOT NULL,
    expires_at      DATETIME NOT NULL,
    revoked_at      DATETIME NULL
);
CREATE INDEX ix_web_sessions_expires ON web_sessions (expires_at);
CREATE INDEX ix_web_sessions_idle ON web_sessions (idle_expires_at);
