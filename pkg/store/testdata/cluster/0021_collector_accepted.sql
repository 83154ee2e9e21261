-- Cluster form of schema/0021_collector_accepted.sql (pkg/store/cluster.go), cluster teller, database teller.

CREATE TABLE IF NOT EXISTS teller.collector_accepted ON CLUSTER 'teller'
(
    site_id      String          COMMENT 'Site id (sites.site_id)',
    minute_at    DateTime('UTC') COMMENT 'Start of the minute the events were received in (UTC)',
    collector_id String          COMMENT 'Collector instance that accepted them (random per process start)',
    accepted     UInt64          COMMENT 'Events accepted by that instance for that site in that minute, so far',
    updated_ms   UInt64          COMMENT 'Version of this row, Unix milliseconds: the largest wins'
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/all/{database}/collector_accepted', '{replica}', updated_ms)
PARTITION BY toYYYYMM(minute_at)
ORDER BY (site_id, minute_at, collector_id);
