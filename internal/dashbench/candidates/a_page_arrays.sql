-- Pages of candidate (a) from the session rows' page arrays, with FINAL.

-- query: pages
SELECT pathname, uniqExact(visitor_id) AS visitors, count() AS sessions, sum(views) AS pageviews
FROM (SELECT visitor_id, pages, page_views, is_bot FROM sess_rmt_pages FINAL
      WHERE site_id = {site} AND session_date BETWEEN toDate({from_day}) AND toDate({to_day})
        AND started_at >= toDateTime({from}) AND started_at < toDateTime({to}))
ARRAY JOIN pages AS pathname, page_views AS views
WHERE is_bot = 0
GROUP BY pathname
ORDER BY pageviews DESC, sessions DESC, pathname
LIMIT 10;
