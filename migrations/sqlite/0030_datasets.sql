-- datasets: registered dataset versions. See mysql/0030_datasets.sql.
CREATE TABLE datasets (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT     NOT NULL,
    version     TEXT     NOT NULL,
    uri         TEXT     NOT NULL,
    sha256      TEXT     NOT NULL,
    size        INTEGER  NOT NULL,
    license     TEXT     NOT NULL,
    description TEXT     NOT NULL,
    created_by  TEXT     NOT NULL,
    created_at  DATETIME NOT NULL,
    updated_at  DATETIME NOT NULL
);
CREATE UNIQUE INDEX uq_datasets_name_version ON datasets (name, version);
