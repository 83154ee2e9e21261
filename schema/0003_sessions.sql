-- Sessions, aggregated from events by a materialized view. Every figure is a
-- duplicate-proof aggregate state (min, max, argMax, argMin keyed so the
-- opening event wins,
-- uniqExact of event ids), so writing the same events twice changes nothing.
-- visitor_id, started_at and start_reason are plain columns: the sessionizer
-- writes the same values on every event of a session (its opening event's),
-- so they are functionally dependent on session_id. They end the sorting key
-- (not the primary key, which stays the three columns reports filter on):
-- ClickHouse 26.x refuses plain columns outside the sorting key of an
-- AggregatingMergeTree, and 18.16 has no setting to say they are dependent.
-- Read sessions through the sessions view below, or merge the states yourself:
--   SELECT session_id, uniqExactMerge(pageviews) FROM sessions_agg GROUP BY session_id
CREATE TABLE IF NOT EXISTS sessions_agg
(
    site_id         String   COMMENT 'Site id',
    session_date    Date     COMMENT 'UTC day of the session''s start',
    session_id      UUID     COMMENT 'Session id (events.session_id)',
    visitor_id      UUID     COMMENT 'Visitor id; the same on every row of a session',
    started_at      DateTime('UTC') COMMENT 'Time of the opening event (UTC)',
    start_reason    Enum8('first_visit' = 1, 'inactivity' = 2, 'max_length' = 3, 'midnight' = 4, 'campaign' = 5) COMMENT 'Why the session started',
    first_ms        AggregateFunction(min, UInt64)  COMMENT 'Earliest event, Unix ms (minMerge)',
    last_ms         AggregateFunction(max, UInt64)  COMMENT 'Latest event, Unix ms (maxMerge)',
    events          AggregateFunction(uniqExact, UUID) COMMENT 'Distinct events (uniqExactMerge)',
    pageviews       AggregateFunction(uniqExact, UUID) COMMENT 'Distinct pageviews (uniqExactMerge)',
    custom_events   AggregateFunction(uniqExact, UUID) COMMENT 'Distinct custom events (uniqExactMerge)',
    exit_pathname   AggregateFunction(argMax, String, UInt64) COMMENT 'Path of the latest event (argMaxMerge)',
    max_scroll      AggregateFunction(max, UInt8)   COMMENT 'Deepest scroll reported (maxMerge)',
    entry_pathname  AggregateFunction(argMin, String, UInt64)  COMMENT 'Path of the opening event (argMinMerge)',
    entry_hostname  AggregateFunction(argMin, String, UInt64)  COMMENT 'Host of the opening event (argMinMerge)',
    referrer        AggregateFunction(argMin, String, UInt64)  COMMENT 'Referrer of the opening event (argMinMerge)',
    referrer_domain AggregateFunction(argMin, String, UInt64)  COMMENT 'Referrer domain of the opening event (argMinMerge)',
    referrer_source AggregateFunction(argMin, String, UInt64)  COMMENT 'Referrer source of the opening event (argMinMerge)',
    channel         AggregateFunction(argMin, String, UInt64)  COMMENT 'Channel of the opening event (argMinMerge)',
    utm_source      AggregateFunction(argMin, String, UInt64)  COMMENT 'utm_source of the opening event (argMinMerge)',
    utm_medium      AggregateFunction(argMin, String, UInt64)  COMMENT 'utm_medium of the opening event (argMinMerge)',
    utm_campaign    AggregateFunction(argMin, String, UInt64)  COMMENT 'utm_campaign of the opening event (argMinMerge)',
    utm_term        AggregateFunction(argMin, String, UInt64)  COMMENT 'utm_term of the opening event (argMinMerge)',
    utm_content     AggregateFunction(argMin, String, UInt64)  COMMENT 'utm_content of the opening event (argMinMerge)',
    click_id_type   AggregateFunction(argMin, String, UInt64)  COMMENT 'Click-id parameter of the opening event (argMinMerge)',
    browser         AggregateFunction(argMin, String, UInt64)  COMMENT 'Browser of the opening event (argMinMerge)',
    browser_version AggregateFunction(argMin, String, UInt64)  COMMENT 'Browser major version of the opening event (argMinMerge)',
    os              AggregateFunction(argMin, String, UInt64)  COMMENT 'Operating system of the opening event (argMinMerge)',
    device          AggregateFunction(argMin, String, UInt64)  COMMENT 'Device class of the opening event (argMinMerge)',
    is_bot          AggregateFunction(max, UInt8)   COMMENT '1 when any event of the session came from a bot user agent (maxMerge)',
    screen_width    AggregateFunction(argMin, UInt16, UInt64)  COMMENT 'Screen width of the opening event (argMinMerge)',
    screen_height   AggregateFunction(argMin, UInt16, UInt64)  COMMENT 'Screen height of the opening event (argMinMerge)',
    late_events     AggregateFunction(uniqExact, UUID) COMMENT 'Distinct events that arrived late (uniqExactMerge)',
    bridging_events AggregateFunction(uniqExact, UUID) COMMENT 'Distinct events that fitted two sessions (uniqExactMerge)'
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(session_date)
PRIMARY KEY (site_id, session_date, session_id)
ORDER BY (site_id, session_date, session_id, visitor_id, started_at, start_reason);

CREATE MATERIALIZED VIEW IF NOT EXISTS sessions_mv TO sessions_agg AS
SELECT
    site_id,
    toDate(session_started_at) AS session_date,
    session_id,
    any(visitor_id) AS visitor_id,
    any(session_started_at) AS started_at,
    any(session_start_reason) AS start_reason,
    minState(ts_ms) AS first_ms,
    maxState(ts_ms) AS last_ms,
    uniqExactState(event_id) AS events,
    uniqExactStateIf(event_id, kind = 'pageview') AS pageviews,
    uniqExactStateIf(event_id, kind = 'event') AS custom_events,
    argMaxState(pathname, ts_ms) AS exit_pathname,
    maxState(scroll_depth) AS max_scroll,
    -- entry_key sorts the opening event first, so argMin takes the session's
    -- entry attribution from it whatever order the rows arrive in.
    argMinState(pathname, if(is_session_start = 1, toUInt64(0), ts_ms) AS entry_key) AS entry_pathname,
    argMinState(hostname, entry_key) AS entry_hostname,
    argMinState(referrer, entry_key) AS referrer,
    argMinState(referrer_domain, entry_key) AS referrer_domain,
    argMinState(referrer_source, entry_key) AS referrer_source,
    argMinState(channel, entry_key) AS channel,
    argMinState(utm_source, entry_key) AS utm_source,
    argMinState(utm_medium, entry_key) AS utm_medium,
    argMinState(utm_campaign, entry_key) AS utm_campaign,
    argMinState(utm_term, entry_key) AS utm_term,
    argMinState(utm_content, entry_key) AS utm_content,
    argMinState(click_id_type, entry_key) AS click_id_type,
    argMinState(browser, entry_key) AS browser,
    argMinState(browser_version, entry_key) AS browser_version,
    argMinState(os, entry_key) AS os,
    argMinState(device, entry_key) AS device,
    maxState(is_bot) AS is_bot,
    argMinState(screen_width, entry_key) AS screen_width,
    argMinState(screen_height, entry_key) AS screen_height,
    uniqExactStateIf(event_id, is_late = 1) AS late_events,
    uniqExactStateIf(event_id, is_bridging = 1) AS bridging_events
FROM events
GROUP BY site_id, session_date, session_id;

-- One row per session with every figure merged: the table to query by hand.
-- A bounce is a session that is not engaged: fewer than 2 pageviews, at most
-- 10 s long and no custom event (GA4's definition).
-- Filter inside your own subquery on sessions_agg when scanning large ranges.
CREATE VIEW IF NOT EXISTS sessions AS
SELECT
    site_id,
    session_date,
    session_id,
    any(visitor_id) AS visitor_id,
    any(started_at) AS started_at,
    any(start_reason) AS start_reason,
    minMerge(first_ms) AS first_ms,
    maxMerge(last_ms) AS last_ms,
    toUInt64(last_ms - first_ms) AS duration_ms,
    uniqExactMerge(events) AS events,
    uniqExactMerge(pageviews) AS pageviews,
    uniqExactMerge(custom_events) AS custom_events,
    toUInt8(pageviews < 2 AND duration_ms <= 10000 AND custom_events = 0) AS is_bounce,
    argMinMerge(entry_pathname) AS entry_pathname,
    argMaxMerge(exit_pathname) AS exit_pathname,
    argMinMerge(entry_hostname) AS entry_hostname,
    argMinMerge(referrer) AS referrer,
    argMinMerge(referrer_domain) AS referrer_domain,
    argMinMerge(referrer_source) AS referrer_source,
    argMinMerge(channel) AS channel,
    argMinMerge(utm_source) AS utm_source,
    argMinMerge(utm_medium) AS utm_medium,
    argMinMerge(utm_campaign) AS utm_campaign,
    argMinMerge(utm_term) AS utm_term,
    argMinMerge(utm_content) AS utm_content,
    argMinMerge(click_id_type) AS click_id_type,
    argMinMerge(browser) AS browser,
    argMinMerge(browser_version) AS browser_version,
    argMinMerge(os) AS os,
    argMinMerge(device) AS device,
    maxMerge(is_bot) AS is_bot,
    argMinMerge(screen_width) AS screen_width,
    argMinMerge(screen_height) AS screen_height,
    maxMerge(max_scroll) AS max_scroll,
    uniqExactMerge(late_events) AS late_events,
    uniqExactMerge(bridging_events) AS bridging_events
FROM sessions_agg
GROUP BY site_id, session_date, session_id;
