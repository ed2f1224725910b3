-- The metric index of 0043 ends with the version number but lost the
-- version id the index it replaced (0024) ended with. SQLite keeps the id
-- only in the table (latest_metrics has its own rowid), so every row of a
-- metric-ordered list cost a table look-up; with the id the index answers
-- alone again (TestDrivenListPlan). The tag and param indexes of 0035 and
-- 0038 are left as they are: their value head is a VIRTUAL generated
-- column, which SQLite reads from the table whatever the index holds.
-- See mysql/0044_search_indexes_carry_version_id.sql.
DROP INDEX ix_latest_metrics_value;
CREATE INDEX ix_latest_metrics_value ON latest_metrics (model_id, metric_key, value, version_number, version_id);
