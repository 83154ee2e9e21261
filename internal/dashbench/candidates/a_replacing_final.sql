-- Candidate (a) read with FINAL; the bot filter (a figure that can change
-- between versions) is applied after FINAL, outside the subquery, so that
-- it never selects an old version.

-- query: summary
SELECT uniqExact(visitor_id), count(), sum(pageviews), countIf(pageviews < 2 AND duration_ms <= 10000 AND custom_events = 0), sum(duration_ms)
FROM (SELECT session_id, visitor_id AS visitor_id, pageviews AS pageviews, custom_events AS custom_events, last_ms - first_ms AS duration_ms, is_bot
      FROM sess_rmt FINAL
      WHERE site_id = {site} AND session_date BETWEEN toDate({from_day}) AND toDate({to_day})
        AND started_at >= toDateTime({from}) AND started_at < toDateTime({to}))
 WHERE is_bot = 0;

-- query: timeseries
SELECT toString(toDate(started_at, {tz})) AS day, uniqExact(visitor_id), count(), sum(pageviews)
FROM (SELECT session_id, visitor_id AS visitor_id, started_at AS started_at, pageviews AS pageviews, is_bot
      FROM sess_rmt FINAL
      WHERE site_id = {site} AND session_date BETWEEN toDate({from_day}) AND toDate({to_day})
        AND started_at >= toDateTime({from}) AND started_at < toDateTime({to}))
 WHERE is_bot = 0
GROUP BY day ORDER BY day;

-- query: sessions
SELECT session_id, visitor_id, started_at, duration_ms, pageviews, events, custom_events, entry_pathname, exit_pathname,
       referrer_domain, channel, browser, os, device, toString(start_reason)
FROM (SELECT session_id, visitor_id AS visitor_id, started_at AS started_at, last_ms - first_ms AS duration_ms, pageviews AS pageviews, events AS events, custom_events AS custom_events, entry_pathname AS entry_pathname, exit_pathname AS exit_pathname, referrer_domain AS referrer_domain, channel AS channel, browser AS browser, os AS os, device AS device, start_reason AS start_reason, is_bot
      FROM sess_rmt FINAL
      WHERE site_id = {site} AND session_date BETWEEN toDate({from_day}) AND toDate({to_day})
        AND started_at >= toDateTime({from}) AND started_at < toDateTime({to}))
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

-- query: entry_pages
SELECT key, uniqExact(visitor_id) AS visitors, count() AS sessions, sum(pageviews) AS total_pageviews
FROM (SELECT session_id, entry_pathname AS key, visitor_id AS visitor_id, pageviews AS pageviews, is_bot
      FROM sess_rmt FINAL
      WHERE site_id = {site} AND session_date BETWEEN toDate({from_day}) AND toDate({to_day})
        AND started_at >= toDateTime({from}) AND started_at < toDateTime({to}))
 WHERE is_bot = 0
GROUP BY key ORDER BY sessions DESC, total_pageviews DESC, key LIMIT 10;

-- query: exit_pages
SELECT key, uniqExact(visitor_id) AS visitors, count() AS sessions, sum(pageviews) AS total_pageviews
FROM (SELECT session_id, exit_pathname AS key, visitor_id AS visitor_id, pageviews AS pageviews, is_bot
      FROM sess_rmt FINAL
      WHERE site_id = {site} AND session_date BETWEEN toDate({from_day}) AND toDate({to_day})
        AND started_at >= toDateTime({from}) AND started_at < toDateTime({to}))
 WHERE is_bot = 0
GROUP BY key ORDER BY sessions DESC, total_pageviews DESC, key LIMIT 10;

-- query: referrers
SELECT key, uniqExact(visitor_id) AS visitors, count() AS sessions, sum(pageviews) AS total_pageviews
FROM (SELECT session_id, referrer_domain AS key, visitor_id AS visitor_id, pageviews AS pageviews, is_bot
      FROM sess_rmt FINAL
      WHERE site_id = {site} AND session_date BETWEEN toDate({from_day}) AND toDate({to_day})
        AND started_at >= toDateTime({from}) AND started_at < toDateTime({to}))
 WHERE is_bot = 0
GROUP BY key ORDER BY sessions DESC, total_pageviews DESC, key LIMIT 10;

-- query: channels
SELECT key, uniqExact(visitor_id) AS visitors, count() AS sessions, sum(pageviews) AS total_pageviews
FROM (SELECT session_id, channel AS key, visitor_id AS visitor_id, pageviews AS pageviews, is_bot
      FROM sess_rmt FINAL
      WHERE site_id = {site} AND session_date BETWEEN toDate({from_day}) AND toDate({to_day})
        AND started_at >= toDateTime({from}) AND started_at < toDateTime({to}))
 WHERE is_bot = 0
GROUP BY key ORDER BY sessions DESC, total_pageviews DESC, key LIMIT 10;

