-- datasets: registered dataset versions, the upstream end of lineage. name
-- and version identify one; sha256 and size (0: unknown) say which bytes it
-- is and, once set, never change. Empty strings mean "not known yet": a
-- version may name a dataset before anyone registers its details.
CREATE TABLE datasets (
    id          BIGINT       NOT NULL AUTO_INCREMENT,
    name        VARCHAR(128) NOT NULL,
    version     VARCHAR(128) NOT NULL,
    uri         TEXT         NOT NULL,
    sha256      VARCHAR(64)  NOT NULL,
    size        BIGINT       NOT NULL,
    license     VARCHAR(256) NOT NULL,
    description TEXT         NOT NULL,
    created_by  VARCHAR(255) NOT NULL,
    created_at  DATETIME(6)  NOT NULL,
    updated_at  DATETIME(6)  NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY uq_datasets_name_version (name, version)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
