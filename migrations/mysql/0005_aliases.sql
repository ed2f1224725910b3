-- aliases: named pointers (e.g. "champion") to one version of a model.
CREATE TABLE aliases (
    id         BIGINT       NOT NULL AUTO_INCREMENT,
    model_id   BIGINT       NOT NULL,
    alias      VARCHAR(128) NOT NULL,
    version_id BIGINT       NOT NULL,
    created_at DATETIME(6)  NOT NULL,
    updated_at DATETIME(6)  NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY uq_aliases_model_alias (model_id, alias),
    KEY ix_aliases_version (version_id),
    CONSTRAINT fk_aliases_model FOREIGN KEY (model_id) REFERENCES models (id) ON DELETE CASCADE,
    CONSTRAINT fk_aliases_version FOREIGN KEY (version_id) REFERENCES versions (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
