-- Cluster form of schema/0050_import_tokens.sql (pkg/store/cluster.go), cluster teller, database teller.

CREATE TABLE IF NOT EXISTS teller.import_tokens ON CLUSTER 'teller'
(
    token_hash String          COMMENT 'SHA-256 (hex) of the token; the token itself is never stored',
    token_id   String          COMMENT 'Public id of the token, shown in lists and used to revoke it',
    site_id    String          COMMENT 'The one site the token imports into',
    name       String          COMMENT 'What the token is for, as given',
    created_at DateTime('UTC') COMMENT 'When it was created (UTC)',
    revoked    UInt8           COMMENT '1: revoked',
    written_ms UInt64          COMMENT 'When this row was written, Unix ms'
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/all/{database}/import_tokens', '{replica}')
ORDER BY (token_hash, written_ms);
