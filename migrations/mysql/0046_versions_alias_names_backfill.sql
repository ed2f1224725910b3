-- The alias lists of the versions that had aliases before 0045.
UPDATE versions v JOIN (
    SELECT version_id, GROUP_CONCAT(alias ORDER BY alias SEPARATOR ' ') AS names
    FROM aliases GROUP BY version_id
) a ON a.version_id = v.id
SET v.alias_names = a.names;
