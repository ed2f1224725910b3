-- At most one production version per model. See
-- mysql/0013_versions_one_production.sql. The same generated column as in
-- MySQL keeps the two schemas (and the row struct) alike; SQLite can only add
-- a VIRTUAL one with ALTER TABLE, and indexes it like any column. NULLs are
-- distinct in a UNIQUE index, so only production rows can collide.
ALTER TABLE versions
    ADD COLUMN production_marker INTEGER GENERATED ALWAYS AS (CASE WHEN stage = 'production' THEN 1 ELSE NULL END) VIRTUAL;
CREATE UNIQUE INDEX uq_versions_one_production ON versions (model_id, production_marker);
