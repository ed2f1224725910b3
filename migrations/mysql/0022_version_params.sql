-- version_params: versions.params, one row per entry, for filters on
-- params.<key>. As version_tags (0020), but values may be up to 8 KiB: TEXT,
-- indexed by a 512-character prefix.
CREATE TABLE version_params (
    version_id  BIGINT       NOT NULL,
    model_id    BIGINT       NOT NULL,
    param_key   VARCHAR(128) NOT NULL,
    param_value TEXT         NOT NULL,
    PRIMARY KEY (version_id, param_key),
    KEY ix_version_params_search (model_id, param_key, param_value(512)),
    CONSTRAINT fk_version_params_version FOREIGN KEY (version_id) REFERENCES versions (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
