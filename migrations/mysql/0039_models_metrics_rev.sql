-- metrics_rev counts the AddMetrics calls on the model's versions: each bumps
-- it under the model row's lock and stamps the latest_metrics rows it writes
-- with the new value (0040). A reader that sees metrics_rev = R knows every
-- latest_metrics row stamped up to R is committed, so the store's metric
-- cache (store/metriccache.go) catches up by reading the rows stamped after
-- what it holds.
ALTER TABLE models ADD COLUMN metrics_rev BIGINT NOT NULL DEFAULT 0;
