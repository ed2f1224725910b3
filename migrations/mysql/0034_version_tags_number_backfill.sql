-- The numbers of the versions whose tags were written before 0033.
UPDATE version_tags t JOIN versions v ON v.id = t.version_id
SET t.version_number = v.number;
