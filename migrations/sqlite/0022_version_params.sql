-- version_params: versions.params, one row per entry, for filters on
-- params.<key>. See mysql/0022_version_params.sql.
CREATE TABLE version_params (
    version_id  INTEGER NOT NULL REFERENCES versions (id) ON DELETE CASCADE,
    model_id    INTEGER NOT NULL,
    param_key   TEXT    NOT NULL,
    param_value TEXT    NOT NULL,
    PRIMARY KEY (version_id, param_key)
);
CREATE INDEX ix_version_params_search ON version_params (model_id, param_key, param_value, version_id);
