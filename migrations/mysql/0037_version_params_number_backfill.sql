-- The numbers of the versions whose params were written before 0036.
UPDATE version_params p JOIN versions v ON v.id = p.version_id
SET p.version_number = v.number;
