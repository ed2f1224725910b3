-- Indexes for the sortable columns of versions. See
-- mysql/0026_versions_sort_indexes.sql.
CREATE INDEX ix_versions_model_created ON versions (model_id, created_at, number);
CREATE INDEX ix_versions_model_finalized ON versions (model_id, finalized_at, number);
