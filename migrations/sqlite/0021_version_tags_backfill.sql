-- Copy the tags of existing versions into version_tags.
INSERT INTO version_tags (version_id, model_id, tag_key, tag_value)
SELECT v.id, v.model_id, j.key, j.value
FROM versions v, json_each(v.tags) AS j;
