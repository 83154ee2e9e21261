-- Candidate (b): slim aggregate states, one row of states per event (the
-- worst case of a flush per event), 16 inserts per month with merges
-- stopped. Counts are max() of ordinals the sessionizer gives each event
-- (its number in the session, among pageviews, among custom events):
-- deterministic under replay, so max is exact and idempotent where
-- uniqExact needed a hash set of ids. Entry attribution is one argMin over
-- a tuple keyed by (event time, event id): the earliest event wins.
-- Single-level GROUP BY: two-level aggregation would write each of its 256
-- buckets as a part of its own.
SET group_by_two_level_threshold = 0;
SET group_by_two_level_threshold_bytes = 0;
DROP TABLE IF EXISTS sess_slim;
CREATE TABLE sess_slim
(
    site_id String, session_date Date, session_id UUID, visitor_id UUID, started_at DateTime('UTC'),
    start_reason Enum8('first_visit' = 1, 'inactivity' = 2, 'max_length' = 3, 'midnight' = 4, 'campaign' = 5),
    first_ms AggregateFunction(min, UInt64), last_ms AggregateFunction(max, UInt64),
    events AggregateFunction(max, UInt32), pageviews AggregateFunction(max, UInt32), custom_events AggregateFunction(max, UInt32),
    exit_pathname AggregateFunction(argMax, String, Tuple(UInt64, UUID)),
    entry AggregateFunction(argMin, Tuple(String, String, String, String, String, String, String, String, String, String, String, String, String, String, String, String, UInt16, UInt16), Tuple(UInt64, UUID)),
    is_bot AggregateFunction(max, UInt8), max_scroll AggregateFunction(max, UInt8)
)
ENGINE = AggregatingMergeTree PARTITION BY toYYYYMM(session_date) ORDER BY (site_id, session_date, session_id);
SYSTEM STOP MERGES sess_slim;
INSERT INTO sess_slim (site_id, session_date, session_id, visitor_id, started_at, start_reason, first_ms, last_ms,
    events, pageviews, custom_events, exit_pathname, entry, is_bot, max_scroll)
SELECT site_id, session_date, session_id, any(visitor_id), any(started_at), any(start_reason), minState(ev_ts), maxState(ev_ts),
    maxState(k), maxState(pv), maxState(cu), argMaxState(ev_path, (ev_ts, ev_id)),
    argMinState((entry_pathname, entry_hostname, referrer, referrer_domain, referrer_source, channel, utm_source, utm_medium, utm_campaign, utm_term, utm_content, click_id_type, browser, browser_version, os, device, screen_width, screen_height), (ev_ts, ev_id)), maxState(ev_bot), maxState(ev_scroll)
FROM cand_stage WHERE k = 1 AND cityHash64(toString(session_id)) % 4 = 0
GROUP BY site_id, session_date, session_id, k;
INSERT INTO sess_slim (site_id, session_date, session_id, visitor_id, started_at, start_reason, first_ms, last_ms,
    events, pageviews, custom_events, exit_pathname, entry, is_bot, max_scroll)
SELECT site_id, session_date, session_id, any(visitor_id), any(started_at), any(start_reason), minState(ev_ts), maxState(ev_ts),
    maxState(k), maxState(pv), maxState(cu), argMaxState(ev_path, (ev_ts, ev_id)),
    argMinState((entry_pathname, entry_hostname, referrer, referrer_domain, referrer_source, channel, utm_source, utm_medium, utm_campaign, utm_term, utm_content, click_id_type, browser, browser_version, os, device, screen_width, screen_height), (ev_ts, ev_id)), maxState(ev_bot), maxState(ev_scroll)
FROM cand_stage WHERE k = 1 AND cityHash64(toString(session_id)) % 4 = 1
GROUP BY site_id, session_date, session_id, k;
INSERT INTO sess_slim (site_id, session_date, session_id, visitor_id, started_at, start_reason, first_ms, last_ms,
    events, pageviews, custom_events, exit_pathname, entry, is_bot, max_scroll)
SELECT site_id, session_date, session_id, any(visitor_id), any(started_at), any(start_reason), minState(ev_ts), maxState(ev_ts),
    maxState(k), maxState(pv), maxState(cu), argMaxState(ev_path, (ev_ts, ev_id)),
    argMinState((entry_pathname, entry_hostname, referrer, referrer_domain, referrer_source, channel, utm_source, utm_medium, utm_campaign, utm_term, utm_content, click_id_type, browser, browser_version, os, device, screen_width, screen_height), (ev_ts, ev_id)), maxState(ev_bot), maxState(ev_scroll)
FROM cand_stage WHERE k = 1 AND cityHash64(toString(session_id)) % 4 = 2
GROUP BY site_id, session_date, session_id, k;
INSERT INTO sess_slim (site_id, session_date, session_id, visitor_id, started_at, start_reason, first_ms, last_ms,
    events, pageviews, custom_events, exit_pathname, entry, is_bot, max_scroll)
SELECT site_id, session_date, session_id, any(visitor_id), any(started_at), any(start_reason), minState(ev_ts), maxState(ev_ts),
    maxState(k), maxState(pv), maxState(cu), argMaxState(ev_path, (ev_ts, ev_id)),
    argMinState((entry_pathname, entry_hostname, referrer, referrer_domain, referrer_source, channel, utm_source, utm_medium, utm_campaign, utm_term, utm_content, click_id_type, browser, browser_version, os, device, screen_width, screen_height), (ev_ts, ev_id)), maxState(ev_bot), maxState(ev_scroll)
FROM cand_stage WHERE k = 1 AND cityHash64(toString(session_id)) % 4 = 3
GROUP BY site_id, session_date, session_id, k;
INSERT INTO sess_slim (site_id, session_date, session_id, visitor_id, started_at, start_reason, first_ms, last_ms,
    events, pageviews, custom_events, exit_pathname, entry, is_bot, max_scroll)
SELECT site_id, session_date, session_id, any(visitor_id), any(started_at), any(start_reason), minState(ev_ts), maxState(ev_ts),
    maxState(k), maxState(pv), maxState(cu), argMaxState(ev_path, (ev_ts, ev_id)),
    argMinState((entry_pathname, entry_hostname, referrer, referrer_domain, referrer_source, channel, utm_source, utm_medium, utm_campaign, utm_term, utm_content, click_id_type, browser, browser_version, os, device, screen_width, screen_height), (ev_ts, ev_id)), maxState(ev_bot), maxState(ev_scroll)
FROM cand_stage WHERE k = 2 AND cityHash64(toString(session_id)) % 4 = 0
GROUP BY site_id, session_date, session_id, k;
INSERT INTO sess_slim (site_id, session_date, session_id, visitor_id, started_at, start_reason, first_ms, last_ms,
    events, pageviews, custom_events, exit_pathname, entry, is_bot, max_scroll)
SELECT site_id, session_date, session_id, any(visitor_id), any(started_at), any(start_reason), minState(ev_ts), maxState(ev_ts),
    maxState(k), maxState(pv), maxState(cu), argMaxState(ev_path, (ev_ts, ev_id)),
    argMinState((entry_pathname, entry_hostname, referrer, referrer_domain, referrer_source, channel, utm_source, utm_medium, utm_campaign, utm_term, utm_content, click_id_type, browser, browser_version, os, device, screen_width, screen_height), (ev_ts, ev_id)), maxState(ev_bot), maxState(ev_scroll)
FROM cand_stage WHERE k = 2 AND cityHash64(toString(session_id)) % 4 = 1
GROUP BY site_id, session_date, session_id, k;
INSERT INTO sess_slim (site_id, session_date, session_id, visitor_id, started_at, start_reason, first_ms, last_ms,
    events, pageviews, custom_events, exit_pathname, entry, is_bot, max_scroll)
SELECT site_id, session_date, session_id, any(visitor_id), any(started_at), any(start_reason), minState(ev_ts), maxState(ev_ts),
    maxState(k), maxState(pv), maxState(cu), argMaxState(ev_path, (ev_ts, ev_id)),
    argMinState((entry_pathname, entry_hostname, referrer, referrer_domain, referrer_source, channel, utm_source, utm_medium, utm_campaign, utm_term, utm_content, click_id_type, browser, browser_version, os, device, screen_width, screen_height), (ev_ts, ev_id)), maxState(ev_bot), maxState(ev_scroll)
FROM cand_stage WHERE k = 2 AND cityHash64(toString(session_id)) % 4 = 2
GROUP BY site_id, session_date, session_id, k;
INSERT INTO sess_slim (site_id, session_date, session_id, visitor_id, started_at, start_reason, first_ms, last_ms,
    events, pageviews, custom_events, exit_pathname, entry, is_bot, max_scroll)
SELECT site_id, session_date, session_id, any(visitor_id), any(started_at), any(start_reason), minState(ev_ts), maxState(ev_ts),
    maxState(k), maxState(pv), maxState(cu), argMaxState(ev_path, (ev_ts, ev_id)),
    argMinState((entry_pathname, entry_hostname, referrer, referrer_domain, referrer_source, channel, utm_source, utm_medium, utm_campaign, utm_term, utm_content, click_id_type, browser, browser_version, os, device, screen_width, screen_height), (ev_ts, ev_id)), maxState(ev_bot), maxState(ev_scroll)
FROM cand_stage WHERE k = 2 AND cityHash64(toString(session_id)) % 4 = 3
GROUP BY site_id, session_date, session_id, k;
INSERT INTO sess_slim (site_id, session_date, session_id, visitor_id, started_at, start_reason, first_ms, last_ms,
    events, pageviews, custom_events, exit_pathname, entry, is_bot, max_scroll)
SELECT site_id, session_date, session_id, any(visitor_id), any(started_at), any(start_reason), minState(ev_ts), maxState(ev_ts),
    maxState(k), maxState(pv), maxState(cu), argMaxState(ev_path, (ev_ts, ev_id)),
    argMinState((entry_pathname, entry_hostname, referrer, referrer_domain, referrer_source, channel, utm_source, utm_medium, utm_campaign, utm_term, utm_content, click_id_type, browser, browser_version, os, device, screen_width, screen_height), (ev_ts, ev_id)), maxState(ev_bot), maxState(ev_scroll)
FROM cand_stage WHERE k = 3 AND cityHash64(toString(session_id)) % 4 = 0
GROUP BY site_id, session_date, session_id, k;
INSERT INTO sess_slim (site_id, session_date, session_id, visitor_id, started_at, start_reason, first_ms, last_ms,
    events, pageviews, custom_events, exit_pathname, entry, is_bot, max_scroll)
SELECT site_id, session_date, session_id, any(visitor_id), any(started_at), any(start_reason), minState(ev_ts), maxState(ev_ts),
    maxState(k), maxState(pv), maxState(cu), argMaxState(ev_path, (ev_ts, ev_id)),
    argMinState((entry_pathname, entry_hostname, referrer, referrer_domain, referrer_source, channel, utm_source, utm_medium, utm_campaign, utm_term, utm_content, click_id_type, browser, browser_version, os, device, screen_width, screen_height), (ev_ts, ev_id)), maxState(ev_bot), maxState(ev_scroll)
FROM cand_stage WHERE k = 3 AND cityHash64(toString(session_id)) % 4 = 1
GROUP BY site_id, session_date, session_id, k;
INSERT INTO sess_slim (site_id, session_date, session_id, visitor_id, started_at, start_reason, first_ms, last_ms,
    events, pageviews, custom_events, exit_pathname, entry, is_bot, max_scroll)
SELECT site_id, session_date, session_id, any(visitor_id), any(started_at), any(start_reason), minState(ev_ts), maxState(ev_ts),
    maxState(k), maxState(pv), maxState(cu), argMaxState(ev_path, (ev_ts, ev_id)),
    argMinState((entry_pathname, entry_hostname, referrer, referrer_domain, referrer_source, channel, utm_source, utm_medium, utm_campaign, utm_term, utm_content, click_id_type, browser, browser_version, os, device, screen_width, screen_height), (ev_ts, ev_id)), maxState(ev_bot), maxState(ev_scroll)
FROM cand_stage WHERE k = 3 AND cityHash64(toString(session_id)) % 4 = 2
GROUP BY site_id, session_date, session_id, k;
INSERT INTO sess_slim (site_id, session_date, session_id, visitor_id, started_at, start_reason, first_ms, last_ms,
    events, pageviews, custom_events, exit_pathname, entry, is_bot, max_scroll)
SELECT site_id, session_date, session_id, any(visitor_id), any(started_at), any(start_reason), minState(ev_ts), maxState(ev_ts),
    maxState(k), maxState(pv), maxState(cu), argMaxState(ev_path, (ev_ts, ev_id)),
    argMinState((entry_pathname, entry_hostname, referrer, referrer_domain, referrer_source, channel, utm_source, utm_medium, utm_campaign, utm_term, utm_content, click_id_type, browser, browser_version, os, device, screen_width, screen_height), (ev_ts, ev_id)), maxState(ev_bot), maxState(ev_scroll)
FROM cand_stage WHERE k = 3 AND cityHash64(toString(session_id)) % 4 = 3
GROUP BY site_id, session_date, session_id, k;
INSERT INTO sess_slim (site_id, session_date, session_id, visitor_id, started_at, start_reason, first_ms, last_ms,
    events, pageviews, custom_events, exit_pathname, entry, is_bot, max_scroll)
SELECT site_id, session_date, session_id, any(visitor_id), any(started_at), any(start_reason), minState(ev_ts), maxState(ev_ts),
    maxState(k), maxState(pv), maxState(cu), argMaxState(ev_path, (ev_ts, ev_id)),
    argMinState((entry_pathname, entry_hostname, referrer, referrer_domain, referrer_source, channel, utm_source, utm_medium, utm_campaign, utm_term, utm_content, click_id_type, browser, browser_version, os, device, screen_width, screen_height), (ev_ts, ev_id)), maxState(ev_bot), maxState(ev_scroll)
FROM cand_stage WHERE k >= 4 AND cityHash64(toString(session_id)) % 4 = 0
GROUP BY site_id, session_date, session_id, k;
INSERT INTO sess_slim (site_id, session_date, session_id, visitor_id, started_at, start_reason, first_ms, last_ms,
    events, pageviews, custom_events, exit_pathname, entry, is_bot, max_scroll)
SELECT site_id, session_date, session_id, any(visitor_id), any(started_at), any(start_reason), minState(ev_ts), maxState(ev_ts),
    maxState(k), maxState(pv), maxState(cu), argMaxState(ev_path, (ev_ts, ev_id)),
    argMinState((entry_pathname, entry_hostname, referrer, referrer_domain, referrer_source, channel, utm_source, utm_medium, utm_campaign, utm_term, utm_content, click_id_type, browser, browser_version, os, device, screen_width, screen_height), (ev_ts, ev_id)), maxState(ev_bot), maxState(ev_scroll)
FROM cand_stage WHERE k >= 4 AND cityHash64(toString(session_id)) % 4 = 1
GROUP BY site_id, session_date, session_id, k;
INSERT INTO sess_slim (site_id, session_date, session_id, visitor_id, started_at, start_reason, first_ms, last_ms,
    events, pageviews, custom_events, exit_pathname, entry, is_bot, max_scroll)
SELECT site_id, session_date, session_id, any(visitor_id), any(started_at), any(start_reason), minState(ev_ts), maxState(ev_ts),
    maxState(k), maxState(pv), maxState(cu), argMaxState(ev_path, (ev_ts, ev_id)),
    argMinState((entry_pathname, entry_hostname, referrer, referrer_domain, referrer_source, channel, utm_source, utm_medium, utm_campaign, utm_term, utm_content, click_id_type, browser, browser_version, os, device, screen_width, screen_height), (ev_ts, ev_id)), maxState(ev_bot), maxState(ev_scroll)
FROM cand_stage WHERE k >= 4 AND cityHash64(toString(session_id)) % 4 = 2
GROUP BY site_id, session_date, session_id, k;
INSERT INTO sess_slim (site_id, session_date, session_id, visitor_id, started_at, start_reason, first_ms, last_ms,
    events, pageviews, custom_events, exit_pathname, entry, is_bot, max_scroll)
SELECT site_id, session_date, session_id, any(visitor_id), any(started_at), any(start_reason), minState(ev_ts), maxState(ev_ts),
    maxState(k), maxState(pv), maxState(cu), argMaxState(ev_path, (ev_ts, ev_id)),
    argMinState((entry_pathname, entry_hostname, referrer, referrer_domain, referrer_source, channel, utm_source, utm_medium, utm_campaign, utm_term, utm_content, click_id_type, browser, browser_version, os, device, screen_width, screen_height), (ev_ts, ev_id)), maxState(ev_bot), maxState(ev_scroll)
FROM cand_stage WHERE k >= 4 AND cityHash64(toString(session_id)) % 4 = 3
GROUP BY site_id, session_date, session_id, k;
