-- A version list filtered by tags.<key> = "value" reads version_tags in the
-- list's order (newest first) and stops after a page: that needs the
-- version's number in the row (a version's number never changes) and an
-- index that holds the whole compared value, not a 512-character prefix of
-- it, so that the rows of one value come sorted by number. tag_value_head is
-- the value's first 255 characters: equal to the value when it is shorter,
-- so that an equality with a shorter value reads the index alone (the store
-- compares tag_value too for longer ones). 0034 fills version_number for the
-- rows written before, 0035 swaps the index.
ALTER TABLE version_tags
    ADD COLUMN version_number INT NOT NULL DEFAULT 0,
    ADD COLUMN tag_value_head VARCHAR(255) GENERATED ALWAYS AS (LEFT(tag_value, 255)) STORED;
