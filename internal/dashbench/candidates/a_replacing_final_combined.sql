-- Candidate (a), read with FINAL, with the site page's session figures in
-- one query: the summary, the daily series and the four session breakdowns
-- each group the same sessions, so one FINAL scan feeds them all (ARRAY JOIN
-- of (dimension, key) pairs, LIMIT n BY dimension; the caller keeps the top
-- 10 of each breakdown). The session list reads the 50 latest sessions' ids
-- first (three small columns), then only their rows. Pages still count the
-- events table.

-- query: combined
SELECT dim, key, uniqExact(visitor_id) AS visitors, count() AS sessions, sum(pageviews) AS total_pageviews,
       countIf(pageviews < 2 AND duration_ms <= 10000 AND custom_events = 0) AS bounces, sum(duration_ms) AS total_duration_ms
FROM (SELECT visitor_id, pageviews, custom_events, last_ms - first_ms AS duration_ms, is_bot,
             [('summary', ''), ('timeseries', toString(toDate(started_at, {tz}))), ('entry_pages', entry_pathname),
              ('exit_pages', exit_pathname), ('referrers', referrer_domain), ('channels', channel)] AS dims
      FROM sess_rmt FINAL
      WHERE site_id = {site} AND session_date BETWEEN toDate({from_day}) AND toDate({to_day})
        AND started_at >= toDateTime({from}) AND started_at < toDateTime({to}))
ARRAY JOIN dims AS d
WHERE is_bot = 0
GROUP BY d.1 AS dim, d.2 AS key
ORDER BY dim, sessions DESC, total_pageviews DESC, key
LIMIT 1100 BY dim;

-- query: sessions
SELECT session_id, visitor_id, started_at, last_ms - first_ms AS duration_ms, pageviews, events, custom_events, entry_pathname, exit_pathname,
       referrer_domain, channel, browser, os, device, toString(start_reason)
FROM (SELECT * FROM sess_rmt FINAL
      WHERE site_id = {site} AND session_date BETWEEN toDate({from_day}) AND toDate({to_day})
        AND started_at >= toDateTime({from}) AND started_at < toDateTime({to})
        AND session_id IN (SELECT session_id FROM (SELECT session_id, started_at, is_bot FROM sess_rmt FINAL
                           WHERE site_id = {site} AND session_date BETWEEN toDate({from_day}) AND toDate({to_day})
                             AND started_at >= toDateTime({from}) AND started_at < toDateTime({to}))
                           WHERE is_bot = 0 ORDER BY started_at DESC, session_id LIMIT 50))
WHERE is_bot = 0
ORDER BY started_at DESC, session_id LIMIT 50;

-- query: pages
SELECT pathname, uniqExact(visitor_id) AS visitors, uniqExact(session_id) AS sessions, uniqExact(event_id) AS pageviews
FROM events
WHERE site_id = {site}
  AND toDate(ts) BETWEEN toDate(toDateTime({from} - 86400)) AND toDate(toDateTime({to} + 172800))
  AND ts >= toDateTime({from} - 86400) AND ts < toDateTime({to} + 172800)
  AND session_started_at >= toDateTime({from}) AND session_started_at < toDateTime({to})
  AND kind = 'pageview' AND is_bot = 0
GROUP BY pathname
ORDER BY pageviews DESC, sessions DESC, pathname
LIMIT 10;
