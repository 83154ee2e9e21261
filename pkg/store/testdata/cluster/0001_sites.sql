-- Cluster form of schema/0001_sites.sql (pkg/store/cluster.go), cluster teller, database teller.

CREATE TABLE IF NOT EXISTS teller.sites ON CLUSTER 'teller'
(
    site_id    String        COMMENT 'Site id: the snippet''s data-site value and the site_id of every other table',
    name       String        COMMENT 'Display name',
    domains    Array(String) COMMENT 'Host names the site is served on; events whose page is on another host (or not a subdomain of one) are refused',
    timezone   String        COMMENT 'IANA time zone for report days and the optional midnight split, e.g. Europe/Berlin',
    created_at DateTime('UTC')      COMMENT 'When the site was first registered (UTC)',
    updated_ms UInt64        COMMENT 'Version of this row, Unix milliseconds: the largest wins',
    deleted    UInt8         COMMENT '1 when the site was removed'
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/all/{database}/sites', '{replica}', updated_ms)
ORDER BY site_id;
