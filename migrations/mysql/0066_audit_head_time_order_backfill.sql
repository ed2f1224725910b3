-- max_time and max_lag_us (0065) of the events appended before them: the
-- latest time, and the most by which an event's time precedes that of an
-- event before it. A running MAX() over the whole chain would say it in one
-- window, but MariaDB computes such a window in time quadratic in the rows,
-- so the pairs of events are taken in three parts, each exact, in linear
-- time: those at most 63 apart in seq (a window of 63 rows), those in
-- different blocks of 64 seqs within one block of 4,096 (a running MAX() of
-- the blocks' latest times over at most 64 blocks, against each block's
-- earliest time), and those in different blocks of 4,096 (the same over
-- the chain's 4,096-blocks).
UPDATE audit_head SET
    max_time = (SELECT MAX(time) FROM audit_events),
    max_lag_us = (
        SELECT GREATEST(0, COALESCE(MAX(lag), 0)) FROM (
            SELECT TIMESTAMPDIFF(MICROSECOND, time,
                       MAX(time) OVER (ORDER BY seq ROWS BETWEEN 63 PRECEDING AND 1 PRECEDING)) AS lag
            FROM audit_events
            UNION ALL
            SELECT TIMESTAMPDIFF(MICROSECOND, earliest,
                       MAX(latest) OVER (PARTITION BY block DIV 64 ORDER BY block ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING))
            FROM (SELECT seq DIV 64 AS block, MIN(time) AS earliest, MAX(time) AS latest
                  FROM audit_events GROUP BY seq DIV 64) blocks
            UNION ALL
            SELECT TIMESTAMPDIFF(MICROSECOND, earliest,
                       MAX(latest) OVER (ORDER BY block ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING))
            FROM (SELECT seq DIV 4096 AS block, MIN(time) AS earliest, MAX(time) AS latest
                  FROM audit_events GROUP BY seq DIV 4096) blocks
        ) pairs
    )
WHERE id = 1;
