-- A version's aliases, as a space-separated list (alias names match
-- [a-z0-9][a-z0-9._-]*), NULL when it has none: the version reads take them
-- with the row instead of joining aliases, which cost a fifth of a get's
-- database time (bench/README.md). SetAlias and DeleteAlias rewrite it in
-- their transaction; 0046 fills it for the aliases set before. The aliases
-- table stays the record of truth (who set an alias, and when). MEDIUMTEXT:
-- nothing bounds the aliases of one version, and TEXT stops at 64 KiB.
ALTER TABLE versions ADD COLUMN alias_names MEDIUMTEXT NULL;
