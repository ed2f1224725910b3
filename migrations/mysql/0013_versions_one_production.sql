-- At most one production version per model, enforced by the database so that
-- two approvals racing past the service's checks cannot both win: the store
-- maps the duplicate key to ErrConflict. production_marker is 1 in production
-- and NULL otherwise, and a UNIQUE key allows any number of NULLs. MySQL 8
-- and MariaDB both accept GENERATED ALWAYS AS ... STORED (MariaDB's
-- PERSISTENT is not MySQL syntax); neither has partial indexes.
ALTER TABLE versions
    ADD COLUMN production_marker TINYINT GENERATED ALWAYS AS (CASE WHEN stage = 'production' THEN 1 ELSE NULL END) STORED,
    ADD UNIQUE KEY uq_versions_one_production (model_id, production_marker);
