-- page_token_keys. See mysql/0062_page_token_keys.sql.
CREATE TABLE page_token_keys (
    id         INTEGER  NOT NULL PRIMARY KEY,
    secret     BLOB     NOT NULL,
    created_at DATETIME NOT NULL
);
