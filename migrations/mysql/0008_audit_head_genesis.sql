-- The empty chain: seq 0 and modelkeep.GenesisHash (64 zeros). A file of its
-- own because MySQL would commit the CREATE TABLE before this INSERT; alone,
-- it is applied in one transaction with its schema_migrations row.
INSERT INTO audit_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
