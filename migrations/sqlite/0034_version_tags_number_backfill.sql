-- The numbers of the versions whose tags were written before 0033.
UPDATE version_tags SET version_number = (SELECT number FROM versions WHERE versions.id = version_tags.version_id);
