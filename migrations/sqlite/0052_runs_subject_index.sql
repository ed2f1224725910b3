-- See mysql/0052_runs_subject_index.sql.
CREATE INDEX ix_runs_subject ON runs (subject_model, subject_version, kind, created_at);
