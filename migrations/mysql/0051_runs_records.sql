-- runs become records of their own (POST /api/v1/runs): what kind of run,
-- when it ran and who started it, the version it tested (evaluation,
-- robustness, fairness, security) or the deployment it watched
-- (monitoring), and the artifact digest a training run produced. The rest
-- (inputs, compute, energy, test log and report documents) is the JSON
-- object in details. Runs registered before are training runs.
ALTER TABLE runs
    ADD COLUMN kind            VARCHAR(16)  NOT NULL DEFAULT 'training',
    ADD COLUMN started_at      DATETIME(6)  NULL,
    ADD COLUMN ended_at        DATETIME(6)  NULL,
    ADD COLUMN triggered_by    VARCHAR(255) NOT NULL DEFAULT '',
    ADD COLUMN subject_model   VARCHAR(128) NOT NULL DEFAULT '',
    ADD COLUMN subject_version INT          NOT NULL DEFAULT 0,
    ADD COLUMN deployment_id   VARCHAR(64)  NOT NULL DEFAULT '',
    ADD COLUMN output_sha256   VARCHAR(71)  NOT NULL DEFAULT '',
    ADD COLUMN details         MEDIUMTEXT   NULL COMMENT 'JSON object';
