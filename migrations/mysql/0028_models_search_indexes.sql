-- Indexes for the filterable and sortable columns of models (docs/search.md).
-- The sort indexes end with name, the tie-breaker of every order. name has
-- uq_models_name; tags.<key> has model_tags. description is only matched by
-- LIKE, usually with a leading %, which no B-tree index serves.
ALTER TABLE models
    ADD KEY ix_models_created (created_at, name),
    ADD KEY ix_models_updated (updated_at, name),
    ADD KEY ix_models_created_by (created_by);
