-- The model id and number of each end of an edge that is a version, NULL
-- for the other node types (and for a version that is gone): the lineage
-- walk names the versions it reaches from the edges alone, instead of
-- joining versions at every level (a quarter of a level's database time,
-- bench/README.md). A version's model id and number never change, and its
-- edges are deleted with it (DeleteModel), so the copy stays true. 0048
-- fills it for the edges written before; 0049 puts it in the indexes the
-- walk reads.
ALTER TABLE lineage_edges
    ADD COLUMN from_model_id BIGINT NULL,
    ADD COLUMN from_number INT NULL,
    ADD COLUMN to_model_id BIGINT NULL,
    ADD COLUMN to_number INT NULL;
