-- The checksum the blob store keeps for each part of a session, and signs a
-- presigned part with: 'crc32c' for the sessions of a store that presigns
-- parts (S3), '' where the store keeps none (disk). Sessions started before
-- on S3 kept their parts' SHA-256: they are marked so (on disk the value is
-- not read).
ALTER TABLE uploads ADD COLUMN part_checksum VARCHAR(8) CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT 'sha256';
