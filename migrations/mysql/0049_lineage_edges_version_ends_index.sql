-- The walk reads a level from an index alone: upstream from
-- ix_lineage_edges_to, downstream from the new ix_lineage_edges_from (the
-- unique key cannot take the far end: a unique key holds rows that differ
-- only in NULLs, so it would stop refusing duplicate dataset edges). Each
-- ends with the far end's version.
ALTER TABLE lineage_edges
    DROP INDEX ix_lineage_edges_to,
    ADD INDEX ix_lineage_edges_to (to_type, to_id, from_type, from_id, relation, from_model_id, from_number),
    ADD INDEX ix_lineage_edges_from (from_type, from_id, to_type, to_id, relation, to_model_id, to_number);
