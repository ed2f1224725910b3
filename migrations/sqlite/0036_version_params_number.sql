-- See mysql/0036_version_params_number.sql.
ALTER TABLE version_params ADD COLUMN version_number INTEGER NOT NULL DEFAULT 0;
ALTER TABLE version_params ADD COLUMN param_value_head TEXT GENERATED ALWAYS AS (substr(param_value, 1, 255)) VIRTUAL;
