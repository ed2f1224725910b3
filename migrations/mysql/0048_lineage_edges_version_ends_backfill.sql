-- The version ends of the edges written before 0047. The CASE keeps CAST
-- away from the ids of other node types (a deployment's is not a number),
-- which strict mode would refuse in an UPDATE.
UPDATE lineage_edges e
LEFT JOIN versions f ON f.id = CASE WHEN e.from_type = 'model_version' THEN CAST(e.from_id AS UNSIGNED) END
LEFT JOIN versions t ON t.id = CASE WHEN e.to_type = 'model_version' THEN CAST(e.to_id AS UNSIGNED) END
SET e.from_model_id = f.model_id, e.from_number = f.number,
    e.to_model_id = t.model_id, e.to_number = t.number
WHERE e.from_type = 'model_version' OR e.to_type = 'model_version';
