-- Candidate (d) = (a) + (c): per-day rollups of CLOSED days, computed once
-- from deduplicated final rows (sess_rmt FINAL, and events' distinct
-- pageviews), keyed by (site, site-local day, dimension, key). A day is
-- closed when no session that started on it can still change: its last
-- session start + maximum length + gap + allowed disorder has passed on every
-- partition clock. Its rows are then final, so sessions, pageviews, bounces
-- and durations are plain sums (each session counts on its start day only,
-- so they add up across days) and recomputing a day writes the same rows
-- again (ReplacingMergeTree: replaced, never added). Visitors do not add up
-- across days, so each row also keeps the day's visitor set as a uniqExact
-- state, merged over the range. Open days are read from sess_rmt directly.
-- Built here for every day of site00 (Europe/Berlin) at once.
DROP TABLE IF EXISTS roll_daily;
CREATE TABLE roll_daily
(
    site_id String, day Date, dim String, key String,
    sessions UInt64, pageviews UInt64, bounces UInt64, duration_ms UInt64,
    day_visitors UInt64, visitors AggregateFunction(uniqExact, UUID),
    computed_ms UInt64
)
ENGINE = ReplacingMergeTree(computed_ms) PARTITION BY toYYYYMM(day) ORDER BY (site_id, day, dim, key);
INSERT INTO roll_daily (site_id, day, dim, key, sessions, pageviews, bounces, duration_ms, day_visitors, visitors, computed_ms)
SELECT site_id, day, d.1 AS dim, d.2 AS key, count(), sum(pageviews),
       countIf(pageviews < 2 AND duration_ms <= 10000 AND custom_events = 0), sum(duration_ms),
       uniqExact(visitor_id), uniqExactState(visitor_id), 1
FROM (SELECT site_id, toDate(started_at, 'Europe/Berlin') AS day, visitor_id, pageviews, custom_events, last_ms - first_ms AS duration_ms,
             is_bot, [('summary', ''), ('entry_pages', entry_pathname), ('exit_pages', exit_pathname),
                      ('referrers', referrer_domain), ('channels', channel)] AS dims
      FROM sess_rmt FINAL WHERE site_id = 'site00')
ARRAY JOIN dims AS d
WHERE is_bot = 0
GROUP BY site_id, day, dim, key;
INSERT INTO roll_daily (site_id, day, dim, key, sessions, pageviews, bounces, duration_ms, day_visitors, visitors, computed_ms)
SELECT site_id, toDate(session_started_at, 'Europe/Berlin') AS day, 'pages', pathname, uniqExact(session_id), uniqExact(event_id), 0, 0,
       uniqExact(visitor_id), uniqExactState(visitor_id), 1
FROM events
WHERE site_id = 'site00' AND kind = 'pageview'
  AND session_id NOT IN (SELECT session_id FROM events WHERE site_id = 'site00' AND is_bot = 1)
GROUP BY site_id, day, pathname;
