-- Candidate (d): the site page from the closed-day rollups (every day of
-- the range treated as closed; the open days' share, one or two days read
-- from sess_rmt, is measured separately as open_days_*). The session list
-- stays on sess_rmt, restricted to the range's last two days first (the 50
-- latest sessions are there unless the site has fewer; then the caller
-- widens to the whole range).

-- query: summary
SELECT uniqExactMerge(visitors), sum(sessions), sum(pageviews), sum(bounces), sum(duration_ms)
FROM roll_daily FINAL
WHERE site_id = {site} AND dim = 'summary' AND day BETWEEN toDate(toDateTime({from}), {tz}) AND toDate(toDateTime({to} - 1), {tz});

-- query: timeseries
SELECT toString(day), sum(day_visitors), sum(sessions), sum(pageviews)
FROM roll_daily FINAL
WHERE site_id = {site} AND dim = 'summary' AND day BETWEEN toDate(toDateTime({from}), {tz}) AND toDate(toDateTime({to} - 1), {tz})
GROUP BY day ORDER BY day;

-- query: sessions
SELECT session_id, visitor_id, started_at, duration_ms, pageviews, events, custom_events, entry_pathname, exit_pathname,
       referrer_domain, channel, browser, os, device, toString(start_reason)
FROM (SELECT session_id, visitor_id, started_at, last_ms - first_ms AS duration_ms, pageviews, events, custom_events, entry_pathname,
             exit_pathname, referrer_domain, channel, browser, os, device, start_reason, is_bot
      FROM sess_rmt FINAL
      WHERE site_id = {site} AND session_date BETWEEN toDate({to_day}) - 3 AND toDate({to_day})
        AND started_at >= greatest(toDateTime({from}), toDateTime({to} - 2 * 86400)) AND started_at < toDateTime({to}))
WHERE is_bot = 0
ORDER BY started_at DESC, session_id LIMIT 50;

-- query: pages
SELECT key, uniqExactMerge(visitors) AS v, sum(sessions) AS s, sum(pageviews) AS p
FROM roll_daily FINAL
WHERE site_id = {site} AND dim = 'pages' AND day BETWEEN toDate(toDateTime({from}), {tz}) AND toDate(toDateTime({to} - 1), {tz})
GROUP BY key ORDER BY p DESC, s DESC, key LIMIT 10;

-- query: entry_pages
SELECT key, uniqExactMerge(visitors) AS v, sum(sessions) AS s, sum(pageviews) AS p
FROM roll_daily FINAL
WHERE site_id = {site} AND dim = 'entry_pages' AND day BETWEEN toDate(toDateTime({from}), {tz}) AND toDate(toDateTime({to} - 1), {tz})
GROUP BY key ORDER BY s DESC, p DESC, key LIMIT 10;

-- query: exit_pages
SELECT key, uniqExactMerge(visitors) AS v, sum(sessions) AS s, sum(pageviews) AS p
FROM roll_daily FINAL
WHERE site_id = {site} AND dim = 'exit_pages' AND day BETWEEN toDate(toDateTime({from}), {tz}) AND toDate(toDateTime({to} - 1), {tz})
GROUP BY key ORDER BY s DESC, p DESC, key LIMIT 10;

-- query: referrers
SELECT key, uniqExactMerge(visitors) AS v, sum(sessions) AS s, sum(pageviews) AS p
FROM roll_daily FINAL
WHERE site_id = {site} AND dim = 'referrers' AND day BETWEEN toDate(toDateTime({from}), {tz}) AND toDate(toDateTime({to} - 1), {tz})
GROUP BY key ORDER BY s DESC, p DESC, key LIMIT 10;

-- query: channels
SELECT key, uniqExactMerge(visitors) AS v, sum(sessions) AS s, sum(pageviews) AS p
FROM roll_daily FINAL
WHERE site_id = {site} AND dim = 'channels' AND day BETWEEN toDate(toDateTime({from}), {tz}) AND toDate(toDateTime({to} - 1), {tz})
GROUP BY key ORDER BY s DESC, p DESC, key LIMIT 10;

-- query: open_days_channels
SELECT channel, uniqExact(visitor_id), count(), sum(pageviews)
FROM (SELECT channel, visitor_id, pageviews, is_bot FROM sess_rmt FINAL
      WHERE site_id = {site} AND session_date BETWEEN toDate({to_day}) - 3 AND toDate({to_day})
        AND started_at >= toDateTime({to} - 2 * 86400) AND started_at < toDateTime({to}))
WHERE is_bot = 0
GROUP BY channel ORDER BY 3 DESC LIMIT 10;
