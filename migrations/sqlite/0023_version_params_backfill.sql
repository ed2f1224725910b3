-- Copy the params of existing versions into version_params.
INSERT INTO version_params (version_id, model_id, param_key, param_value)
SELECT v.id, v.model_id, j.key, j.value
FROM versions v, json_each(v.params) AS j;
