-- Pages for candidate (a), variant: the session row itself carries the
-- session's distinct pages and their view counts (two arrays), so the pages
-- breakdown reads the same deduplicated session rows (ARRAY JOIN) instead of
-- the events table. Built merged (one row per session, the final version).
SET group_by_two_level_threshold = 0;
SET group_by_two_level_threshold_bytes = 0;
DROP TABLE IF EXISTS sess_rmt_pages;
CREATE TABLE sess_rmt_pages
(
    site_id String, session_date Date, session_id UUID, visitor_id UUID, started_at DateTime('UTC'),
    version UInt32, is_bot UInt8, pages Array(String), page_views Array(UInt32)
)
ENGINE = ReplacingMergeTree(version) PARTITION BY toYYYYMM(session_date) ORDER BY (site_id, session_date, session_id);
INSERT INTO sess_rmt_pages (site_id, session_date, session_id, visitor_id, started_at, version, is_bot, pages, page_views)
SELECT site_id, session_date, session_id, any(visitor_id), any(started_at), toUInt32(max(k)), max(ev_bot),
       groupUniqArrayIf(ev_path, ev_kind = 1) AS ps,
       arrayMap(p -> toUInt32(countEqual(groupArrayIf(ev_path, ev_kind = 1), p)), ps)
FROM cand_stage
GROUP BY site_id, session_date, session_id;
