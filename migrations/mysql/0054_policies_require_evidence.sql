-- require_evidence: an approval into production waits until the version's
-- EU AI Act evidence covers every applicable requirement.
ALTER TABLE policies ADD COLUMN require_evidence BOOLEAN NOT NULL DEFAULT FALSE;
