-- See mysql/0047_lineage_edges_version_ends.sql.
ALTER TABLE lineage_edges ADD COLUMN from_model_id INTEGER NULL;
ALTER TABLE lineage_edges ADD COLUMN from_number INTEGER NULL;
ALTER TABLE lineage_edges ADD COLUMN to_model_id INTEGER NULL;
ALTER TABLE lineage_edges ADD COLUMN to_number INTEGER NULL;
