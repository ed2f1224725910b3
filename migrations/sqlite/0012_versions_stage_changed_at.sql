-- versions.stage_changed_at: when the version last changed stage. See
-- mysql/0012_versions_stage_changed_at.sql.
ALTER TABLE versions ADD COLUMN stage_changed_at DATETIME NULL;
