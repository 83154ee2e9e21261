-- Sessionizer checkpoints: per Kafka partition, the next offset to read and
-- the open sessions at that point, written in one insert after the rows they
-- cover. The row with the largest written_ms is the current one.
CREATE TABLE IF NOT EXISTS sessionizer_checkpoints
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
ENGINE = ReplacingMergeTree(written_ms)
ORDER BY (consumer_group, topic, partition);

-- Messages the sessionizer could not use (not JSON, unknown version, invalid
-- fields), kept with the reason so nothing sent is silently lost.
CREATE TABLE IF NOT EXISTS rejected_events
(
    received_at     DateTime('UTC') COMMENT 'When the sessionizer rejected the message (UTC)',
    kafka_topic     String   COMMENT 'Kafka topic',
    kafka_partition Int32    COMMENT 'Kafka partition',
    kafka_offset    Int64    COMMENT 'Kafka offset',
    reason          String   COMMENT 'Why it was rejected',
    payload         String   COMMENT 'The raw message value'
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(received_at)
ORDER BY (received_at, kafka_partition, kafka_offset);
