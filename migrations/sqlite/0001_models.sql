-- models: one row per named model family. See mysql/0001_models.sql.
-- Ids use AUTOINCREMENT so that, as in InnoDB, a deleted row's id is never
-- given to a new row. Times are DATETIME (the driver parses that type name
-- into time.Time) holding UTC text with microseconds.
CREATE TABLE models (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    name           TEXT     NOT NULL,
    description    TEXT     NOT NULL,
    tags           TEXT     NOT NULL,
    created_by     TEXT     NOT NULL,
    created_at     DATETIME NOT NULL,
    updated_at     DATETIME NOT NULL,
    latest_version INTEGER  NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX uq_models_name ON models (name);
