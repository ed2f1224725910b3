-- Copy the params of existing versions into version_params (see 0021).
INSERT INTO version_params (version_id, model_id, param_key, param_value)
SELECT v.id, v.model_id, k.param_key, JSON_UNQUOTE(JSON_EXTRACT(v.params, CONCAT('$.', JSON_QUOTE(k.param_key))))
FROM versions v,
     JSON_TABLE(JSON_KEYS(v.params), '$[*]' COLUMNS (param_key VARCHAR(128) PATH '$')) AS k;
