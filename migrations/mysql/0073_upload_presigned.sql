-- Whether a session ever handed out a presigned part URL: then a part the
-- server recorded may have been replaced straight in the bucket by bytes
-- of the same ETag (an MD5), so completion trusts no hash state the server
-- kept for its parts and reads the whole file back.
ALTER TABLE uploads ADD COLUMN presigned BOOLEAN NOT NULL DEFAULT FALSE;
