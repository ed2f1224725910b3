-- The numbers of the versions whose latest metrics were written before 0041.
UPDATE latest_metrics lm JOIN versions v ON v.id = lm.version_id
SET lm.version_number = v.number;
