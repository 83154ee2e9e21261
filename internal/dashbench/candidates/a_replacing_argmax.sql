-- Candidate (a) read without FINAL: the latest version's values per
-- session with argMax(column, version).

-- query: summary
SELECT uniqExact(s_visitor_id), count(), sum(s_pageviews), countIf(s_pageviews < 2 AND s_duration_ms <= 10000 AND s_custom_events = 0), sum(s_duration_ms)
FROM (SELECT session_id, argMax(visitor_id, version) AS s_visitor_id, argMax(pageviews, version) AS s_pageviews, argMax(custom_events, version) AS s_custom_events, argMax(last_ms - first_ms, version) AS s_duration_ms, argMax(is_bot, version) AS s_bot
      FROM sess_rmt
      WHERE site_id = {site} AND session_date BETWEEN toDate({from_day}) AND toDate({to_day})
        AND started_at >= toDateTime({from}) AND started_at < toDateTime({to})
      GROUP BY session_id HAVING s_bot = 0);

-- query: timeseries
SELECT toString(toDate(s_started_at, {tz})) AS day, uniqExact(s_visitor_id), count(), sum(s_pageviews)
FROM (SELECT session_id, argMax(visitor_id, version) AS s_visitor_id, argMax(started_at, version) AS s_started_at, argMax(pageviews, version) AS s_pageviews, argMax(is_bot, version) AS s_bot
      FROM sess_rmt
      WHERE site_id = {site} AND session_date BETWEEN toDate({from_day}) AND toDate({to_day})
        AND started_at >= toDateTime({from}) AND started_at < toDateTime({to})
      GROUP BY session_id HAVING s_bot = 0)
GROUP BY day ORDER BY day;

-- query: sessions
SELECT session_id, s_visitor_id, s_started_at, s_duration_ms, s_pageviews, s_events, s_custom_events, s_entry_pathname, s_exit_pathname,
       s_referrer_domain, s_channel, s_browser, s_os, s_device, toString(s_start_reason)
FROM (SELECT session_id, argMax(visitor_id, version) AS s_visitor_id, argMax(started_at, version) AS s_started_at, argMax(last_ms - first_ms, version) AS s_duration_ms, argMax(pageviews, version) AS s_pageviews, argMax(events, version) AS s_events, argMax(custom_events, version) AS s_custom_events, argMax(entry_pathname, version) AS s_entry_pathname, argMax(exit_pathname, version) AS s_exit_pathname, argMax(referrer_domain, version) AS s_referrer_domain, argMax(channel, version) AS s_channel, argMax(browser, version) AS s_browser, argMax(os, version) AS s_os, argMax(device, version) AS s_device, argMax(start_reason, version) AS s_start_reason, argMax(is_bot, version) AS s_bot
      FROM sess_rmt
      WHERE site_id = {site} AND session_date BETWEEN toDate({from_day}) AND toDate({to_day})
        AND started_at >= toDateTime({from}) AND started_at < toDateTime({to})
      GROUP BY session_id HAVING s_bot = 0)
ORDER BY s_started_at DESC, session_id LIMIT 50;

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
SELECT s_key, uniqExact(s_visitor_id) AS visitors, count() AS sessions, sum(s_pageviews) AS total_pageviews
FROM (SELECT session_id, argMax(entry_pathname, version) AS s_key, argMax(visitor_id, version) AS s_visitor_id, argMax(pageviews, version) AS s_pageviews, argMax(is_bot, version) AS s_bot
      FROM sess_rmt
      WHERE site_id = {site} AND session_date BETWEEN toDate({from_day}) AND toDate({to_day})
        AND started_at >= toDateTime({from}) AND started_at < toDateTime({to})
      GROUP BY session_id HAVING s_bot = 0)
GROUP BY s_key ORDER BY sessions DESC, total_pageviews DESC, s_key LIMIT 10;

-- query: exit_pages
SELECT s_key, uniqExact(s_visitor_id) AS visitors, count() AS sessions, sum(s_pageviews) AS total_pageviews
FROM (SELECT session_id, argMax(exit_pathname, version) AS s_key, argMax(visitor_id, version) AS s_visitor_id, argMax(pageviews, version) AS s_pageviews, argMax(is_bot, version) AS s_bot
      FROM sess_rmt
      WHERE site_id = {site} AND session_date BETWEEN toDate({from_day}) AND toDate({to_day})
        AND started_at >= toDateTime({from}) AND started_at < toDateTime({to})
      GROUP BY session_id HAVING s_bot = 0)
GROUP BY s_key ORDER BY sessions DESC, total_pageviews DESC, s_key LIMIT 10;

-- query: referrers
SELECT s_key, uniqExact(s_visitor_id) AS visitors, count() AS sessions, sum(s_pageviews) AS total_pageviews
FROM (SELECT session_id, argMax(referrer_domain, version) AS s_key, argMax(visitor_id, version) AS s_visitor_id, argMax(pageviews, version) AS s_pageviews, argMax(is_bot, version) AS s_bot
      FROM sess_rmt
      WHERE site_id = {site} AND session_date BETWEEN toDate({from_day}) AND toDate({to_day})
        AND started_at >= toDateTime({from}) AND started_at < toDateTime({to})
      GROUP BY session_id HAVING s_bot = 0)
GROUP BY s_key ORDER BY sessions DESC, total_pageviews DESC, s_key LIMIT 10;

-- query: channels
SELECT s_key, uniqExact(s_visitor_id) AS visitors, count() AS sessions, sum(s_pageviews) AS total_pageviews
FROM (SELECT session_id, argMax(channel, version) AS s_key, argMax(visitor_id, version) AS s_visitor_id, argMax(pageviews, version) AS s_pageviews, argMax(is_bot, version) AS s_bot
      FROM sess_rmt
      WHERE site_id = {site} AND session_date BETWEEN toDate({from_day}) AND toDate({to_day})
        AND started_at >= toDateTime({from}) AND started_at < toDateTime({to})
      GROUP BY session_id HAVING s_bot = 0)
GROUP BY s_key ORDER BY sessions DESC, total_pageviews DESC, s_key LIMIT 10;

