-- Copy the tags of existing versions into version_tags. JSON_TABLE lists an
-- object's keys; JSON_QUOTE makes any key a valid path member ($."a \"b\"").
INSERT INTO version_tags (version_id, model_id, tag_key, tag_value)
SELECT v.id, v.model_id, k.tag_key, JSON_UNQUOTE(JSON_EXTRACT(v.tags, CONCAT('$.', JSON_QUOTE(k.tag_key))))
FROM versions v,
     JSON_TABLE(JSON_KEYS(v.tags), '$[*]' COLUMNS (tag_key VARCHAR(128) PATH '$')) AS k;
