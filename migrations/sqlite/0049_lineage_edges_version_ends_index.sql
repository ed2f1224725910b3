-- See mysql/0049_lineage_edges_version_ends_index.sql.
DROP INDEX ix_lineage_edges_to;
CREATE INDEX ix_lineage_edges_to ON lineage_edges (to_type, to_id, from_type, from_id, relation, from_model_id, from_number);
CREATE INDEX ix_lineage_edges_from ON lineage_edges (from_type, from_id, to_type, to_id, relation, to_model_id, to_number);
