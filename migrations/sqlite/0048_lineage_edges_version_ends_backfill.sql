-- The version ends of the edges written before 0047.
UPDATE lineage_edges SET
    from_model_id = (SELECT model_id FROM versions v WHERE v.id = CAST(lineage_edges.from_id AS INTEGER)),
    from_number = (SELECT number FROM versions v WHERE v.id = CAST(lineage_edges.from_id AS INTEGER))
WHERE from_type = 'model_version';
UPDATE lineage_edges SET
    to_model_id = (SELECT model_id FROM versions v WHERE v.id = CAST(lineage_edges.to_id AS INTEGER)),
    to_number = (SELECT number FROM versions v WHERE v.id = CAST(lineage_edges.to_id AS INTEGER))
WHERE to_type = 'model_version';
