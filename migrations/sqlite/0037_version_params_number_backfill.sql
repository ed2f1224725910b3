-- The numbers of the versions whose params were written before 0036.
UPDATE version_params SET version_number = (SELECT number FROM versions WHERE versions.id = version_params.version_id);
