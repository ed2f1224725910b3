-- See mysql/0066_audit_head_time_order_backfill.sql. SQLite's date
-- functions work in whole milliseconds, so 3 ms are added to the lag they
-- give: the bound may be above the true lag, never below.
UPDATE audit_head SET
    max_time = (SELECT MAX(time) FROM audit_events),
    max_lag_us = (
        SELECT MAX(0, COALESCE(MAX(CAST((julianday(max_before) - julianday(time)) * 86400000.0 AS INTEGER) * 1000 + 3000), 0))
        FROM (
            SELECT time, MAX(time) OVER (ORDER BY seq ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS max_before
            FROM audit_events
        ) t
    )
WHERE id = 1;
