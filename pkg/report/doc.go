// Package report owns the read-side queries behind Teller's reports: the
// KPIs, the breakdowns by page, entry and exit page, referrer and channel,
// the daily series and the latest sessions of a site.
//
// Every figure is computed from duplicate-proof states — uniqExact of event
// ids, min/max and argMin/argMax merges of the sessions_agg states — so it is
// exact under at-least-once delivery: an event written twice, or a batch
// replayed, changes nothing, before or after ClickHouse merges its parts.
//
// A session counts on its start: it is in a Query's range when the time of
// its opening event (started_at) is. Queries read sessions_agg through a
// subquery that filters on its primary key (site_id, session_date) first and
// merges the states of the sessions it keeps; they never scan the sessions
// view unfiltered.
//
// Everything here runs on ClickHouse 18.16 and current releases alike: plain
// aggregates, no window functions, no toStartOfInterval, positional `?`
// arguments bound on the client. The tests prove it: every report query runs
// on 18.16 (a server, over clickhouse-go) and on 26.7 (chdb, in-process)
// against the same data, and must give the same figures on both
// (internal/chtest). Queries go through Querier, one Query method, never the
// driver itself.
//
// The engaged/bounce rule has its one definition here (EngagedPageviews,
// EngagedAfterMs, BounceSQL); the sessions view's is_bounce is the copy SQL
// needs, tied to it by the tests.
//
// The package only reads; it knows nothing of HTTP (pkg/dashboard serves the
// reports) and never writes a table.
package report
