-- Pages for candidate (a): the sessionizer also writes one row per
-- (session, page) whenever that page's view count in the session grows,
-- into a ReplacingMergeTree whose version is that count (deterministic
-- under replay; the highest is the session's total). It needs per open
-- session only a hash and a count per distinct page, and the path string
-- comes with the event being processed. Built from cand_stage: one version
-- per pageview, 16 inserts per month with merges stopped.
DROP TABLE IF EXISTS sess_pages;
CREATE TABLE sess_pages
(
    site_id String, session_date Date, session_id UUID, pathname String, visitor_id UUID,
    started_at DateTime('UTC'), views UInt32, is_bot UInt8
)
ENGINE = ReplacingMergeTree(views) PARTITION BY toYYYYMM(session_date) ORDER BY (site_id, session_date, session_id, pathname);
SYSTEM STOP MERGES sess_pages;
INSERT INTO sess_pages (site_id, session_date, session_id, pathname, visitor_id, started_at, views, is_bot)
SELECT site_id, session_date, session_id, ev_path, visitor_id, started_at, views, bot
FROM (SELECT site_id, session_date, session_id, ev_path, visitor_id, started_at, bot,
             toUInt32(arrayCount(x -> x = ev_path, arraySlice(paths, 1, k))) AS views
      FROM (SELECT site_id, session_date, session_id, visitor_id, started_at, max(bot) AS bot,
                   arrayMap(x -> x.2, arraySort(x -> x.1, groupArray((k, ev_path)))) AS paths
            FROM cand_stage WHERE ev_kind = 1 GROUP BY site_id, session_date, session_id, visitor_id, started_at)
      ARRAY JOIN paths AS ev_path, arrayEnumerate(paths) AS k)
WHERE views = 1 AND cityHash64(toString(session_id)) % 4 = 0;
INSERT INTO sess_pages (site_id, session_date, session_id, pathname, visitor_id, started_at, views, is_bot)
SELECT site_id, session_date, session_id, ev_path, visitor_id, started_at, views, bot
FROM (SELECT site_id, session_date, session_id, ev_path, visitor_id, started_at, bot,
             toUInt32(arrayCount(x -> x = ev_path, arraySlice(paths, 1, k))) AS views
      FROM (SELECT site_id, session_date, session_id, visitor_id, started_at, max(bot) AS bot,
                   arrayMap(x -> x.2, arraySort(x -> x.1, groupArray((k, ev_path)))) AS paths
            FROM cand_stage WHERE ev_kind = 1 GROUP BY site_id, session_date, session_id, visitor_id, started_at)
      ARRAY JOIN paths AS ev_path, arrayEnumerate(paths) AS k)
WHERE views = 1 AND cityHash64(toString(session_id)) % 4 = 1;
INSERT INTO sess_pages (site_id, session_date, session_id, pathname, visitor_id, started_at, views, is_bot)
SELECT site_id, session_date, session_id, ev_path, visitor_id, started_at, views, bot
FROM (SELECT site_id, session_date, session_id, ev_path, visitor_id, started_at, bot,
             toUInt32(arrayCount(x -> x = ev_path, arraySlice(paths, 1, k))) AS views
      FROM (SELECT site_id, session_date, session_id, visitor_id, started_at, max(bot) AS bot,
                   arrayMap(x -> x.2, arraySort(x -> x.1, groupArray((k, ev_path)))) AS paths
            FROM cand_stage WHERE ev_kind = 1 GROUP BY site_id, session_date, session_id, visitor_id, started_at)
      ARRAY JOIN paths AS ev_path, arrayEnumerate(paths) AS k)
WHERE views = 1 AND cityHash64(toString(session_id)) % 4 = 2;
INSERT INTO sess_pages (site_id, session_date, session_id, pathname, visitor_id, started_at, views, is_bot)
SELECT site_id, session_date, session_id, ev_path, visitor_id, started_at, views, bot
FROM (SELECT site_id, session_date, session_id, ev_path, visitor_id, started_at, bot,
             toUInt32(arrayCount(x -> x = ev_path, arraySlice(paths, 1, k))) AS views
      FROM (SELECT site_id, session_date, session_id, visitor_id, started_at, max(bot) AS bot,
                   arrayMap(x -> x.2, arraySort(x -> x.1, groupArray((k, ev_path)))) AS paths
            FROM cand_stage WHERE ev_kind = 1 GROUP BY site_id, session_date, session_id, visitor_id, started_at)
      ARRAY JOIN paths AS ev_path, arrayEnumerate(paths) AS k)
WHERE views = 1 AND cityHash64(toString(session_id)) % 4 = 3;
INSERT INTO sess_pages (site_id, session_date, session_id, pathname, visitor_id, started_at, views, is_bot)
SELECT site_id, session_date, session_id, ev_path, visitor_id, started_at, views, bot
FROM (SELECT site_id, session_date, session_id, ev_path, visitor_id, started_at, bot,
             toUInt32(arrayCount(x -> x = ev_path, arraySlice(paths, 1, k))) AS views
      FROM (SELECT site_id, session_date, session_id, visitor_id, started_at, max(bot) AS bot,
                   arrayMap(x -> x.2, arraySort(x -> x.1, groupArray((k, ev_path)))) AS paths
            FROM cand_stage WHERE ev_kind = 1 GROUP BY site_id, session_date, session_id, visitor_id, started_at)
      ARRAY JOIN paths AS ev_path, arrayEnumerate(paths) AS k)
WHERE views = 2 AND cityHash64(toString(session_id)) % 4 = 0;
INSERT INTO sess_pages (site_id, session_date, session_id, pathname, visitor_id, started_at, views, is_bot)
SELECT site_id, session_date, session_id, ev_path, visitor_id, started_at, views, bot
FROM (SELECT site_id, session_date, session_id, ev_path, visitor_id, started_at, bot,
             toUInt32(arrayCount(x -> x = ev_path, arraySlice(paths, 1, k))) AS views
      FROM (SELECT site_id, session_date, session_id, visitor_id, started_at, max(bot) AS bot,
                   arrayMap(x -> x.2, arraySort(x -> x.1, groupArray((k, ev_path)))) AS paths
            FROM cand_stage WHERE ev_kind = 1 GROUP BY site_id, session_date, session_id, visitor_id, started_at)
      ARRAY JOIN paths AS ev_path, arrayEnumerate(paths) AS k)
WHERE views = 2 AND cityHash64(toString(session_id)) % 4 = 1;
INSERT INTO sess_pages (site_id, session_date, session_id, pathname, visitor_id, started_at, views, is_bot)
SELECT site_id, session_date, session_id, ev_path, visitor_id, started_at, views, bot
FROM (SELECT site_id, session_date, session_id, ev_path, visitor_id, started_at, bot,
             toUInt32(arrayCount(x -> x = ev_path, arraySlice(paths, 1, k))) AS views
      FROM (SELECT site_id, session_date, session_id, visitor_id, started_at, max(bot) AS bot,
                   arrayMap(x -> x.2, arraySort(x -> x.1, groupArray((k, ev_path)))) AS paths
            FROM cand_stage WHERE ev_kind = 1 GROUP BY site_id, session_date, session_id, visitor_id, started_at)
      ARRAY JOIN paths AS ev_path, arrayEnumerate(paths) AS k)
WHERE views = 2 AND cityHash64(toString(session_id)) % 4 = 2;
INSERT INTO sess_pages (site_id, session_date, session_id, pathname, visitor_id, started_at, views, is_bot)
SELECT site_id, session_date, session_id, ev_path, visitor_id, started_at, views, bot
FROM (SELECT site_id, session_date, session_id, ev_path, visitor_id, started_at, bot,
             toUInt32(arrayCount(x -> x = ev_path, arraySlice(paths, 1, k))) AS views
      FROM (SELECT site_id, session_date, session_id, visitor_id, started_at, max(bot) AS bot,
                   arrayMap(x -> x.2, arraySort(x -> x.1, groupArray((k, ev_path)))) AS paths
            FROM cand_stage WHERE ev_kind = 1 GROUP BY site_id, session_date, session_id, visitor_id, started_at)
      ARRAY JOIN paths AS ev_path, arrayEnumerate(paths) AS k)
WHERE views = 2 AND cityHash64(toString(session_id)) % 4 = 3;
INSERT INTO sess_pages (site_id, session_date, session_id, pathname, visitor_id, started_at, views, is_bot)
SELECT site_id, session_date, session_id, ev_path, visitor_id, started_at, views, bot
FROM (SELECT site_id, session_date, session_id, ev_path, visitor_id, started_at, bot,
             toUInt32(arrayCount(x -> x = ev_path, arraySlice(paths, 1, k))) AS views
      FROM (SELECT site_id, session_date, session_id, visitor_id, started_at, max(bot) AS bot,
                   arrayMap(x -> x.2, arraySort(x -> x.1, groupArray((k, ev_path)))) AS paths
            FROM cand_stage WHERE ev_kind = 1 GROUP BY site_id, session_date, session_id, visitor_id, started_at)
      ARRAY JOIN paths AS ev_path, arrayEnumerate(paths) AS k)
WHERE views = 3 AND cityHash64(toString(session_id)) % 4 = 0;
INSERT INTO sess_pages (site_id, session_date, session_id, pathname, visitor_id, started_at, views, is_bot)
SELECT site_id, session_date, session_id, ev_path, visitor_id, started_at, views, bot
FROM (SELECT site_id, session_date, session_id, ev_path, visitor_id, started_at, bot,
             toUInt32(arrayCount(x -> x = ev_path, arraySlice(paths, 1, k))) AS views
      FROM (SELECT site_id, session_date, session_id, visitor_id, started_at, max(bot) AS bot,
                   arrayMap(x -> x.2, arraySort(x -> x.1, groupArray((k, ev_path)))) AS paths
            FROM cand_stage WHERE ev_kind = 1 GROUP BY site_id, session_date, session_id, visitor_id, started_at)
      ARRAY JOIN paths AS ev_path, arrayEnumerate(paths) AS k)
WHERE views = 3 AND cityHash64(toString(session_id)) % 4 = 1;
INSERT INTO sess_pages (site_id, session_date, session_id, pathname, visitor_id, started_at, views, is_bot)
SELECT site_id, session_date, session_id, ev_path, visitor_id, started_at, views, bot
FROM (SELECT site_id, session_date, session_id, ev_path, visitor_id, started_at, bot,
             toUInt32(arrayCount(x -> x = ev_path, arraySlice(paths, 1, k))) AS views
      FROM (SELECT site_id, session_date, session_id, visitor_id, started_at, max(bot) AS bot,
                   arrayMap(x -> x.2, arraySort(x -> x.1, groupArray((k, ev_path)))) AS paths
            FROM cand_stage WHERE ev_kind = 1 GROUP BY site_id, session_date, session_id, visitor_id, started_at)
      ARRAY JOIN paths AS ev_path, arrayEnumerate(paths) AS k)
WHERE views = 3 AND cityHash64(toString(session_id)) % 4 = 2;
INSERT INTO sess_pages (site_id, session_date, session_id, pathname, visitor_id, started_at, views, is_bot)
SELECT site_id, session_date, session_id, ev_path, visitor_id, started_at, views, bot
FROM (SELECT site_id, session_date, session_id, ev_path, visitor_id, started_at, bot,
             toUInt32(arrayCount(x -> x = ev_path, arraySlice(paths, 1, k))) AS views
      FROM (SELECT site_id, session_date, session_id, visitor_id, started_at, max(bot) AS bot,
                   arrayMap(x -> x.2, arraySort(x -> x.1, groupArray((k, ev_path)))) AS paths
            FROM cand_stage WHERE ev_kind = 1 GROUP BY site_id, session_date, session_id, visitor_id, started_at)
      ARRAY JOIN paths AS ev_path, arrayEnumerate(paths) AS k)
WHERE views = 3 AND cityHash64(toString(session_id)) % 4 = 3;
INSERT INTO sess_pages (site_id, session_date, session_id, pathname, visitor_id, started_at, views, is_bot)
SELECT site_id, session_date, session_id, ev_path, visitor_id, started_at, views, bot
FROM (SELECT site_id, session_date, session_id, ev_path, visitor_id, started_at, bot,
             toUInt32(arrayCount(x -> x = ev_path, arraySlice(paths, 1, k))) AS views
      FROM (SELECT site_id, session_date, session_id, visitor_id, started_at, max(bot) AS bot,
                   arrayMap(x -> x.2, arraySort(x -> x.1, groupArray((k, ev_path)))) AS paths
            FROM cand_stage WHERE ev_kind = 1 GROUP BY site_id, session_date, session_id, visitor_id, started_at)
      ARRAY JOIN paths AS ev_path, arrayEnumerate(paths) AS k)
WHERE views >= 4 AND cityHash64(toString(session_id)) % 4 = 0;
INSERT INTO sess_pages (site_id, session_date, session_id, pathname, visitor_id, started_at, views, is_bot)
SELECT site_id, session_date, session_id, ev_path, visitor_id, started_at, views, bot
FROM (SELECT site_id, session_date, session_id, ev_path, visitor_id, started_at, bot,
             toUInt32(arrayCount(x -> x = ev_path, arraySlice(paths, 1, k))) AS views
      FROM (SELECT site_id, session_date, session_id, visitor_id, started_at, max(bot) AS bot,
                   arrayMap(x -> x.2, arraySort(x -> x.1, groupArray((k, ev_path)))) AS paths
            FROM cand_stage WHERE ev_kind = 1 GROUP BY site_id, session_date, session_id, visitor_id, started_at)
      ARRAY JOIN paths AS ev_path, arrayEnumerate(paths) AS k)
WHERE views >= 4 AND cityHash64(toString(session_id)) % 4 = 1;
INSERT INTO sess_pages (site_id, session_date, session_id, pathname, visitor_id, started_at, views, is_bot)
SELECT site_id, session_date, session_id, ev_path, visitor_id, started_at, views, bot
FROM (SELECT site_id, session_date, session_id, ev_path, visitor_id, started_at, bot,
             toUInt32(arrayCount(x -> x = ev_path, arraySlice(paths, 1, k))) AS views
      FROM (SELECT site_id, session_date, session_id, visitor_id, started_at, max(bot) AS bot,
                   arrayMap(x -> x.2, arraySort(x -> x.1, groupArray((k, ev_path)))) AS paths
            FROM cand_stage WHERE ev_kind = 1 GROUP BY site_id, session_date, session_id, visitor_id, started_at)
      ARRAY JOIN paths AS ev_path, arrayEnumerate(paths) AS k)
WHERE views >= 4 AND cityHash64(toString(session_id)) % 4 = 2;
INSERT INTO sess_pages (site_id, session_date, session_id, pathname, visitor_id, started_at, views, is_bot)
SELECT site_id, session_date, session_id, ev_path, visitor_id, started_at, views, bot
FROM (SELECT site_id, session_date, session_id, ev_path, visitor_id, started_at, bot,
             toUInt32(arrayCount(x -> x = ev_path, arraySlice(paths, 1, k))) AS views
      FROM (SELECT site_id, session_date, session_id, visitor_id, started_at, max(bot) AS bot,
                   arrayMap(x -> x.2, arraySort(x -> x.1, groupArray((k, ev_path)))) AS paths
            FROM cand_stage WHERE ev_kind = 1 GROUP BY site_id, session_date, session_id, visitor_id, started_at)
      ARRAY JOIN paths AS ev_path, arrayEnumerate(paths) AS k)
WHERE views >= 4 AND cityHash64(toString(session_id)) % 4 = 3;
