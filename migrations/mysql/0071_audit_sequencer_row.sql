-- The free lease: no holder, expired at the epoch. A file of its own because
-- MySQL would commit the CREATE TABLE before this INSERT.
INSERT INTO audit_sequencer (id, holder, expires_us) VALUES (1, '', 0);
