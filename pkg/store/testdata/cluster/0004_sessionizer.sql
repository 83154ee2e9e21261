-- Cluster form of schema/0004_sessionizer.sql (pkg/store/cluster.go), cluster teller, database teller.

CREATE TABLE IF NOT EXISTS teller.sessionizer_checkpoints ON CLUSTER 'teller'
(
    consumer_group String   COMMENT 'Kafka consumer group of the sessionizer',
    topic          String   COMMENT 'Kafka topic',
    partition      Int32    COMMENT 'Kafka partition',
    next_offset    Int64    COMMENT 'First offset not yet reflected in events',
    clock_ms       Int64    COMMENT 'Partition clock: largest event time seen, Unix ms',
    open_sessions  UInt32   COMMENT 'Number of open sessions in state',
    state          String   COMMENT 'Open-session state, binary (pkg/session encoding)',
    written_at     DateTime('UTC') COMMENT 'When the checkpoint was written (UTC)',
    written_ms     UInt64   COMMENT 'Version, Unix ms: the largest wins'
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/all/{database}/sessionizer_checkpoints', '{replica}', written_ms)
ORDER BY (consumer_group, topic, partition);

CREATE TABLE IF NOT EXISTS teller.rejected_events ON CLUSTER 'teller'
(
    received_at     DateTime('UTC') COMMENT 'When the sessionizer rejected the message (UTC)',
    kafka_topic     String   COMMENT 'Kafka topic',
    kafka_partition Int32    COMMENT 'Kafka partition',
    kafka_offset    Int64    COMMENT 'Kafka offset',
    reason          String   COMMENT 'Why it was rejected',
    payload         String   COMMENT 'The raw message value'
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/all/{database}/rejected_events', '{replica}')
PARTITION BY toYYYYMM(received_at)
ORDER BY (received_at, kafka_partition, kafka_offset);
