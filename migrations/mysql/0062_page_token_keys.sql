-- page_token_keys: the HMAC-SHA256 key that signs page tokens
-- (modelkeep.Pager), one row (id = 1) shared by every replica. The first
-- replica to start inserts its random key unless a row exists, and every
-- replica reads the row (store.PageTokenKey). A new key (a wiped row, a
-- backup of another install) only refuses the page tokens given out before.
CREATE TABLE page_token_keys (
    id         INT           NOT NULL,
    secret     VARBINARY(64) NOT NULL,
    created_at DATETIME(6)   NOT NULL,
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
