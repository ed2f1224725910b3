-- tokens: Modelkeep-issued bearer tokens (their records; the signed token is
-- shown once and never stored). id is the JWT's jti.
CREATE TABLE tokens (
    id         TEXT     NOT NULL PRIMARY KEY,
    subject    TEXT     NOT NULL,
    roles      TEXT     NOT NULL,
    models     TEXT     NOT NULL,
    created_by TEXT     NOT NULL,
    created_at DATETIME NOT NULL,
    expires_at DATETIME NOT NULL,
    revoked_at DATETIME NULL
);
CREATE INDEX ix_tokens_created ON tokens (created_at, id);
