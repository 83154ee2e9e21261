-- Candidate (c): a per-day rollup keyed by what a report groups on, here
-- the channels breakdown, kept exact under redelivery with idempotent states
-- only (uniqExact of session, visitor and pageview ids; never sum()). Days
-- are the site's local days (Europe/Berlin for site00). Built from closed
-- sessions' final attribution (cand_stage's entry columns), 16 inserts per
-- month with merges stopped, as a writer flushing per batch would leave it.
SET group_by_two_level_threshold = 0;
SET group_by_two_level_threshold_bytes = 0;
DROP TABLE IF EXISTS roll_channels;
CREATE TABLE roll_channels
(
    site_id String, day Date, channel String,
    sessions AggregateFunction(uniqExact, UUID), visitors AggregateFunction(uniqExact, UUID),
    pageviews AggregateFunction(uniqExact, UUID)
)
ENGINE = AggregatingMergeTree PARTITION BY toYYYYMM(day) ORDER BY (site_id, day, channel);
SYSTEM STOP MERGES roll_channels;
INSERT INTO roll_channels (site_id, day, channel, sessions, visitors, pageviews)
SELECT site_id, toDate(started_at, 'Europe/Berlin') AS day, channel, uniqExactState(session_id), uniqExactState(visitor_id),
    uniqExactStateIf(ev_id, ev_kind = 1)
FROM cand_stage WHERE k = 1 AND cityHash64(toString(session_id)) % 4 = 0 AND session_id NOT IN (SELECT session_id FROM cand_stage WHERE ev_bot = 1)
GROUP BY site_id, day, channel;
INSERT INTO roll_channels (site_id, day, channel, sessions, visitors, pageviews)
SELECT site_id, toDate(started_at, 'Europe/Berlin') AS day, channel, uniqExactState(session_id), uniqExactState(visitor_id),
    uniqExactStateIf(ev_id, ev_kind = 1)
FROM cand_stage WHERE k = 1 AND cityHash64(toString(session_id)) % 4 = 1 AND session_id NOT IN (SELECT session_id FROM cand_stage WHERE ev_bot = 1)
GROUP BY site_id, day, channel;
INSERT INTO roll_channels (site_id, day, channel, sessions, visitors, pageviews)
SELECT site_id, toDate(started_at, 'Europe/Berlin') AS day, channel, uniqExactState(session_id), uniqExactState(visitor_id),
    uniqExactStateIf(ev_id, ev_kind = 1)
FROM cand_stage WHERE k = 1 AND cityHash64(toString(session_id)) % 4 = 2 AND session_id NOT IN (SELECT session_id FROM cand_stage WHERE ev_bot = 1)
GROUP BY site_id, day, channel;
INSERT INTO roll_channels (site_id, day, channel, sessions, visitors, pageviews)
SELECT site_id, toDate(started_at, 'Europe/Berlin') AS day, channel, uniqExactState(session_id), uniqExactState(visitor_id),
    uniqExactStateIf(ev_id, ev_kind = 1)
FROM cand_stage WHERE k = 1 AND cityHash64(toString(session_id)) % 4 = 3 AND session_id NOT IN (SELECT session_id FROM cand_stage WHERE ev_bot = 1)
GROUP BY site_id, day, channel;
INSERT INTO roll_channels (site_id, day, channel, sessions, visitors, pageviews)
SELECT site_id, toDate(started_at, 'Europe/Berlin') AS day, channel, uniqExactState(session_id), uniqExactState(visitor_id),
    uniqExactStateIf(ev_id, ev_kind = 1)
FROM cand_stage WHERE k = 2 AND cityHash64(toString(session_id)) % 4 = 0 AND session_id NOT IN (SELECT session_id FROM cand_stage WHERE ev_bot = 1)
GROUP BY site_id, day, channel;
INSERT INTO roll_channels (site_id, day, channel, sessions, visitors, pageviews)
SELECT site_id, toDate(started_at, 'Europe/Berlin') AS day, channel, uniqExactState(session_id), uniqExactState(visitor_id),
    uniqExactStateIf(ev_id, ev_kind = 1)
FROM cand_stage WHERE k = 2 AND cityHash64(toString(session_id)) % 4 = 1 AND session_id NOT IN (SELECT session_id FROM cand_stage WHERE ev_bot = 1)
GROUP BY site_id, day, channel;
INSERT INTO roll_channels (site_id, day, channel, sessions, visitors, pageviews)
SELECT site_id, toDate(started_at, 'Europe/Berlin') AS day, channel, uniqExactState(session_id), uniqExactState(visitor_id),
    uniqExactStateIf(ev_id, ev_kind = 1)
FROM cand_stage WHERE k = 2 AND cityHash64(toString(session_id)) % 4 = 2 AND session_id NOT IN (SELECT session_id FROM cand_stage WHERE ev_bot = 1)
GROUP BY site_id, day, channel;
INSERT INTO roll_channels (site_id, day, channel, sessions, visitors, pageviews)
SELECT site_id, toDate(started_at, 'Europe/Berlin') AS day, channel, uniqExactState(session_id), uniqExactState(visitor_id),
    uniqExactStateIf(ev_id, ev_kind = 1)
FROM cand_stage WHERE k = 2 AND cityHash64(toString(session_id)) % 4 = 3 AND session_id NOT IN (SELECT session_id FROM cand_stage WHERE ev_bot = 1)
GROUP BY site_id, day, channel;
INSERT INTO roll_channels (site_id, day, channel, sessions, visitors, pageviews)
SELECT site_id, toDate(started_at, 'Europe/Berlin') AS day, channel, uniqExactState(session_id), uniqExactState(visitor_id),
    uniqExactStateIf(ev_id, ev_kind = 1)
FROM cand_stage WHERE k = 3 AND cityHash64(toString(session_id)) % 4 = 0 AND session_id NOT IN (SELECT session_id FROM cand_stage WHERE ev_bot = 1)
GROUP BY site_id, day, channel;
INSERT INTO roll_channels (site_id, day, channel, sessions, visitors, pageviews)
SELECT site_id, toDate(started_at, 'Europe/Berlin') AS day, channel, uniqExactState(session_id), uniqExactState(visitor_id),
    uniqExactStateIf(ev_id, ev_kind = 1)
FROM cand_stage WHERE k = 3 AND cityHash64(toString(session_id)) % 4 = 1 AND session_id NOT IN (SELECT session_id FROM cand_stage WHERE ev_bot = 1)
GROUP BY site_id, day, channel;
INSERT INTO roll_channels (site_id, day, channel, sessions, visitors, pageviews)
SELECT site_id, toDate(started_at, 'Europe/Berlin') AS day, channel, uniqExactState(session_id), uniqExactState(visitor_id),
    uniqExactStateIf(ev_id, ev_kind = 1)
FROM cand_stage WHERE k = 3 AND cityHash64(toString(session_id)) % 4 = 2 AND session_id NOT IN (SELECT session_id FROM cand_stage WHERE ev_bot = 1)
GROUP BY site_id, day, channel;
INSERT INTO roll_channels (site_id, day, channel, sessions, visitors, pageviews)
SELECT site_id, toDate(started_at, 'Europe/Berlin') AS day, channel, uniqExactState(session_id), uniqExactState(visitor_id),
    uniqExactStateIf(ev_id, ev_kind = 1)
FROM cand_stage WHERE k = 3 AND cityHash64(toString(session_id)) % 4 = 3 AND session_id NOT IN (SELECT session_id FROM cand_stage WHERE ev_bot = 1)
GROUP BY site_id, day, channel;
INSERT INTO roll_channels (site_id, day, channel, sessions, visitors, pageviews)
SELECT site_id, toDate(started_at, 'Europe/Berlin') AS day, channel, uniqExactState(session_id), uniqExactState(visitor_id),
    uniqExactStateIf(ev_id, ev_kind = 1)
FROM cand_stage WHERE k >= 4 AND cityHash64(toString(session_id)) % 4 = 0 AND session_id NOT IN (SELECT session_id FROM cand_stage WHERE ev_bot = 1)
GROUP BY site_id, day, channel;
INSERT INTO roll_channels (site_id, day, channel, sessions, visitors, pageviews)
SELECT site_id, toDate(started_at, 'Europe/Berlin') AS day, channel, uniqExactState(session_id), uniqExactState(visitor_id),
    uniqExactStateIf(ev_id, ev_kind = 1)
FROM cand_stage WHERE k >= 4 AND cityHash64(toString(session_id)) % 4 = 1 AND session_id NOT IN (SELECT session_id FROM cand_stage WHERE ev_bot = 1)
GROUP BY site_id, day, channel;
INSERT INTO roll_channels (site_id, day, channel, sessions, visitors, pageviews)
SELECT site_id, toDate(started_at, 'Europe/Berlin') AS day, channel, uniqExactState(session_id), uniqExactState(visitor_id),
    uniqExactStateIf(ev_id, ev_kind = 1)
FROM cand_stage WHERE k >= 4 AND cityHash64(toString(session_id)) % 4 = 2 AND session_id NOT IN (SELECT session_id FROM cand_stage WHERE ev_bot = 1)
GROUP BY site_id, day, channel;
INSERT INTO roll_channels (site_id, day, channel, sessions, visitors, pageviews)
SELECT site_id, toDate(started_at, 'Europe/Berlin') AS day, channel, uniqExactState(session_id), uniqExactState(visitor_id),
    uniqExactStateIf(ev_id, ev_kind = 1)
FROM cand_stage WHERE k >= 4 AND cityHash64(toString(session_id)) % 4 = 3 AND session_id NOT IN (SELECT session_id FROM cand_stage WHERE ev_bot = 1)
GROUP BY site_id, day, channel;
