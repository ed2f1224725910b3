-- runs: training runs, keyed by the source.run_id versions name. parameters
-- and environment are JSON objects ('{}' when not told); empty strings mean
-- "not known yet", filled in by a later version of the same run.
CREATE TABLE runs (
    id          BIGINT       NOT NULL AUTO_INCREMENT,
    run_id      VARCHAR(256) NOT NULL,
    git_commit  VARCHAR(64)  NOT NULL,
    code_uri    TEXT         NOT NULL,
    parameters  MEDIUMTEXT   NOT NULL COMMENT 'JSON object',
    environment MEDIUMTEXT   NOT NULL COMMENT 'JSON object',
    created_by  VARCHAR(255) NOT NULL,
    created_at  DATETIME(6)  NOT NULL,
    updated_at  DATETIME(6)  NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY uq_runs_run_id (run_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
