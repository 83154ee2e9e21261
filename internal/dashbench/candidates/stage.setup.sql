-- Staging table for the storage candidates: one row per distinct event
-- (events FINAL), numbered in time order within its session (k), with the
-- prefix figures a sessionizer would know after that event (pageviews and
-- custom events so far, deepest scroll so far, bot so far) and the
-- session's entry attribution (its earliest event: ties by event id).
-- Only the largest site (site00, the one the benchmark reads): the report
-- queries select it by the first column of the primary key, so the other
-- sites' rows would only be skipped by the index.
-- Run once per database: clickhouse-client --multiquery < stage.setup.sql
DROP TABLE IF EXISTS cand_stage;
CREATE TABLE cand_stage
(
    site_id String, session_date Date, session_id UUID, visitor_id UUID, started_at DateTime('UTC'),
    start_reason Enum8('first_visit' = 1, 'inactivity' = 2, 'max_length' = 3, 'midnight' = 4, 'campaign' = 5),
    k UInt32, pv UInt32, cu UInt32, first_ms UInt64, ev_ts UInt64, ev_id UUID, ev_kind UInt8, ev_path String,
    ev_scroll UInt8, max_scroll UInt8, ev_bot UInt8, bot UInt8,
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
ENGINE = MergeTree PARTITION BY toYYYYMM(session_date) ORDER BY (site_id, session_date, session_id, k);

INSERT INTO cand_stage (site_id, session_date, session_id, visitor_id, started_at, start_reason, k, pv, cu, first_ms,
    ev_ts, ev_id, ev_kind, ev_path, ev_scroll, max_scroll, ev_bot, bot, entry_pathname, entry_hostname, referrer, referrer_domain, referrer_source, channel, utm_source, utm_medium, utm_campaign, utm_term, utm_content, click_id_type, browser, browser_version, os, device, screen_width, screen_height)
SELECT site_id, session_date, session_id, visitor_id, started_at, start_reason, toUInt32(k),
    toUInt32(arrayCount(x -> x.3 = 1, arraySlice(evs, 1, k))), toUInt32(arrayCount(x -> x.3 = 2, arraySlice(evs, 1, k))),
    evs[1].1, e.1, e.2, e.3, e.4, e.5, arrayReduce('max', arrayMap(x -> x.5, arraySlice(evs, 1, k))),
    e.6, arrayReduce('max', arrayMap(x -> x.6, arraySlice(evs, 1, k))),
    entry.1 AS entry_pathname, entry.2 AS entry_hostname, entry.3 AS referrer, entry.4 AS referrer_domain, entry.5 AS referrer_source, entry.6 AS channel, entry.7 AS utm_source, entry.8 AS utm_medium, entry.9 AS utm_campaign, entry.10 AS utm_term, entry.11 AS utm_content, entry.12 AS click_id_type, entry.13 AS browser, entry.14 AS browser_version, entry.15 AS os, entry.16 AS device, entry.17 AS screen_width, entry.18 AS screen_height
FROM
(
    SELECT site_id, session_id, any(toDate(session_started_at)) AS session_date, any(visitor_id) AS visitor_id,
        any(session_started_at) AS started_at, any(session_start_reason) AS start_reason,
        arraySort(x -> (x.1, x.2), groupArray((ts_ms, event_id, toUInt8(kind), pathname, scroll_depth, is_bot))) AS evs,
        argMin((pathname, hostname, referrer, referrer_domain, referrer_source, channel, utm_source, utm_medium, utm_campaign, utm_term, utm_content, click_id_type, browser, browser_version, os, device, screen_width, screen_height), (ts_ms, event_id)) AS entry
    FROM events FINAL
    WHERE site_id = 'site00'
      AND session_started_at >= toDateTime('2026-08-01 00:00:00') AND session_started_at < toDateTime('2026-09-01 00:00:00')
    GROUP BY site_id, session_id
)
ARRAY JOIN evs AS e, arrayEnumerate(evs) AS k;

INSERT INTO cand_stage (site_id, session_date, session_id, visitor_id, started_at, start_reason, k, pv, cu, first_ms,
    ev_ts, ev_id, ev_kind, ev_path, ev_scroll, max_scroll, ev_bot, bot, entry_pathname, entry_hostname, referrer, referrer_domain, referrer_source, channel, utm_source, utm_medium, utm_campaign, utm_term, utm_content, click_id_type, browser, browser_version, os, device, screen_width, screen_height)
SELECT site_id, session_date, session_id, visitor_id, started_at, start_reason, toUInt32(k),
    toUInt32(arrayCount(x -> x.3 = 1, arraySlice(evs, 1, k))), toUInt32(arrayCount(x -> x.3 = 2, arraySlice(evs, 1, k))),
    evs[1].1, e.1, e.2, e.3, e.4, e.5, arrayReduce('max', arrayMap(x -> x.5, arraySlice(evs, 1, k))),
    e.6, arrayReduce('max', arrayMap(x -> x.6, arraySlice(evs, 1, k))),
    entry.1 AS entry_pathname, entry.2 AS entry_hostname, entry.3 AS referrer, entry.4 AS referrer_domain, entry.5 AS referrer_source, entry.6 AS channel, entry.7 AS utm_source, entry.8 AS utm_medium, entry.9 AS utm_campaign, entry.10 AS utm_term, entry.11 AS utm_content, entry.12 AS click_id_type, entry.13 AS browser, entry.14 AS browser_version, entry.15 AS os, entry.16 AS device, entry.17 AS screen_width, entry.18 AS screen_height
FROM
(
    SELECT site_id, session_id, any(toDate(session_started_at)) AS session_date, any(visitor_id) AS visitor_id,
        any(session_started_at) AS started_at, any(session_start_reason) AS start_reason,
        arraySort(x -> (x.1, x.2), groupArray((ts_ms, event_id, toUInt8(kind), pathname, scroll_depth, is_bot))) AS evs,
        argMin((pathname, hostname, referrer, referrer_domain, referrer_source, channel, utm_source, utm_medium, utm_campaign, utm_term, utm_content, click_id_type, browser, browser_version, os, device, screen_width, screen_height), (ts_ms, event_id)) AS entry
    FROM events FINAL
    WHERE site_id = 'site00'
      AND session_started_at >= toDateTime('2026-09-01 00:00:00') AND session_started_at < toDateTime('2026-10-01 00:00:00')
    GROUP BY site_id, session_id
)
ARRAY JOIN evs AS e, arrayEnumerate(evs) AS k;

INSERT INTO cand_stage (site_id, session_date, session_id, visitor_id, started_at, start_reason, k, pv, cu, first_ms,
    ev_ts, ev_id, ev_kind, ev_path, ev_scroll, max_scroll, ev_bot, bot, entry_pathname, entry_hostname, referrer, referrer_domain, referrer_source, channel, utm_source, utm_medium, utm_campaign, utm_term, utm_content, click_id_type, browser, browser_version, os, device, screen_width, screen_height)
SELECT site_id, session_date, session_id, visitor_id, started_at, start_reason, toUInt32(k),
    toUInt32(arrayCount(x -> x.3 = 1, arraySlice(evs, 1, k))), toUInt32(arrayCount(x -> x.3 = 2, arraySlice(evs, 1, k))),
    evs[1].1, e.1, e.2, e.3, e.4, e.5, arrayReduce('max', arrayMap(x -> x.5, arraySlice(evs, 1, k))),
    e.6, arrayReduce('max', arrayMap(x -> x.6, arraySlice(evs, 1, k))),
    entry.1 AS entry_pathname, entry.2 AS entry_hostname, entry.3 AS referrer, entry.4 AS referrer_domain, entry.5 AS referrer_source, entry.6 AS channel, entry.7 AS utm_source, entry.8 AS utm_medium, entry.9 AS utm_campaign, entry.10 AS utm_term, entry.11 AS utm_content, entry.12 AS click_id_type, entry.13 AS browser, entry.14 AS browser_version, entry.15 AS os, entry.16 AS device, entry.17 AS screen_width, entry.18 AS screen_height
FROM
(
    SELECT site_id, session_id, any(toDate(session_started_at)) AS session_date, any(visitor_id) AS visitor_id,
        any(session_started_at) AS started_at, any(session_start_reason) AS start_reason,
        arraySort(x -> (x.1, x.2), groupArray((ts_ms, event_id, toUInt8(kind), pathname, scroll_depth, is_bot))) AS evs,
        argMin((pathname, hostname, referrer, referrer_domain, referrer_source, channel, utm_source, utm_medium, utm_campaign, utm_term, utm_content, click_id_type, browser, browser_version, os, device, screen_width, screen_height), (ts_ms, event_id)) AS entry
    FROM events FINAL
    WHERE site_id = 'site00'
      AND session_started_at >= toDateTime('2026-10-01 00:00:00') AND session_started_at < toDateTime('2026-11-01 00:00:00')
    GROUP BY site_id, session_id
)
ARRAY JOIN evs AS e, arrayEnumerate(evs) AS k;

INSERT INTO cand_stage (site_id, session_date, session_id, visitor_id, started_at, start_reason, k, pv, cu, first_ms,
    ev_ts, ev_id, ev_kind, ev_path, ev_scroll, max_scroll, ev_bot, bot, entry_pathname, entry_hostname, referrer, referrer_domain, referrer_source, channel, utm_source, utm_medium, utm_campaign, utm_term, utm_content, click_id_type, browser, browser_version, os, device, screen_width, screen_height)
SELECT site_id, session_date, session_id, visitor_id, started_at, start_reason, toUInt32(k),
    toUInt32(arrayCount(x -> x.3 = 1, arraySlice(evs, 1, k))), toUInt32(arrayCount(x -> x.3 = 2, arraySlice(evs, 1, k))),
    evs[1].1, e.1, e.2, e.3, e.4, e.5, arrayReduce('max', arrayMap(x -> x.5, arraySlice(evs, 1, k))),
    e.6, arrayReduce('max', arrayMap(x -> x.6, arraySlice(evs, 1, k))),
    entry.1 AS entry_pathname, entry.2 AS entry_hostname, entry.3 AS referrer, entry.4 AS referrer_domain, entry.5 AS referrer_source, entry.6 AS channel, entry.7 AS utm_source, entry.8 AS utm_medium, entry.9 AS utm_campaign, entry.10 AS utm_term, entry.11 AS utm_content, entry.12 AS click_id_type, entry.13 AS browser, entry.14 AS browser_version, entry.15 AS os, entry.16 AS device, entry.17 AS screen_width, entry.18 AS screen_height
FROM
(
    SELECT site_id, session_id, any(toDate(session_started_at)) AS session_date, any(visitor_id) AS visitor_id,
        any(session_started_at) AS started_at, any(session_start_reason) AS start_reason,
        arraySort(x -> (x.1, x.2), groupArray((ts_ms, event_id, toUInt8(kind), pathname, scroll_depth, is_bot))) AS evs,
        argMin((pathname, hostname, referrer, referrer_domain, referrer_source, channel, utm_source, utm_medium, utm_campaign, utm_term, utm_content, click_id_type, browser, browser_version, os, device, screen_width, screen_height), (ts_ms, event_id)) AS entry
    FROM events FINAL
    WHERE site_id = 'site00'
      AND session_started_at >= toDateTime('2026-11-01 00:00:00') AND session_started_at < toDateTime('2026-12-01 00:00:00')
    GROUP BY site_id, session_id
)
ARRAY JOIN evs AS e, arrayEnumerate(evs) AS k;
