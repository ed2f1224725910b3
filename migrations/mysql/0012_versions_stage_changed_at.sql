-- versions.stage_changed_at: when the version last changed stage (NULL: never,
-- or before this column existed). VersionsInStage orders by it, so the
-- version moved into a stage last is the one "in" it for deploy pipelines.
ALTER TABLE versions ADD COLUMN stage_changed_at DATETIME(6) NULL;
