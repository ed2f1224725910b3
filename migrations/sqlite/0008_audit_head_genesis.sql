-- The empty chain: seq 0 and modelkeep.GenesisHash (64 zeros).
INSERT INTO audit_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
