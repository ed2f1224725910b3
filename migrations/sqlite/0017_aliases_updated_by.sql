-- aliases.updated_by: who last moved the alias ('' for aliases set before).
ALTER TABLE aliases ADD COLUMN updated_by TEXT NOT NULL DEFAULT '';
