-- Cluster form of schema/0005_table_comments.sql (pkg/store/cluster.go), cluster teller, database teller.

ALTER TABLE teller.sites ON CLUSTER 'teller' MODIFY COMMENT 'Registry of tracked sites; current row per site_id = largest updated_ms';

ALTER TABLE teller.events_local ON CLUSTER 'teller' MODIFY COMMENT 'Every accepted event with its session; one row per event_id after merges (count with uniqExact(event_id))';

ALTER TABLE teller.sessionizer_checkpoints ON CLUSTER 'teller' MODIFY COMMENT 'Sessionizer position and open-session state per Kafka partition';

ALTER TABLE teller.rejected_events ON CLUSTER 'teller' MODIFY COMMENT 'Kafka messages the sessionizer could not use, with the reason';
