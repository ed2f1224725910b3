-- (model_id, stage) and (model_id, status) are prefixes of the indexes 0027
-- added; keeping them would only slow down writes.
ALTER TABLE versions
    DROP KEY ix_versions_model_stage,
    DROP KEY ix_versions_model_status;
