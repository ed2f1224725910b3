-- The edges of a version by its model id and number: a walk reads its first
-- level by the start version's name, in one query with the model's id as a
-- subquery, instead of looking the version up first (a fifth of a walk's
-- database time, bench/README.md). Each index covers what a level reads.
ALTER TABLE lineage_edges
    ADD INDEX ix_lineage_edges_to_version (to_model_id, to_number, to_type, to_id, from_type, from_id, relation, from_model_id, from_number),
    ADD INDEX ix_lineage_edges_from_version (from_model_id, from_number, from_type, from_id, to_type, to_id, relation, to_model_id, to_number);
