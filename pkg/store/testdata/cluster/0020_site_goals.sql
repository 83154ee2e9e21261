-- Cluster form of schema/0020_site_goals.sql (pkg/store/cluster.go), cluster teller, database teller.

CREATE TABLE IF NOT EXISTS teller.site_goals ON CLUSTER 'teller'
(
    site_id    String          COMMENT 'Site id (sites.site_id)',
    goal_id    String          COMMENT 'Goal id, unique within the site',
    name       String          COMMENT 'Display name',
    kind       String          COMMENT 'page (a pageview whose path matches) or event (a custom event of that name)',
    pattern    String          COMMENT 'page: an exact path, or a prefix ending in * (/blog/*); event: the event name',
    created_at DateTime('UTC') COMMENT 'When the goal was first saved (UTC)',
    updated_ms UInt64          COMMENT 'Version of this row, Unix milliseconds: the largest wins',
    deleted    UInt8           COMMENT '1 when the goal was removed'
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/all/{database}/site_goals', '{replica}', updated_ms)
ORDER BY (site_id, goal_id);
