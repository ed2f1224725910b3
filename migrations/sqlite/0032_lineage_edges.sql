-- lineage_edges: the lineage graph. See mysql/0032_lineage_edges.sql.
CREATE TABLE lineage_edges (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    from_type  TEXT     NOT NULL,
    from_id    TEXT     NOT NULL,
    to_type    TEXT     NOT NULL,
    to_id      TEXT     NOT NULL,
    relation   TEXT     NOT NULL,
    created_at DATETIME NOT NULL
);
CREATE UNIQUE INDEX uq_lineage_edges ON lineage_edges (from_type, from_id, to_type, to_id, relation);
CREATE INDEX ix_lineage_edges_to ON lineage_edges (to_type, to_id, from_type, from_id, relation);
