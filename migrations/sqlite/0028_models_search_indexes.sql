-- Indexes for the filterable and sortable columns of models. See
-- mysql/0027_models_search_indexes.sql.
CREATE INDEX ix_models_created ON models (created_at, name);
CREATE INDEX ix_models_updated ON models (updated_at, name);
CREATE INDEX ix_models_created_by ON models (created_by);
