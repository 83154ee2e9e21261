-- Cluster form of schema/0062_events_kafka_timestamp.sql (pkg/store/cluster.go), cluster teller, database teller.

ALTER TABLE teller.events_local ON CLUSTER 'teller' ADD COLUMN IF NOT EXISTS kafka_ts_ms UInt64;

-- wait for every replica to apply the ALTER: /clickhouse/tables/{shard}/teller/events_local;

DROP TABLE IF EXISTS teller.events ON CLUSTER 'teller';

CREATE TABLE IF NOT EXISTS teller.events ON CLUSTER 'teller' AS teller.events_local ENGINE = Distributed('teller', 'teller', 'events_local', cityHash64(toString(visitor_id)));

ALTER TABLE teller.events_local ON CLUSTER 'teller' COMMENT COLUMN kafka_ts_ms 'Timestamp of the Kafka record that carried the event, Unix ms (0: unknown)';
