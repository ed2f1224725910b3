-- oidc_logins: sign-ins in flight at the identity provider (package
-- websession), each known by the hex SHA-256 of its state (id), removed when
-- the provider sends the browser back (a state is used once) or, unused, by
-- the session sweep after expires_at (ten minutes).
CREATE TABLE oidc_logins (
    id            CHAR(64)      NOT NULL,
    nonce         VARCHAR(64)   NOT NULL,
    code_verifier VARCHAR(128)  NOT NULL,
    return_to     VARCHAR(2048) NOT NULL,
    created_at    DATETIME(6)   NOT NULL,
    expires_at    DATETIME(6)   NOT NULL,
    PRIMARY KEY (id),
    KEY ix_oidc_logins_expires (expires_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
