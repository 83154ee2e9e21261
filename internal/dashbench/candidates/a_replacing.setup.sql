-- Candidate (a): the sessionizer writes one plain row per session version
-- (every flush that changed the session) into a ReplacingMergeTree whose
-- version is the number of distinct events the session holds: the same log
-- gives the same rows and versions, and the highest version is the whole
-- session. Filled here from cand_stage (one version per event, the worst
-- case of a flush per event) in 16 inserts per month with merges stopped,
-- as the sessionizer's continuous inserts leave it (8-21 parts per month
-- were seen on sessions_agg after the 10M fill).
DROP TABLE IF EXISTS sess_rmt;
CREATE TABLE sess_rmt
(
    site_id String, session_date Date, session_id UUID, visitor_id UUID, started_at DateTime('UTC'),
    start_reason Enum8('first_visit' = 1, 'inactivity' = 2, 'max_length' = 3, 'midnight' = 4, 'campaign' = 5),
    version UInt32, first_ms UInt64, last_ms UInt64, events UInt32, pageviews UInt32, custom_events UInt32,
    is_bot UInt8, max_scroll UInt8, exit_pathname String,
    entry_pathname String,
    entry_hostname String,
    referrer String,
    referrer_domain String,
    referrer_source String,
    channel String,
    utm_source String,
    utm_medium String,
    utm_campaign String,
    utm_term String,
    utm_content String,
    click_id_type String,
    browser String,
    browser_version String,
    os String,
    device String,
    screen_width UInt16,
    screen_height UInt16
)
ENGINE = ReplacingMergeTree(version) PARTITION BY toYYYYMM(session_date) ORDER BY (site_id, session_date, session_id);
SYSTEM STOP MERGES sess_rmt;
INSERT INTO sess_rmt (site_id, session_date, session_id, visitor_id, started_at, start_reason, version, first_ms, last_ms,
    events, pageviews, custom_events, is_bot, max_scroll, exit_pathname, entry_pathname, entry_hostname, referrer, referrer_domain, referrer_source, channel, utm_source, utm_medium, utm_campaign, utm_term, utm_content, click_id_type, browser, browser_version, os, device, screen_width, screen_height)
SELECT site_id, session_date, session_id, visitor_id, started_at, start_reason, k, first_ms, ev_ts, k, pv, cu, bot, max_scroll, ev_path,
    entry_pathname, entry_hostname, referrer, referrer_domain, referrer_source, channel, utm_source, utm_medium, utm_campaign, utm_term, utm_content, click_id_type, browser, browser_version, os, device, screen_width, screen_height
FROM cand_stage WHERE k = 1 AND cityHash64(toString(session_id)) % 4 = 0;
INSERT INTO sess_rmt (site_id, session_date, session_id, visitor_id, started_at, start_reason, version, first_ms, last_ms,
    events, pageviews, custom_events, is_bot, max_scroll, exit_pathname, entry_pathname, entry_hostname, referrer, referrer_domain, referrer_source, channel, utm_source, utm_medium, utm_campaign, utm_term, utm_content, click_id_type, browser, browser_version, os, device, screen_width, screen_height)
SELECT site_id, session_date, session_id, visitor_id, started_at, start_reason, k, first_ms, ev_ts, k, pv, cu, bot, max_scroll, ev_path,
    entry_pathname, entry_hostname, referrer, referrer_domain, referrer_source, channel, utm_source, utm_medium, utm_campaign, utm_term, utm_content, click_id_type, browser, browser_version, os, device, screen_width, screen_height
FROM cand_stage WHERE k = 1 AND cityHash64(toString(session_id)) % 4 = 1;
INSERT INTO sess_rmt (site_id, session_date, session_id, visitor_id, started_at, start_reason, version, first_ms, last_ms,
    events, pageviews, custom_events, is_bot, max_scroll, exit_pathname, entry_pathname, entry_hostname, referrer, referrer_domain, referrer_source, channel, utm_source, utm_medium, utm_campaign, utm_term, utm_content, click_id_type, browser, browser_version, os, device, screen_width, screen_height)
SELECT site_id, session_date, session_id, visitor_id, started_at, start_reason, k, first_ms, ev_ts, k, pv, cu, bot, max_scroll, ev_path,
    entry_pathname, entry_hostname, referrer, referrer_domain, referrer_source, channel, utm_source, utm_medium, utm_campaign, utm_term, utm_content, click_id_type, browser, browser_version, os, device, screen_width, screen_height
FROM cand_stage WHERE k = 1 AND cityHash64(toString(session_id)) % 4 = 2;
INSERT INTO sess_rmt (site_id, session_date, session_id, visitor_id, started_at, start_reason, version, first_ms, last_ms,
    events, pageviews, custom_events, is_bot, max_scroll, exit_pathname, entry_pathname, entry_hostname, referrer, referrer_domain, referrer_source, channel, utm_source, utm_medium, utm_campaign, utm_term, utm_content, click_id_type, browser, browser_version, os, device, screen_width, screen_height)
SELECT site_id, session_date, session_id, visitor_id, started_at, start_reason, k, first_ms, ev_ts, k, pv, cu, bot, max_scroll, ev_path,
    entry_pathname, entry_hostname, referrer, referrer_domain, referrer_source, channel, utm_source, utm_medium, utm_campaign, utm_term, utm_content, click_id_type, browser, browser_version, os, device, screen_width, screen_height
FROM cand_stage WHERE k = 1 AND cityHash64(toString(session_id)) % 4 = 3;
INSERT INTO sess_rmt (site_id, session_date, session_id, visitor_id, started_at, start_reason, version, first_ms, last_ms,
    events, pageviews, custom_events, is_bot, max_scroll, exit_pathname, entry_pathname, entry_hostname, referrer, referrer_domain, referrer_source, channel, utm_source, utm_medium, utm_campaign, utm_term, utm_content, click_id_type, browser, browser_version, os, device, screen_width, screen_height)
SELECT site_id, session_date, session_id, visitor_id, started_at, start_reason, k, first_ms, ev_ts, k, pv, cu, bot, max_scroll, ev_path,
    entry_pathname, entry_hostname, referrer, referrer_domain, referrer_source, channel, utm_source, utm_medium, utm_campaign, utm_term, utm_content, click_id_type, browser, browser_version, os, device, screen_width, screen_height
FROM cand_stage WHERE k = 2 AND cityHash64(toString(session_id)) % 4 = 0;
INSERT INTO sess_rmt (site_id, session_date, session_id, visitor_id, started_at, start_reason, version, first_ms, last_ms,
    events, pageviews, custom_events, is_bot, max_scroll, exit_pathname, entry_pathname, entry_hostname, referrer, referrer_domain, referrer_source, channel, utm_source, utm_medium, utm_campaign, utm_term, utm_content, click_id_type, browser, browser_version, os, device, screen_width, screen_height)
SELECT site_id, session_date, session_id, visitor_id, started_at, start_reason, k, first_ms, ev_ts, k, pv, cu, bot, max_scroll, ev_path,
    entry_pathname, entry_hostname, referrer, referrer_domain, referrer_source, channel, utm_source, utm_medium, utm_campaign, utm_term, utm_content, click_id_type, browser, browser_version, os, device, screen_width, screen_height
FROM cand_stage WHERE k = 2 AND cityHash64(toString(session_id)) % 4 = 1;
INSERT INTO sess_rmt (site_id, session_date, session_id, visitor_id, started_at, start_reason, version, first_ms, last_ms,
    events, pageviews, custom_events, is_bot, max_scroll, exit_pathname, entry_pathname, entry_hostname, referrer, referrer_domain, referrer_source, channel, utm_source, utm_medium, utm_campaign, utm_term, utm_content, click_id_type, browser, browser_version, os, device, screen_width, screen_height)
SELECT site_id, session_date, session_id, visitor_id, started_at, start_reason, k, first_ms, ev_ts, k, pv, cu, bot, max_scroll, ev_path,
    entry_pathname, entry_hostname, referrer, referrer_domain, referrer_source, channel, utm_source, utm_medium, utm_campaign, utm_term, utm_content, click_id_type, browser, browser_version, os, device, screen_width, screen_height
FROM cand_stage WHERE k = 2 AND cityHash64(toString(session_id)) % 4 = 2;
INSERT INTO sess_rmt (site_id, session_date, session_id, visitor_id, started_at, start_reason, version, first_ms, last_ms,
    events, pageviews, custom_events, is_bot, max_scroll, exit_pathname, entry_pathname, entry_hostname, referrer, referrer_domain, referrer_source, channel, utm_source, utm_medium, utm_campaign, utm_term, utm_content, click_id_type, browser, browser_version, os, device, screen_width, screen_height)
SELECT site_id, session_date, session_id, visitor_id, started_at, start_reason, k, first_ms, ev_ts, k, pv, cu, bot, max_scroll, ev_path,
    entry_pathname, entry_hostname, referrer, referrer_domain, referrer_source, channel, utm_source, utm_medium, utm_campaign, utm_term, utm_content, click_id_type, browser, browser_version, os, device, screen_width, screen_height
FROM cand_stage WHERE k = 2 AND cityHash64(toString(session_id)) % 4 = 3;
INSERT INTO sess_rmt (site_id, session_date, session_id, visitor_id, started_at, start_reason, version, first_ms, last_ms,
    events, pageviews, custom_events, is_bot, max_scroll, exit_pathname, entry_pathname, entry_hostname, referrer, referrer_domain, referrer_source, channel, utm_source, utm_medium, utm_campaign, utm_term, utm_content, click_id_type, browser, browser_version, os, device, screen_width, screen_height)
SELECT site_id, session_date, session_id, visitor_id, started_at, start_reason, k, first_ms, ev_ts, k, pv, cu, bot, max_scroll, ev_path,
    entry_pathname, entry_hostname, referrer, referrer_domain, referrer_source, channel, utm_source, utm_medium, utm_campaign, utm_term, utm_content, click_id_type, browser, browser_version, os, device, screen_width, screen_height
FROM cand_stage WHERE k = 3 AND cityHash64(toString(session_id)) % 4 = 0;
INSERT INTO sess_rmt (site_id, session_date, session_id, visitor_id, started_at, start_reason, version, first_ms, last_ms,
    events, pageviews, custom_events, is_bot, max_scroll, exit_pathname, entry_pathname, entry_hostname, referrer, referrer_domain, referrer_source, channel, utm_source, utm_medium, utm_campaign, utm_term, utm_content, click_id_type, browser, browser_version, os, device, screen_width, screen_height)
SELECT site_id, session_date, session_id, visitor_id, started_at, start_reason, k, first_ms, ev_ts, k, pv, cu, bot, max_scroll, ev_path,
    entry_pathname, entry_hostname, referrer, referrer_domain, referrer_source, channel, utm_source, utm_medium, utm_campaign, utm_term, utm_content, click_id_type, browser, browser_version, os, device, screen_width, screen_height
FROM cand_stage WHERE k = 3 AND cityHash64(toString(session_id)) % 4 = 1;
INSERT INTO sess_rmt (site_id, session_date, session_id, visitor_id, started_at, start_reason, version, first_ms, last_ms,
    events, pageviews, custom_events, is_bot, max_scroll, exit_pathname, entry_pathname, entry_hostname, referrer, referrer_domain, referrer_source, channel, utm_source, utm_medium, utm_campaign, utm_term, utm_content, click_id_type, browser, browser_version, os, device, screen_width, screen_height)
SELECT site_id, session_date, session_id, visitor_id, started_at, start_reason, k, first_ms, ev_ts, k, pv, cu, bot, max_scroll, ev_path,
    entry_pathname, entry_hostname, referrer, referrer_domain, referrer_source, channel, utm_source, utm_medium, utm_campaign, utm_term, utm_content, click_id_type, browser, browser_version, os, device, screen_width, screen_height
FROM cand_stage WHERE k = 3 AND cityHash64(toString(session_id)) % 4 = 2;
INSERT INTO sess_rmt (site_id, session_date, session_id, visitor_id, started_at, start_reason, version, first_ms, last_ms,
    events, pageviews, custom_events, is_bot, max_scroll, exit_pathname, entry_pathname, entry_hostname, referrer, referrer_domain, referrer_source, channel, utm_source, utm_medium, utm_campaign, utm_term, utm_content, click_id_type, browser, browser_version, os, device, screen_width, screen_height)
SELECT site_id, session_date, session_id, visitor_id, started_at, start_reason, k, first_ms, ev_ts, k, pv, cu, bot, max_scroll, ev_path,
    entry_pathname, entry_hostname, referrer, referrer_domain, referrer_source, channel, utm_source, utm_medium, utm_campaign, utm_term, utm_content, click_id_type, browser, browser_version, os, device, screen_width, screen_height
FROM cand_stage WHERE k = 3 AND cityHash64(toString(session_id)) % 4 = 3;
INSERT INTO sess_rmt (site_id, session_date, session_id, visitor_id, started_at, start_reason, version, first_ms, last_ms,
    events, pageviews, custom_events, is_bot, max_scroll, exit_pathname, entry_pathname, entry_hostname, referrer, referrer_domain, referrer_source, channel, utm_source, utm_medium, utm_campaign, utm_term, utm_content, click_id_type, browser, browser_version, os, device, screen_width, screen_height)
SELECT site_id, session_date, session_id, visitor_id, started_at, start_reason, k, first_ms, ev_ts, k, pv, cu, bot, max_scroll, ev_path,
    entry_pathname, entry_hostname, referrer, referrer_domain, referrer_source, channel, utm_source, utm_medium, utm_campaign, utm_term, utm_content, click_id_type, browser, browser_version, os, device, screen_width, screen_height
FROM cand_stage WHERE k >= 4 AND cityHash64(toString(session_id)) % 4 = 0;
INSERT INTO sess_rmt (site_id, session_date, session_id, visitor_id, started_at, start_reason, version, first_ms, last_ms,
    events, pageviews, custom_events, is_bot, max_scroll, exit_pathname, entry_pathname, entry_hostname, referrer, referrer_domain, referrer_source, channel, utm_source, utm_medium, utm_campaign, utm_term, utm_content, click_id_type, browser, browser_version, os, device, screen_width, screen_height)
SELECT site_id, session_date, session_id, visitor_id, started_at, start_reason, k, first_ms, ev_ts, k, pv, cu, bot, max_scroll, ev_path,
    entry_pathname, entry_hostname, referrer, referrer_domain, referrer_source, channel, utm_source, utm_medium, utm_campaign, utm_term, utm_content, click_id_type, browser, browser_version, os, device, screen_width, screen_height
FROM cand_stage WHERE k >= 4 AND cityHash64(toString(session_id)) % 4 = 1;
INSERT INTO sess_rmt (site_id, session_date, session_id, visitor_id, started_at, start_reason, version, first_ms, last_ms,
    events, pageviews, custom_events, is_bot, max_scroll, exit_pathname, entry_pathname, entry_hostname, referrer, referrer_domain, referrer_source, channel, utm_source, utm_medium, utm_campaign, utm_term, utm_content, click_id_type, browser, browser_version, os, device, screen_width, screen_height)
SELECT site_id, session_date, session_id, visitor_id, started_at, start_reason, k, first_ms, ev_ts, k, pv, cu, bot, max_scroll, ev_path,
    entry_pathname, entry_hostname, referrer, referrer_domain, referrer_source, channel, utm_source, utm_medium, utm_campaign, utm_term, utm_content, click_id_type, browser, browser_version, os, device, screen_width, screen_height
FROM cand_stage WHERE k >= 4 AND cityHash64(toString(session_id)) % 4 = 2;
INSERT INTO sess_rmt (site_id, session_date, session_id, visitor_id, started_at, start_reason, version, first_ms, last_ms,
    events, pageviews, custom_events, is_bot, max_scroll, exit_pathname, entry_pathname, entry_hostname, referrer, referrer_domain, referrer_source, channel, utm_source, utm_medium, utm_campaign, utm_term, utm_content, click_id_type, browser, browser_version, os, device, screen_width, screen_height)
SELECT site_id, session_date, session_id, visitor_id, started_at, start_reason, k, first_ms, ev_ts, k, pv, cu, bot, max_scroll, ev_path,
    entry_pathname, entry_hostname, referrer, referrer_domain, referrer_source, channel, utm_source, utm_medium, utm_campaign, utm_term, utm_content, click_id_type, browser, browser_version, os, device, screen_width, screen_height
FROM cand_stage WHERE k >= 4 AND cityHash64(toString(session_id)) % 4 = 3;
