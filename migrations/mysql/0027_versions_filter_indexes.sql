-- Indexes for the filterable columns of versions (docs/search.md). stage and
-- status are filtered alone and together, and the list then reads newest
-- first, hence number at the end. source.run_id and source.git_commit are
-- looked up across models too ("which version came from this run?"), so they
-- do not start with model_id. 0029 drops the indexes these supersede.
ALTER TABLE versions
    ADD KEY ix_versions_model_stage_status (model_id, stage, status, number),
    ADD KEY ix_versions_model_status_number (model_id, status, number),
    ADD KEY ix_versions_model_created_by (model_id, created_by, number),
    ADD KEY ix_versions_source_run (source_run_id),
    ADD KEY ix_versions_source_commit (source_git_commit);
