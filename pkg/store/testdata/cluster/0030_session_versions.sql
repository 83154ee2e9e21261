-- Cluster form of schema/0030_session_versions.sql (pkg/store/cluster.go), cluster teller, database teller.

CREATE TABLE IF NOT EXISTS teller.session_versions_local ON CLUSTER 'teller'
(
    site_id         String   COMMENT 'Site id (sites.site_id)',
    session_date    Date     COMMENT 'UTC day of the session''s opening event: the session counts on this day',
    session_id      UUID     COMMENT 'Session id (events.session_id)',
    visitor_id      UUID     COMMENT 'Visitor id',
    started_at      DateTime('UTC') COMMENT 'Time of the opening event (UTC); never changes',
    start_reason    Enum8('first_visit' = 1, 'inactivity' = 2, 'max_length' = 3, 'midnight' = 4, 'campaign' = 5) COMMENT 'Why the session started (the opening event''s); never changes',
    version         UInt32   COMMENT 'Distinct events the session held when this row was written: the largest is the whole session (read with FINAL)',
    first_ms        UInt64   COMMENT 'Earliest event, Unix ms',
    last_ms         UInt64   COMMENT 'Latest event, Unix ms',
    events          UInt32   COMMENT 'Distinct events (each event id once)',
    pageviews       UInt32   COMMENT 'Distinct pageviews',
    custom_events   UInt32   COMMENT 'Distinct custom events (kind event)',
    late_events     UInt32   COMMENT 'Distinct events that arrived later than the allowed disorder',
    bridging_events UInt32   COMMENT 'Distinct events that fitted two sessions and joined the nearer',
    is_bot          UInt8    COMMENT '1 when any event of the session came from a bot user agent; may change between versions: filter it outside FINAL',
    max_scroll      UInt8    COMMENT 'Deepest scroll reported, percent',
    entry_pathname  String   COMMENT 'Path of the earliest event (ties: the smaller event id), whatever order events arrived in',
    entry_hostname  String   COMMENT 'Host of the earliest event',
    referrer        String   COMMENT 'Referrer of the earliest event',
    referrer_domain String   COMMENT 'Referrer domain of the earliest event',
    referrer_source String   COMMENT 'Referrer source of the earliest event',
    channel         String   COMMENT 'Channel of the earliest event',
    utm_source      String   COMMENT 'utm_source of the earliest event',
    utm_medium      String   COMMENT 'utm_medium of the earliest event',
    utm_campaign    String   COMMENT 'utm_campaign of the earliest event',
    utm_term        String   COMMENT 'utm_term of the earliest event',
    utm_content     String   COMMENT 'utm_content of the earliest event',
    click_id_type   String   COMMENT 'Click-id parameter of the earliest event',
    browser         String   COMMENT 'Browser of the earliest event',
    browser_version String   COMMENT 'Browser major version of the earliest event',
    os              String   COMMENT 'Operating system of the earliest event',
    device          String   COMMENT 'Device class of the earliest event',
    screen_width    UInt16   COMMENT 'Screen width of the earliest event',
    screen_height   UInt16   COMMENT 'Screen height of the earliest event',
    exit_pathname   String   COMMENT 'Path of the latest event (ties: the larger event id)',
    pages           Array(String) COMMENT 'Distinct pageview paths in order of first appearance, at most 64; views of further pages are counted under (other)',
    page_views      Array(UInt32) COMMENT 'Pageviews of pages[i]'
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/session_versions_local', '{replica}', version)
PARTITION BY toYYYYMM(session_date)
ORDER BY (site_id, session_date, session_id);

CREATE TABLE IF NOT EXISTS teller.session_versions ON CLUSTER 'teller' AS teller.session_versions_local ENGINE = Distributed('teller', 'teller', 'session_versions_local', cityHash64(toString(visitor_id)));

INSERT INTO session_versions (site_id, session_date, session_id, visitor_id, started_at, start_reason, version,
    first_ms, last_ms, events, pageviews, custom_events, late_events, bridging_events, is_bot, max_scroll,
    entry_pathname, entry_hostname, referrer, referrer_domain, referrer_source, channel, utm_source, utm_medium,
    utm_campaign, utm_term, utm_content, click_id_type, browser, browser_version, os, device, screen_width,
    screen_height, exit_pathname, pages, page_views)
SELECT site_id, session_date, session_id, visitor_id, started_at, start_reason, toUInt32(n_events),
    f_ms, l_ms, toUInt32(n_events), toUInt32(n_pageviews), toUInt32(n_custom), toUInt32(n_late), toUInt32(n_bridging), bot, scroll,
    e_pathname, e_hostname, e_referrer, e_referrer_domain, e_referrer_source, e_channel, e_utm_source, e_utm_medium,
    e_utm_campaign, e_utm_term, e_utm_content, e_click_id_type, e_browser, e_browser_version, e_os, e_device, e_screen_width,
    e_screen_height, x_pathname, pages, page_views
FROM
(
    SELECT site_id, session_date, session_id, any(visitor_id) AS visitor_id, any(started_at) AS started_at,
        any(start_reason) AS start_reason, minMerge(first_ms) AS f_ms, maxMerge(last_ms) AS l_ms,
        uniqExactMerge(events) AS n_events, uniqExactMerge(pageviews) AS n_pageviews,
        uniqExactMerge(custom_events) AS n_custom, uniqExactMerge(late_events) AS n_late,
        uniqExactMerge(bridging_events) AS n_bridging, maxMerge(is_bot) AS bot, maxMerge(max_scroll) AS scroll,
        argMinMerge(entry_pathname) AS e_pathname, argMinMerge(entry_hostname) AS e_hostname,
        argMinMerge(referrer) AS e_referrer, argMinMerge(referrer_domain) AS e_referrer_domain,
        argMinMerge(referrer_source) AS e_referrer_source, argMinMerge(channel) AS e_channel,
        argMinMerge(utm_source) AS e_utm_source, argMinMerge(utm_medium) AS e_utm_medium,
        argMinMerge(utm_campaign) AS e_utm_campaign, argMinMerge(utm_term) AS e_utm_term,
        argMinMerge(utm_content) AS e_utm_content, argMinMerge(click_id_type) AS e_click_id_type,
        argMinMerge(browser) AS e_browser, argMinMerge(browser_version) AS e_browser_version,
        argMinMerge(os) AS e_os, argMinMerge(device) AS e_device, argMinMerge(screen_width) AS e_screen_width,
        argMinMerge(screen_height) AS e_screen_height, argMaxMerge(exit_pathname) AS x_pathname
    FROM sessions_agg
    GROUP BY site_id, session_date, session_id
) AS agg
ANY LEFT JOIN
(
    SELECT site_id, session_id, groupArray(pathname) AS pages, groupArray(views) AS page_views
    FROM
    (
        SELECT site_id, session_id, pathname, toUInt32(uniqExact(event_id)) AS views
        FROM events
        WHERE kind = 'pageview'
        GROUP BY site_id, session_id, pathname
    )
    GROUP BY site_id, session_id
) AS viewed USING (site_id, session_id)
-- Millions of sessions: the GROUP BYs spill to disk past 1 GB instead of
-- failing on the server's per-query memory limit (a 3-million-session
-- install needed 3.7 GB without it).
SETTINGS max_bytes_before_external_group_by = 1000000000, max_memory_usage = 10000000000;

DROP TABLE IF EXISTS teller.sessions ON CLUSTER 'teller';

CREATE VIEW IF NOT EXISTS teller.sessions ON CLUSTER 'teller' AS SELECT
    site_id, session_date, session_id, visitor_id, started_at, start_reason, first_ms, last_ms,
    toUInt64(last_ms - first_ms) AS duration_ms,
    toUInt64(v_events) AS events,
    toUInt64(v_pageviews) AS pageviews,
    toUInt64(v_custom_events) AS custom_events,
    toUInt8(pageviews < 2 AND duration_ms <= 10000 AND custom_events = 0) AS is_bounce,
    entry_pathname, exit_pathname, entry_hostname, referrer, referrer_domain, referrer_source, channel,
    utm_source, utm_medium, utm_campaign, utm_term, utm_content, click_id_type, browser, browser_version, os, device,
    is_bot, screen_width, screen_height, max_scroll,
    toUInt64(v_late_events) AS late_events,
    toUInt64(v_bridging_events) AS bridging_events
FROM
(
    SELECT site_id, session_date, session_id, visitor_id, started_at, start_reason, first_ms, last_ms,
        events AS v_events, pageviews AS v_pageviews, custom_events AS v_custom_events,
        entry_pathname, exit_pathname, entry_hostname, referrer, referrer_domain, referrer_source, channel,
        utm_source, utm_medium, utm_campaign, utm_term, utm_content, click_id_type, browser, browser_version, os, device,
        is_bot, screen_width, screen_height, max_scroll,
        late_events AS v_late_events, bridging_events AS v_bridging_events
    FROM teller.session_versions FINAL
);
