-- Nothing to do on MySQL: InnoDB appends the primary key (version_id,
-- metric_key) to every secondary index, so the index of 0043 carries the
-- version id already. SQLite's did not (sqlite/0044).
DO 0;
