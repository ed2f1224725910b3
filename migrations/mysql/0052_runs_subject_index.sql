-- The runs that tested a version, or watched a deployment, newest first.
CREATE INDEX ix_runs_subject ON runs (subject_model, subject_version, kind, created_at);
