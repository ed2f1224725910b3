-- See mysql/0043_latest_metrics_value_index.sql.
DROP INDEX ix_latest_metrics_search;
CREATE INDEX ix_latest_metrics_value ON latest_metrics (model_id, metric_key, value, version_number);
