-- See mysql/0065_audit_head_time_order.sql.
ALTER TABLE audit_head ADD COLUMN max_time DATETIME NULL;
ALTER TABLE audit_head ADD COLUMN max_lag_us INTEGER NOT NULL DEFAULT 0;
