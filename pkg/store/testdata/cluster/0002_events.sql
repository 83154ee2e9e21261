-- Cluster form of schema/0002_events.sql (pkg/store/cluster.go), cluster teller, database teller.

CREATE TABLE IF NOT EXISTS teller.events_local ON CLUSTER 'teller'
(
    event_id             UUID          COMMENT 'Unique id the collector gave the event; rows with the same id are one event',
    site_id              String        COMMENT 'Site id (sites.site_id)',
    visitor_id           UUID          COMMENT 'Visitor id from the signed first-party cookie',
    session_id           UUID          COMMENT 'Session the event belongs to (sessions.session_id); deterministic, so a replay gives the same id',
    ts                   DateTime('UTC')      COMMENT 'When the collector received the event (UTC, whole seconds)',
    ts_ms                UInt64        COMMENT 'The same instant in Unix milliseconds: the event time sessions are built on',
    kind                 Enum8('pageview' = 1, 'event' = 2, 'engagement' = 3) COMMENT 'pageview; event (custom, outbound link, download); engagement (page hidden: engaged_ms, scroll_depth)',
    name                 String        COMMENT 'Custom event name; pageview or engagement for those kinds',
    url                  String        COMMENT 'Full page URL as the browser saw it',
    hostname             String        COMMENT 'Host of url, lower-case',
    pathname             String        COMMENT 'Path of url, without query or fragment',
    title                String        COMMENT 'Document title',
    referrer             String        COMMENT 'document.referrer as sent (pageviews)',
    referrer_domain      String        COMMENT 'Host of referrer without www.; empty when none',
    referrer_source      String        COMMENT 'Named source of the referrer or campaign (Google, Facebook, newsletter, ...)',
    channel              String        COMMENT 'direct, internal, organic_search, paid_search, organic_social, paid_social, email, ai_assistant, referral or paid_other',
    utm_source           String        COMMENT 'utm_source (or ref) of url',
    utm_medium           String        COMMENT 'utm_medium of url',
    utm_campaign         String        COMMENT 'utm_campaign of url',
    utm_term             String        COMMENT 'utm_term of url',
    utm_content          String        COMMENT 'utm_content of url',
    click_id_type        String        COMMENT 'Advertising click-id parameter present in url (gclid, fbclid, msclkid, ...); the id itself is not kept',
    browser              String        COMMENT 'Browser name parsed from the user agent',
    browser_version      String        COMMENT 'Browser major version',
    os                   String        COMMENT 'Operating system',
    device               String        COMMENT 'desktop, mobile, tablet, bot, or empty when unknown',
    is_bot               UInt8         COMMENT '1 when the user agent is a known bot, crawler or headless browser',
    bot_reason           String        COMMENT 'Why is_bot is 1, e.g. crawler:Googlebot',
    screen_width         UInt16        COMMENT 'Screen width in CSS pixels, 0 when unknown',
    screen_height        UInt16        COMMENT 'Screen height in CSS pixels, 0 when unknown',
    props_keys           Array(String) COMMENT 'Custom property names; props_values[i] belongs to props_keys[i]',
    props_values         Array(String) COMMENT 'Custom property values',
    engaged_ms           UInt32        COMMENT 'Engagement events: how long the page was visible, milliseconds',
    scroll_depth         UInt8         COMMENT 'Engagement events: deepest scroll, percent',
    session_started_at   DateTime('UTC')      COMMENT 'Time of the session''s opening event (UTC); the session counts on this day',
    session_start_reason Enum8('first_visit' = 1, 'inactivity' = 2, 'max_length' = 3, 'midnight' = 4, 'campaign' = 5) COMMENT 'Why the session started: first visit, inactivity gap, maximum length, midnight split, campaign change',
    is_session_start     UInt8         COMMENT '1 on the event that opened the session: its attributes are the session''s entry attribution',
    is_late              UInt8         COMMENT '1 when the event arrived later than the allowed disorder behind its partition''s clock',
    is_bridging          UInt8         COMMENT '1 when the event fitted two sessions and joined the nearer one (sessions are never merged)',
    kafka_partition      Int32         COMMENT 'Kafka partition the event was read from',
    kafka_offset         Int64         COMMENT 'Kafka offset the event was read from'
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/events_local', '{replica}')
PARTITION BY toYYYYMM(ts)
ORDER BY (site_id, toDate(ts), session_id, event_id);

CREATE TABLE IF NOT EXISTS teller.events ON CLUSTER 'teller' AS teller.events_local ENGINE = Distributed('teller', 'teller', 'events_local', cityHash64(toString(visitor_id)));
