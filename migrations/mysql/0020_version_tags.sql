-- version_tags: versions.tags, one row per entry, so that filters on
-- tags.<key> use an index (see docs/search.md). Filled by CreateVersion in the
-- version's transaction; 0021 copies the tags of versions made before.
-- model_id repeats versions.model_id (a version never moves) so that the
-- search index is scoped to one model: a version list always is. The index
-- takes a 512-character prefix of the value, as model_tags does (InnoDB keys
-- are at most 3072 bytes); InnoDB appends the primary key, version_id, to it.
CREATE TABLE version_tags (
    version_id BIGINT        NOT NULL,
    model_id   BIGINT        NOT NULL,
    tag_key    VARCHAR(128)  NOT NULL,
    tag_value  VARCHAR(1024) NOT NULL,
    PRIMARY KEY (version_id, tag_key),
    KEY ix_version_tags_search (model_id, tag_key, tag_value(512)),
    CONSTRAINT fk_version_tags_version FOREIGN KEY (version_id) REFERENCES versions (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
