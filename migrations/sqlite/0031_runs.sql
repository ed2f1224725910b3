-- runs: training runs. See mysql/0031_runs.sql.
CREATE TABLE runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id      TEXT     NOT NULL,
    git_commit  TEXT     NOT NULL,
    code_uri    TEXT     NOT NULL,
    parameters  TEXT     NOT NULL,
    environment TEXT     NOT NULL,
    created_by  TEXT     NOT NULL,
    created_at  DATETIME NOT NULL,
    updated_at  DATETIME NOT NULL
);
CREATE UNIQUE INDEX uq_runs_run_id ON runs (run_id);
