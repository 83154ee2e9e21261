-- Cluster form of schema/0061_country.sql (pkg/store/cluster.go), cluster teller, database teller.

ALTER TABLE teller.events_local ON CLUSTER 'teller' ADD COLUMN IF NOT EXISTS country String;

-- wait for every replica to apply the ALTER: /clickhouse/tables/{shard}/teller/events_local;

DROP TABLE IF EXISTS teller.events ON CLUSTER 'teller';

CREATE TABLE IF NOT EXISTS teller.events ON CLUSTER 'teller' AS teller.events_local ENGINE = Distributed('teller', 'teller', 'events_local', cityHash64(toString(visitor_id)));

ALTER TABLE teller.events_local ON CLUSTER 'teller' COMMENT COLUMN country 'Country of the client address, ISO 3166-1 alpha-2 upper-case (DE, US, ...); empty when unknown. Looked up by the collector; the address itself is not stored';

ALTER TABLE teller.session_versions_local ON CLUSTER 'teller' ADD COLUMN IF NOT EXISTS country String;

-- wait for every replica to apply the ALTER: /clickhouse/tables/{shard}/teller/session_versions_local;

DROP TABLE IF EXISTS teller.session_versions ON CLUSTER 'teller';

CREATE TABLE IF NOT EXISTS teller.session_versions ON CLUSTER 'teller' AS teller.session_versions_local ENGINE = Distributed('teller', 'teller', 'session_versions_local', cityHash64(toString(visitor_id)));

ALTER TABLE teller.session_versions_local ON CLUSTER 'teller' COMMENT COLUMN country 'Country of the earliest event (ISO 3166-1 alpha-2); empty when unknown';

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
    toUInt64(v_bridging_events) AS bridging_events,
    country
FROM
(
    SELECT site_id, session_date, session_id, visitor_id, started_at, start_reason, first_ms, last_ms,
        events AS v_events, pageviews AS v_pageviews, custom_events AS v_custom_events,
        entry_pathname, exit_pathname, entry_hostname, referrer, referrer_domain, referrer_source, channel,
        utm_source, utm_medium, utm_campaign, utm_term, utm_content, click_id_type, browser, browser_version, os, device,
        is_bot, screen_width, screen_height, max_scroll,
        late_events AS v_late_events, bridging_events AS v_bridging_events, country
    FROM teller.session_versions FINAL
);
