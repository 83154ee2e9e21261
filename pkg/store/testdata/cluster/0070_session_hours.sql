-- Cluster form of schema/0070_session_hours.sql (pkg/store/cluster.go), cluster teller, database teller.

CREATE TABLE IF NOT EXISTS teller.session_hours ON CLUSTER 'teller'
(
    site_id       String   COMMENT 'Site id (sites.site_id)',
    hour          DateTime('UTC') COMMENT 'UTC hour of the sessions'' start (session_versions.started_at)',
    build         UInt64   COMMENT 'Build that wrote the row; readers take the build session_hour_marks names',
    dim           String   COMMENT 'Dimension (the JSON API''s name: channel, browser, ...); empty for the hour''s totals (every session once, key empty)',
    key           String   COMMENT 'The dimension''s value, as the breakdown reports it',
    sessions      UInt64   COMMENT 'Sessions (not flagged as bots) that started in the hour with this key',
    pageviews     UInt64   COMMENT 'Their distinct pageviews',
    custom_events UInt64   COMMENT 'Their distinct custom events',
    bounces       UInt64   COMMENT 'Those of them that bounced (report.BounceSQL)',
    duration_ms   UInt64   COMMENT 'Sum of their durations (last event - first event), ms',
    visitors      AggregateFunction(uniqExact, UUID) COMMENT 'Their distinct visitors, as a state: uniqExactMerge over any hours'
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/all/{database}/session_hours', '{replica}')
PARTITION BY toYYYYMM(hour)
-- dim before hour: a breakdown reads its few dimensions' states, not every
-- dimension's (the states are most of the bytes).
ORDER BY (site_id, dim, hour, build, key);

CREATE TABLE IF NOT EXISTS teller.session_hour_marks ON CLUSTER 'teller'
(
    site_id String   COMMENT 'Site id',
    hour    DateTime('UTC') COMMENT 'UTC hour of the sessions'' start',
    build   UInt64   COMMENT 'Build of the hour''s session_hours rows; the largest is current (read with FINAL)',
    n_rows  UInt64   COMMENT 'count() of the hour''s session_versions rows (without FINAL) before the build read them',
    hash    UInt64   COMMENT 'sum(cityHash64(reinterpretAsString(session_id), version)) of those rows'
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/all/{database}/session_hour_marks', '{replica}', build)
ORDER BY (site_id, hour);
