-- The index a tag equality is read through, newest version first (see
-- 0033); it serves everything the prefix index of 0020 did.
ALTER TABLE version_tags
    DROP KEY ix_version_tags_search,
    ADD KEY ix_version_tags_value (model_id, tag_key, tag_value_head, version_number);
