-- Indexes for the sortable columns of versions (docs/search.md). A version
-- list is always of one model, so each starts with model_id, and ends with
-- number, the tie-breaker of every order: a page of order_by=created_at DESC
-- is an index range read in order, with no sort. (The default order, number,
-- has uq_versions_model_number.)
ALTER TABLE versions
    ADD KEY ix_versions_model_created (model_id, created_at, number),
    ADD KEY ix_versions_model_finalized (model_id, finalized_at, number);
