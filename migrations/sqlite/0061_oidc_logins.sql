-- oidc_logins. See mysql/0061_oidc_logins.sql.
CREATE TABLE oidc_logins (
    id            TEXT     NOT NULL PRIMARY KEY,
    nonce         TEXT     NOT NULL,
    code_verifier TEXT     NOT NULL,
    return_to     TEXT     NOT NULL,
    created_at    DATETIME NOT NULL,
    expires_at    DATETIME NOT NULL
);
CREATE INDEX ix_oidc_logins_expires ON oidc_logins (expires_at);
