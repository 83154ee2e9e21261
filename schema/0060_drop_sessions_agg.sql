-- sessions_mv and sessions_agg go: every report and the sessions view read
-- session_versions (0030), which the sessionizer writes, so the view's
-- per-insert aggregation of every events batch into aggregate states was
-- ClickHouse work that nothing read any more (docs/benchmarks.md measures
-- what it cost). 0030's backfill, which reads sessions_agg, runs before
-- this file on an upgrade and is the last reader.
--
-- 18.16 has no DROP VIEW; DROP TABLE drops a materialized view on every
-- release. The view goes first, so no insert into events can reach a
-- dropped target table.
DROP TABLE IF EXISTS sessions_mv;
DROP TABLE IF EXISTS sessions_agg;
