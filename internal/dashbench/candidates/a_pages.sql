-- Pages of candidate (a) from sess_pages, read with FINAL (bots: the
-- session's flag, applied after FINAL).

-- query: pages
SELECT pathname, uniqExact(visitor_id) AS visitors, count() AS sessions, sum(views) AS pageviews
FROM (SELECT pathname, visitor_id, views, is_bot FROM sess_pages FINAL
      WHERE site_id = {site} AND session_date BETWEEN toDate({from_day}) AND toDate({to_day})
        AND started_at >= toDateTime({from}) AND started_at < toDateTime({to}))
WHERE is_bot = 0
GROUP BY pathname
ORDER BY pageviews DESC, sessions DESC, pathname
LIMIT 10;
