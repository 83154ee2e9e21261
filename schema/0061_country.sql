-- Countries (issue 8): the collector looks up the client address's country
-- (pkg/geo) and the event carries only its ISO 3166-1 alpha-2 code; the
-- address never leaves the collector. A session's country is its entry's,
-- the earliest event's, like every entry attribute (README "Sessions").
--
-- String rather than FixedString(2): an unknown country is '' (a
-- FixedString(2) would hold two zero bytes), and a dictionary of a few
-- hundred values compresses as well. LowCardinality is experimental on
-- 18.16.
--
-- 18.16 has no ADD COLUMN IF NOT EXISTS: pkg/store's migration runner
-- makes this form idempotent on every release (it adds the column only
-- where it is missing). 18.16 also ignores a COMMENT inside ADD COLUMN, so
-- COMMENT COLUMN follows; it is idempotent.
ALTER TABLE events ADD COLUMN IF NOT EXISTS country String;
ALTER TABLE events COMMENT COLUMN country 'Country of the client address, ISO 3166-1 alpha-2 upper-case (DE, US, ...); empty when unknown. Looked up by the collector; the address itself is not stored';
ALTER TABLE session_versions ADD COLUMN IF NOT EXISTS country String;
ALTER TABLE session_versions COMMENT COLUMN country 'Country of the earliest event (ISO 3166-1 alpha-2); empty when unknown';

-- The sessions view gains country as its last column; every other column
-- keeps its name and meaning (0030).
DROP TABLE IF EXISTS sessions;
CREATE VIEW IF NOT EXISTS sessions AS
SELECT
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
    FROM session_versions FINAL
);
