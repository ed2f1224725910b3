-- How far the chain's event times are from seq order, kept on the head by
-- every append: max_time is the latest event time so far (NULL while the
-- chain is empty); max_lag_us the most, in microseconds, by which an event's
-- time is earlier than that of an event before it in the chain (0 while
-- times never go back). Times are taken before the append waits for the
-- head's lock, and processes' clocks differ, so they are in seq order only
-- up to this. It turns a time range into the seq range that holds all its
-- events (store.auditTimeBounds), so that GET /api/v1/audit?since=&until=
-- reads the events of the range in seq order instead of scanning the log.
ALTER TABLE audit_head
    ADD COLUMN max_time DATETIME(6) NULL,
    ADD COLUMN max_lag_us BIGINT NOT NULL DEFAULT 0;
