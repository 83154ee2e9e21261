-- requires-server: 23.9
-- Table comments (ALTER TABLE ... MODIFY COMMENT exists from ClickHouse 23.9;
-- on older servers the same text is in these files and the README).
-- Edited once, when 0060 dropped sessions_agg: an 18.16 install upgraded
-- later applies this file after 0060, so it must not name that table.
ALTER TABLE sites MODIFY COMMENT 'Registry of tracked sites; current row per site_id = largest updated_ms';
ALTER TABLE events MODIFY COMMENT 'Every accepted event with its session; one row per event_id after merges (count with uniqExact(event_id))';
ALTER TABLE sessionizer_checkpoints MODIFY COMMENT 'Sessionizer position and open-session state per Kafka partition';
ALTER TABLE rejected_events MODIFY COMMENT 'Kafka messages the sessionizer could not use, with the reason';
