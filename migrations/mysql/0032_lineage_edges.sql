-- lineage_edges: the lineage graph, one row per edge, pointing downstream
-- (dataset -> run -> version -> derived version -> deployment). Nodes are
-- (type, id) with the row id of datasets, runs and versions (as text) or the
-- id of deployments: small keys, and a model deleted and created again does
-- not inherit the old versions' edges. No foreign keys, since a column names
-- rows of several tables; the store drops edges to rows that are gone when
-- it reads them.
-- The walk reads one level per query: downstream by the unique key
-- (from_type, from_id, ...), upstream by ix_lineage_edges_to; both cover the
-- columns read, so a level is an index range scan whatever the table size.
CREATE TABLE lineage_edges (
    id         BIGINT      NOT NULL AUTO_INCREMENT,
    from_type  VARCHAR(16) NOT NULL,
    from_id    VARCHAR(64) NOT NULL,
    to_type    VARCHAR(16) NOT NULL,
    to_id      VARCHAR(64) NOT NULL,
    relation   VARCHAR(32) NOT NULL,
    created_at DATETIME(6) NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY uq_lineage_edges (from_type, from_id, to_type, to_id, relation),
    KEY ix_lineage_edges_to (to_type, to_id, from_type, from_id, relation)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
