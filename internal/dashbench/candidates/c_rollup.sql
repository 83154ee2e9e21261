-- Candidate (c): the channels breakdown from the per-day rollup.

-- query: channels
SELECT channel, uniqExactMerge(visitors) AS v, uniqExactMerge(sessions) AS s, uniqExactMerge(pageviews) AS p
FROM roll_channels
WHERE site_id = {site} AND day BETWEEN toDate(toDateTime({from}), {tz}) AND toDate(toDateTime({to} - 1), {tz})
GROUP BY channel ORDER BY s DESC, p DESC, channel LIMIT 10;
