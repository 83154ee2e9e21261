-- Goals of a site: what counts as a conversion (pkg/report Goal). One row per
-- change; the row with the largest updated_ms is the current one, and a
-- removed goal is a row with deleted = 1 (read with argMax, as sites).
CREATE TABLE IF NOT EXISTS site_goals
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
ENGINE = ReplacingMergeTree(updated_ms)
ORDER BY (site_id, goal_id);
