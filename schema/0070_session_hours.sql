-- Hourly rollups of the session breakdowns and the totals (issue 8,
-- docs/dashboard-speed.md section 12): per site, UTC hour of the session
-- start, dimension and key, the figures of the sessions not flagged as
-- bots, built from session_versions FINAL by pkg/report's BuildHours. A
-- breakdown over a range of whole hours (and the report page's head, in a
-- zone of whole-hour offsets) merges these rows (visitors as uniqExact
-- states, exact over any range) instead of reading every session row
-- through FINAL, and reads only the hours whose rows changed since their
-- build, or were never built, from session_versions as before.
--
-- Why it stays exact under redelivery and late events: an hour's build
-- records a change mark of the hour's session_versions rows read without
-- FINAL (their count and the sum of cityHash64 of session id and version),
-- taken before the hour's figures are read. Any insert or merge changes the
-- mark; the reader compares the stored mark with the live one and uses an
-- hour's rollup rows only when they are equal, so a builder that is late
-- (or absent) makes a breakdown slower, never wrong. A rebuild writes the
-- hour's rows under a new build number and its mark last; readers take the
-- rows of the build their mark names, so a key that left an hour leaves no
-- stale row.
CREATE TABLE IF NOT EXISTS session_hours
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
ENGINE = MergeTree
PARTITION BY toYYYYMM(hour)
-- dim before hour: a breakdown reads its few dimensions' states, not every
-- dimension's (the states are most of the bytes).
ORDER BY (site_id, dim, hour, build, key);

-- One row per (site, hour) built: the build whose rows are current and the
-- hour's change mark when it was built. Hours without sessions have none.
CREATE TABLE IF NOT EXISTS session_hour_marks
(
    site_id String   COMMENT 'Site id',
    hour    DateTime('UTC') COMMENT 'UTC hour of the sessions'' start',
    build   UInt64   COMMENT 'Build of the hour''s session_hours rows; the largest is current (read with FINAL)',
    n_rows  UInt64   COMMENT 'count() of the hour''s session_versions rows (without FINAL) before the build read them',
    hash    UInt64   COMMENT 'sum(cityHash64(reinterpretAsString(session_id), version)) of those rows'
)
ENGINE = ReplacingMergeTree(build)
ORDER BY (site_id, hour);
