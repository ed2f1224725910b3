-- The numbers of the versions whose latest metrics were written before 0041.
UPDATE latest_metrics SET version_number = (SELECT number FROM versions WHERE versions.id = latest_metrics.version_id);
