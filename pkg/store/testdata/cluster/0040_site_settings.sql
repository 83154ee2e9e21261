-- Cluster form of schema/0040_site_settings.sql (pkg/store/cluster.go), cluster teller, database teller.

CREATE TABLE IF NOT EXISTS teller.site_settings ON CLUSTER 'teller'
(
    site_id       String        COMMENT 'Site id (sites.site_id)',
    cookie_mode   String        COMMENT 'cookie (signed first-party visitor cookie) or cookieless (daily-salted hash of site, IP and user agent, no cookie)',
    cookie_domain String        COMMENT 'Domain attribute of the visitor cookie for this site; empty for the collector host only',
    same_site     String        COMMENT 'SameSite of the visitor cookie: auto (Lax when collector and page share a registrable domain, else None; Secure), lax, strict or none',
    bots          String        COMMENT 'Bots, headless browsers and prefetches: flag (kept, marked with a reason) or drop',
    query_params  Array(String) COMMENT 'Query parameters kept in stored URLs besides utm_* and ref',
    rate_limit    Float64       COMMENT 'Events per second the site accepts; 0 for the collector default',
    rate_burst    UInt32        COMMENT 'Burst above rate_limit; 0 for the collector default',
    updated_ms    UInt64        COMMENT 'Version of this row, Unix milliseconds: the largest wins'
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/all/{database}/site_settings', '{replica}', updated_ms)
ORDER BY site_id;
