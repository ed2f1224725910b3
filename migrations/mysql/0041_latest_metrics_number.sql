-- The version's number in latest_metrics, as in version_tags (0033): a list
-- sorted by a metric reads the metric's index in order, and ties break by
-- version number, so the index must end with it (0043). 0042 fills it for
-- the rows written before.
ALTER TABLE latest_metrics ADD COLUMN version_number INT NOT NULL DEFAULT 0;
