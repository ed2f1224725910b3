-- The alias lists of the versions that had aliases before 0045. The store
-- sorts the names it reads, so the order group_concat gives them in is
-- of no consequence.
UPDATE versions SET alias_names = (SELECT group_concat(alias, ' ') FROM aliases WHERE aliases.version_id = versions.id)
WHERE id IN (SELECT version_id FROM aliases);
