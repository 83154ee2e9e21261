-- Events the collector accepted, per collector instance, site and minute
-- (pkg/collector's acceptance counter), for the data-completeness report:
-- accepted here vs stored in events, per day.
--
-- accepted is the cumulative count of that minute so far, not an increment:
-- a collector rewrites the row of a minute (every ~10 s and at shutdown)
-- with a larger updated_ms, and the largest wins. Writing the same row
-- twice, or retrying a write, replaces and never adds, so the figure stays
-- exact under retries. Read it with argMax(accepted, updated_ms) per
-- (collector_id, site_id, minute_at), then sum.
CREATE TABLE IF NOT EXISTS collector_accepted
(
    site_id      String          COMMENT 'Site id (sites.site_id)',
    minute_at    DateTime('UTC') COMMENT 'Start of the minute the events were received in (UTC)',
    collector_id String          COMMENT 'Collector instance that accepted them (random per process start)',
    accepted     UInt64          COMMENT 'Events accepted by that instance for that site in that minute, so far',
    updated_ms   UInt64          COMMENT 'Version of this row, Unix milliseconds: the largest wins'
)
ENGINE = ReplacingMergeTree(updated_ms)
PARTITION BY toYYYYMM(minute_at)
ORDER BY (site_id, minute_at, collector_id);
