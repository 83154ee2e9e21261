// Package report owns the read-side queries behind Teller's reports: the
// KPIs and their previous-period comparison, the series by metric and
// interval, the breakdowns by every dimension (pages, entry and exit pages,
// sources, referrers, channels, campaigns, browsers, OS, devices, screens,
// start reasons, custom events and their properties, engagement per page),
// the filters that narrow all of them, the session explorer, goals and
// funnels, realtime, the bot and refusal reports, the data-completeness
// line, and CSV for every row. It also owns the goals' store (site_goals)
// and the readable names of channels.
//
// Every figure is computed from duplicate-proof rows — uniqExact of event
// ids, the highest version of each session in session_versions (FINAL), the
// latest version of a row — so it is exact under at-least-once delivery: an
// event written twice, or a batch replayed, changes nothing, before or after
// ClickHouse merges its parts.
//
// A session counts on its start: it is in a Query's range when the time of
// its opening event (started_at) is. Which sessions a query covers, and how
// a session's figures are read, is said in one place: Query.sessionsFrom
// (with the session-column constants in report.go) builds the subquery with
// the range, the bot rule and the filters applied, and every report selects
// from it or keeps its session ids. A change of session storage changes that
// function, not the reports. It reads session_versions FINAL filtered on its
// primary key (site_id, session_date) and the start inside FINAL, and every
// condition on a column that changes between versions (is_bot, counts,
// attribution) outside it, so that no filter can select an old version.
// The FINAL read of a range of two weeks or more is split by session day
// into a UNION ALL of two slices (ClickHouse 18.16 reads one FINAL in one
// stream): exact, since all of a session's versions share its session_date.
//
// Building is pure and separate from running: each report builds its SQL
// and positional arguments, then runs them through Querier. A context made
// by WithSQLLog collects the statements with their arguments inlined
// (Inline), so the dashboard can show the SQL behind a report, ready to
// paste into clickhouse-client.
//
// Everything here runs on ClickHouse 18.16 and current releases alike: plain
// aggregates, no window functions, no toStartOfInterval (toStartOfHour,
// toDate, toMonday and toStartOfMonth with the zone argument instead),
// windowFunnel over a UInt32 clock, positional `?` arguments bound on the
// client. The tests prove it: every report query runs on 18.16 (a server,
// over clickhouse-go) and on 26.7 (chdb, in-process) against the same data,
// and must give the same figures on both (internal/chtest); the figures are
// also checked against golden SQL over events FINAL written in the tests.
//
// Figures that cannot change unless their rows do are kept in the process
// with a mark of those rows (a count and a hash sum, read before the
// figures): a comparison's previous period (PreviousCache, previous.go) and
// the closed sessions of a range, those that started before the closed cut
// (ClosedCache, closed.go), merged in Go with the open part read live. A
// mark is read part by part with PartMarks (partmarks.go). None of them is
// used on a cluster.
//
// The engaged/bounce rule has its one definition here (EngagedPageviews,
// EngagedAfterMs, BounceSQL); the sessions view's is_bounce is the copy SQL
// needs, tied to it by the tests.
//
// The package knows nothing of HTTP (pkg/dashboard serves the reports). It
// writes only site_goals, through GoalDB.
package report
