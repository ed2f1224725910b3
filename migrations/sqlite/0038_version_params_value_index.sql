-- See mysql/0038_version_params_value_index.sql.
DROP INDEX ix_version_params_search;
CREATE INDEX ix_version_params_value ON version_params (model_id, param_key, param_value_head, version_number);
