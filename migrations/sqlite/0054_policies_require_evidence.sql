-- See mysql/0054_policies_require_evidence.sql.
ALTER TABLE policies ADD COLUMN require_evidence BOOLEAN NOT NULL DEFAULT FALSE;
