-- Indexes for the filterable columns of versions. See
-- mysql/0027_versions_filter_indexes.sql.
CREATE INDEX ix_versions_model_stage_status ON versions (model_id, stage, status, number);
CREATE INDEX ix_versions_model_status_number ON versions (model_id, status, number);
CREATE INDEX ix_versions_model_created_by ON versions (model_id, created_by, number);
CREATE INDEX ix_versions_source_run ON versions (source_run_id);
CREATE INDEX ix_versions_source_commit ON versions (source_git_commit);
