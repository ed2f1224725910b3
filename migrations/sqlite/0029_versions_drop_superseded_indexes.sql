-- See mysql/0029_versions_drop_superseded_indexes.sql.
DROP INDEX ix_versions_model_stage;
DROP INDEX ix_versions_model_status;
