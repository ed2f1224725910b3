-- See mysql/0050_lineage_edges_version_index.sql.
CREATE INDEX ix_lineage_edges_to_version ON lineage_edges (to_model_id, to_number, to_type, to_id, from_type, from_id, relation, from_model_id, from_number);
CREATE INDEX ix_lineage_edges_from_version ON lineage_edges (from_model_id, from_number, from_type, from_id, to_type, to_id, relation, to_model_id, to_number);
