-- models: one row per named model family.
-- latest_version is the counter CreateVersion bumps: version numbers come from
-- it, never from MAX(number), so a number is never handed out twice.
-- Tables use utf8mb4_bin: comparisons and ORDER BY are bytewise, as in SQLite,
-- so keyset pagination and exact matches agree across dialects.
CREATE TABLE models (
    id             BIGINT       NOT NULL AUTO_INCREMENT,
    name           VARCHAR(128) NOT NULL,
    description    TEXT         NOT NULL,
    tags           MEDIUMTEXT   NOT NULL COMMENT 'JSON object',
    created_by     VARCHAR(255) NOT NULL,
    created_at     DATETIME(6)  NOT NULL,
    updated_at     DATETIME(6)  NOT NULL,
    latest_version INT          NOT NULL DEFAULT 0,
    PRIMARY KEY (id),
    UNIQUE KEY uq_models_name (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
