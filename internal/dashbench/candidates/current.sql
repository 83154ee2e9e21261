-- The report queries of pkg/report on main (6fa2627), as the site page runs
-- them: every figure merged from sessions_agg's aggregate states per session.
-- Placeholders: see dashbench.ParseQueries.

-- query: summary
SELECT uniqExact(s_visitor), count(), sum(s_pageviews), countIf(s_pageviews < 2 AND s_duration <= 10000 AND s_custom = 0), sum(s_duration)
FROM (SELECT session_id, any(visitor_id) AS s_visitor, toUInt64(maxMerge(last_ms) - minMerge(first_ms)) AS s_duration,
             uniqExactMerge(pageviews) AS s_pageviews, uniqExactMerge(custom_events) AS s_custom, maxMerge(is_bot) AS s_bot
      FROM sessions_agg
      WHERE site_id = {site} AND session_date BETWEEN toDate({from_day}) AND toDate({to_day})
        AND started_at >= toDateTime({from}) AND started_at < toDateTime({to})
      GROUP BY session_id HAVING s_bot = 0);

-- query: timeseries
SELECT toString(toDate(s_started, {tz})) AS day, uniqExact(s_visitor), count(), sum(s_pageviews)
FROM (SELECT session_id, any(visitor_id) AS s_visitor, any(started_at) AS s_started, uniqExactMerge(pageviews) AS s_pageviews,
             maxMerge(is_bot) AS s_bot
      FROM sessions_agg
      WHERE site_id = {site} AND session_date BETWEEN toDate({from_day}) AND toDate({to_day})
        AND started_at >= toDateTime({from}) AND started_at < toDateTime({to})
      GROUP BY session_id HAVING s_bot = 0)
GROUP BY day ORDER BY day;

-- query: sessions
SELECT session_id, s_visitor, s_started, s_duration, s_pageviews, s_events, s_custom,
       s_entry, s_exit, s_referrer_domain, s_channel, s_browser, s_os, s_device, toString(s_reason)
FROM (SELECT session_id, any(visitor_id) AS s_visitor, any(started_at) AS s_started,
             toUInt64(maxMerge(last_ms) - minMerge(first_ms)) AS s_duration, uniqExactMerge(pageviews) AS s_pageviews,
             uniqExactMerge(events) AS s_events, uniqExactMerge(custom_events) AS s_custom,
             argMinMerge(entry_pathname) AS s_entry, argMaxMerge(exit_pathname) AS s_exit,
             argMinMerge(referrer_domain) AS s_referrer_domain, argMinMerge(channel) AS s_channel,
             argMinMerge(browser) AS s_browser, argMinMerge(os) AS s_os, argMinMerge(device) AS s_device,
             any(start_reason) AS s_reason, maxMerge(is_bot) AS s_bot
      FROM sessions_agg
      WHERE site_id = {site} AND session_date BETWEEN toDate({from_day}) AND toDate({to_day})
        AND started_at >= toDateTime({from}) AND started_at < toDateTime({to})
      GROUP BY session_id HAVING s_bot = 0)
ORDER BY s_started DESC, session_id
LIMIT 50;

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
SELECT s_key, uniqExact(s_visitor) AS visitors, count() AS sessions, sum(s_pageviews) AS pageviews
FROM (SELECT session_id, argMinMerge(entry_pathname) AS s_key, any(visitor_id) AS s_visitor, uniqExactMerge(pageviews) AS s_pageviews,
             maxMerge(is_bot) AS s_bot
      FROM sessions_agg
      WHERE site_id = {site} AND session_date BETWEEN toDate({from_day}) AND toDate({to_day})
        AND started_at >= toDateTime({from}) AND started_at < toDateTime({to})
      GROUP BY session_id HAVING s_bot = 0)
GROUP BY s_key ORDER BY sessions DESC, pageviews DESC, s_key LIMIT 10;

-- query: exit_pages
SELECT s_key, uniqExact(s_visitor) AS visitors, count() AS sessions, sum(s_pageviews) AS pageviews
FROM (SELECT session_id, argMaxMerge(exit_pathname) AS s_key, any(visitor_id) AS s_visitor, uniqExactMerge(pageviews) AS s_pageviews,
             maxMerge(is_bot) AS s_bot
      FROM sessions_agg
      WHERE site_id = {site} AND session_date BETWEEN toDate({from_day}) AND toDate({to_day})
        AND started_at >= toDateTime({from}) AND started_at < toDateTime({to})
      GROUP BY session_id HAVING s_bot = 0)
GROUP BY s_key ORDER BY sessions DESC, pageviews DESC, s_key LIMIT 10;

-- query: referrers
SELECT s_key, uniqExact(s_visitor) AS visitors, count() AS sessions, sum(s_pageviews) AS pageviews
FROM (SELECT session_id, argMinMerge(referrer_domain) AS s_key, any(visitor_id) AS s_visitor, uniqExactMerge(pageviews) AS s_pageviews,
             maxMerge(is_bot) AS s_bot
      FROM sessions_agg
      WHERE site_id = {site} AND session_date BETWEEN toDate({from_day}) AND toDate({to_day})
        AND started_at >= toDateTime({from}) AND started_at < toDateTime({to})
      GROUP BY session_id HAVING s_bot = 0)
GROUP BY s_key ORDER BY sessions DESC, pageviews DESC, s_key LIMIT 10;

-- query: channels
SELECT s_key, uniqExact(s_visitor) AS visitors, count() AS sessions, sum(s_pageviews) AS pageviews
FROM (SELECT session_id, argMinMerge(channel) AS s_key, any(visitor_id) AS s_visitor, uniqExactMerge(pageviews) AS s_pageviews,
             maxMerge(is_bot) AS s_bot
      FROM sessions_agg
      WHERE site_id = {site} AND session_date BETWEEN toDate({from_day}) AND toDate({to_day})
        AND started_at >= toDateTime({from}) AND started_at < toDateTime({to})
      GROUP BY session_id HAVING s_bot = 0)
GROUP BY s_key ORDER BY sessions DESC, pageviews DESC, s_key LIMIT 10;
