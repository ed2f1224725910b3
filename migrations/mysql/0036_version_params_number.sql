-- As 0033, for params.<key> = "value".
ALTER TABLE version_params
    ADD COLUMN version_number INT NOT NULL DEFAULT 0,
    ADD COLUMN param_value_head VARCHAR(255) GENERATED ALWAYS AS (LEFT(param_value, 255)) STORED;
