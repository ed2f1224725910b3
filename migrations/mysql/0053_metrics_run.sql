-- A metric point may name the run that produced it and the dataset version
-- it was measured on ('' when not told).
ALTER TABLE metrics
    ADD COLUMN run_id          VARCHAR(256) NOT NULL DEFAULT '',
    ADD COLUMN dataset_version VARCHAR(128) NOT NULL DEFAULT '';
