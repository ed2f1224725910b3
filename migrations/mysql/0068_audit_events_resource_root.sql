-- resource_root: the resource's first two segments ("models/fraud-detector"
-- of "models/fraud-detector/versions/3/card"; the whole resource when it has
-- fewer), at most 512 characters, indexed. A prefix filter on a model
-- (GET /api/v1/audit?resource=models/fraud-detector/*) also asks for its
-- root, so the query reads the model's events in seq order from this index
-- (InnoDB ends it in the primary key) and stops after a page; the resource
-- index cannot give that order (a range over many resources, and a prefix
-- index), so MySQL scanned the log from its end or sorted all the model's
-- events. VIRTUAL: computed, not stored, and never written by an INSERT.
ALTER TABLE audit_events
    ADD COLUMN resource_root VARCHAR(512) AS (LEFT(SUBSTRING_INDEX(resource, '/', 2), 512)) VIRTUAL,
    ADD KEY ix_audit_events_resource_root (resource_root);
