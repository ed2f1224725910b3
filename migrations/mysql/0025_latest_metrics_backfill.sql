-- Fill latest_metrics from the metrics recorded so far: per version and key,
-- the point with the highest step, then the newest ts, then the highest id.
INSERT INTO latest_metrics (version_id, model_id, metric_key, value, step, ts)
SELECT r.version_id, r.model_id, r.metric_key, r.value, r.step, r.ts
FROM (
    SELECT m.version_id, v.model_id, m.metric_key, m.value, m.step, m.ts,
           ROW_NUMBER() OVER (PARTITION BY m.version_id, m.metric_key ORDER BY m.step DESC, m.ts DESC, m.id DESC) AS rn
    FROM metrics m
    JOIN versions v ON v.id = m.version_id
) r
WHERE r.rn = 1;
