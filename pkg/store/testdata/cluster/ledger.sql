-- Cluster form of schema/ledger.sql (pkg/store/cluster.go), cluster teller, database teller.

CREATE TABLE IF NOT EXISTS teller.schema_migrations ON CLUSTER 'teller'
(
    version    UInt32   COMMENT 'Migration number (schema/NNNN_*.sql)',
    name       String   COMMENT 'File name',
    checksum   String   COMMENT 'SHA-256 of the file as applied',
    applied_at DateTime COMMENT 'When it was applied (UTC)'
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/all/{database}/schema_migrations', '{replica}') ORDER BY version;
