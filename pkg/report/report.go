package report

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/teller-analytics/teller/pkg/store"
)

// MaxLimit is the most rows a breakdown or session list returns.
const MaxLimit = 1000

// sessionSpan bounds how far a session's events lie from its start: the
// sessionizer's maximum session length (24 h by default) plus slack for late
// events. Only the coarse index filters on the events table use it; the exact
// filter is always on the session's start.
const sessionSpan = 48 * time.Hour

// ErrInvalidQuery wraps every error caused by the caller's arguments (as
// opposed to ClickHouse failing), so that a server can answer 400.
var ErrInvalidQuery = errors.New("invalid report query")

// Query selects the sessions a report covers.
type Query struct {
	// Site is the site id (sites.site_id). Required.
	Site string
	// From and To bound the sessions' start times: [From, To). The caller
	// converts site-local days to instants (midnight in the site's zone).
	From, To time.Time
	// IncludeBots keeps sessions flagged as bots. By default a session with
	// any event from a bot user agent (is_bot = 1) is left out.
	IncludeBots bool
	// Filters narrow the sessions (ANDed); see Filter. At most MaxFilters.
	Filters []Filter

	// streams, when positive, is how many FINAL streams the query's
	// sessions are read in instead of DefaultFinalStreams (WithFinalStreams).
	streams int
}

// Previous is the range of the same length immediately before q's, with
// everything else alike: what q is compared with.
func (q Query) Previous() Query {
	p := q
	p.From, p.To = q.From.Add(-q.To.Sub(q.From)), q.From
	p.Filters = append([]Filter(nil), q.Filters...)
	return p
}

func (q Query) validate() error {
	switch {
	case q.Site == "":
		return fmt.Errorf("%w: site is empty", ErrInvalidQuery)
	case q.From.IsZero() || q.To.IsZero():
		return fmt.Errorf("%w: from and to are both required", ErrInvalidQuery)
	case !q.From.Before(q.To):
		return fmt.Errorf("%w: from (%s) must be before to (%s)", ErrInvalidQuery,
			q.From.UTC().Format(time.RFC3339), q.To.UTC().Format(time.RFC3339))
	case len(q.Filters) > MaxFilters:
		return fmt.Errorf("%w: %d filters, at most %d", ErrInvalidQuery, len(q.Filters), MaxFilters)
	case q.streams < 0 || q.streams > MaxFinalStreams:
		return fmt.Errorf("%w: %d FINAL streams, want 1 to %d", ErrInvalidQuery, q.streams, MaxFinalStreams)
	}
	for i := range q.Filters {
		if err := q.Filters[i].Validate(); err != nil {
			return err
		}
	}
	return nil
}

// fromSec and toSec are the range in whole Unix seconds, for DateTime
// columns. Rounding both up keeps [From, To) exact for whole-second values.
func (q Query) fromSec() int64 { return ceilSec(q.From) }
func (q Query) toSec() int64   { return ceilSec(q.To) }

func ceilSec(t time.Time) int64 {
	s := t.Unix()
	if t.Nanosecond() > 0 {
		s++
	}
	return s
}

// day formats t's UTC date for toDate(?).
func day(t time.Time) string { return t.UTC().Format(time.DateOnly) }

func checkLimit(limit int) error {
	if limit < 1 || limit > MaxLimit {
		return fmt.Errorf("%w: limit %d must be between 1 and %d", ErrInvalidQuery, limit, MaxLimit)
	}
	return nil
}

// Querier is what the reports need of ClickHouse: one method that runs a
// query with positional ? arguments. *store.DB implements it over
// clickhouse-go; the tests also run every report through a current release
// in-process (internal/chtest).
type Querier interface {
	Query(ctx context.Context, query string, args ...any) (store.Rows, error)
}

// Reports runs report queries through a Querier. It is safe for concurrent
// use when the Querier is.
type Reports struct {
	q        Querier
	previous *PreviousCache // nil: previous periods are always read (previous.go)
	closed   *ClosedCache   // nil: closed sessions are always read (closed.go)
	parts    *PartMarks     // nil: a mark is read by a scan (partmarks.go)
	now      func() time.Time
}

// New returns Reports reading through q (a *store.DB).
func New(q Querier) *Reports { return &Reports{q: q} }

// Session columns for sessionsFrom, each one read from the session's
// latest row in session_versions (plain columns, no merging). The s_
// aliases never shadow a column name, so that a filter on a column in the
// outer WHERE always means the stored column. Counts are widened to UInt64,
// the type the reports scan.
const (
	colVisitor   = "visitor_id AS s_visitor"
	colStarted   = "started_at AS s_started"
	colReason    = "start_reason AS s_reason"
	colDuration  = "toUInt64(last_ms - first_ms) AS s_duration"
	colEvents    = "toUInt64(events) AS s_events"
	colPageviews = "toUInt64(pageviews) AS s_pageviews"
	colCustom    = "toUInt64(custom_events) AS s_custom"
	colEntry     = "entry_pathname AS s_entry"
	colExit      = "exit_pathname AS s_exit"
	colRefDomain = "referrer_domain AS s_referrer_domain"
	colChannel   = "channel AS s_channel"
	colBrowser   = "browser AS s_browser"
	colOS        = "os AS s_os"
	colDevice    = "device AS s_device"
	colSource    = "referrer_source AS s_source"
)

// versionColumns are the columns of session_versions that the column
// constants and the dimensions read: what the FINAL subquery passes on
// (ClickHouse reads only those the outer query uses).
const versionColumns = `session_id, visitor_id, started_at, start_reason, first_ms, last_ms, events, pageviews,
    custom_events, is_bot, entry_pathname, exit_pathname, referrer_domain, referrer_source, channel,
    utm_source, utm_medium, utm_campaign, utm_term, utm_content, browser, browser_version, os, device, screen_width, country,
    pages, page_views`

// The engaged-session rule (GA4): a session is engaged with EngagedPageviews
// or more pageviews, or when it lasts longer than EngagedAfterMs, or with a
// custom event; a bounce is a session that is not engaged. This is its one
// definition: the reports use bounceCond, and the sessions view's is_bounce
// in schema/0003_sessions.sql is the copy SQL needs, tied to it by the tests.
const (
	EngagedPageviews = 2
	EngagedAfterMs   = 10000
)

// BounceSQL is the bounce condition over a session's merged pageviews,
// duration (ms) and custom-event columns, e.g. BounceSQL("pageviews",
// "duration_ms", "custom_events") as the sessions view has it.
func BounceSQL(pageviews, durationMs, customEvents string) string {
	return fmt.Sprintf("%s < %d AND %s <= %d AND %s = 0",
		pageviews, EngagedPageviews, durationMs, EngagedAfterMs, customEvents)
}

// bounceCond is BounceSQL over sessionsFrom's aliases.
var bounceCond = BounceSQL("s_pageviews", "s_duration", "s_custom")

// sessionsFrom returns a subquery with one row per session of q (site, start
// in [From, To), bots left out unless asked, q's filters applied) and the
// session columns cols, with the arguments it binds.
//
// This is the one place that says which sessions a query covers and how a
// session's figures are read: every report selects from it (or, for the
// rows of events, keeps the session ids it yields), so a change of session
// storage changes this function and the column constants above.
//
// Sessions are read from session_versions FINAL: the latest version of each
// session. Inside the FINAL subquery there are only conditions on the
// sorting key and on columns a session's versions share (site_id,
// session_date, started_at, session_id, visitor_id): a condition there on a
// column that changes between versions (is_bot, the counts, the entry
// attribution) could be checked before FINAL picks the latest version and
// so select an old one. Those conditions (the bot rule, the session
// dimension filters) are in the outer WHERE, on the latest version.
//
// The session_date condition selects the primary-key range (session_date is
// the UTC day of the start; the range is widened by a day on each side so
// that it never depends on that detail, and read in day slices, see
// sessionsWhere); the started_at condition is the exact one. A page or
// event filter keeps the sessions with (or without) a matching event (a
// condition on session_id, so inside FINAL).
func (q Query) sessionsFrom(cols ...string) (string, []any) {
	return q.sessionsWhere("", nil, cols...)
}

// sessionsWhere is sessionsFrom with one more condition on columns every
// version of a session shares (e.g. "visitor_id = toUUID(?)") and its
// arguments.
//
// The FINAL read is a UNION ALL of q's session-day slices (finalSlices),
// each a FINAL subquery with every condition and argument repeated: 18.16
// reads FINAL in one stream, so one subquery keeps a report on one core;
// two let the server merge two day ranges at once. It is exact because
// session_date is in the sorting key and the same in every version of a
// session: all of a session's versions lie in one slice, and FINAL within
// it picks the same latest version as over the whole range.
func (q Query) sessionsWhere(where string, whereArgs []any, cols ...string) (string, []any) {
	var b strings.Builder
	b.WriteString("(SELECT session_id")
	for _, c := range cols {
		b.WriteString(", ")
		b.WriteString(c)
	}
	b.WriteString("\nFROM (")
	var args []any
	for i, s := range q.finalSlices() {
		if i > 0 {
			b.WriteString("\n  UNION ALL\n  ")
		}
		a := q.finalSlice(&b, s, where, whereArgs)
		args = append(args, a...)
	}
	var outer []string
	var outerArgs []any
	if !q.IncludeBots {
		outer = append(outer, "is_bot = 0")
	}
	for _, f := range q.Filters {
		def := dimensions[f.Dimension]
		if def.eventColumn != "" {
			continue // inside FINAL (finalSlice)
		}
		c, arg := f.cond(def.session)
		outer = append(outer, c)
		outerArgs = append(outerArgs, arg)
	}
	b.WriteString(")")
	if len(outer) > 0 {
		b.WriteString("\nWHERE " + strings.Join(outer, " AND "))
	}
	b.WriteString(")")
	return b.String(), append(args, outerArgs...)
}

// finalSlice writes the FINAL subquery of q's sessions whose session_date
// lies in s, with the conditions that belong inside FINAL (see
// sessionsFrom): the key range, the start, where, and the page and event
// filters. It returns the arguments it binds.
func (q Query) finalSlice(b *strings.Builder, s dateSpan, where string, whereArgs []any) []any {
	rows, args := q.sessionRows(s)
	b.WriteString("SELECT " + versionColumns + "\n  FROM session_versions FINAL\n  WHERE " + rows)
	if where != "" {
		b.WriteString("\n    AND " + where)
		args = append(args, whereArgs...)
	}
	for _, f := range q.Filters {
		def := dimensions[f.Dimension]
		if def.eventColumn == "" {
			continue // on the latest version, outside FINAL (sessionsWhere)
		}
		// Sessions with (or without) a matching event.
		ew, ewArgs := q.eventsWhere()
		m, arg := f.match(def.eventColumn)
		in := "IN"
		if f.negated() {
			in = "NOT IN"
		}
		b.WriteString("\n    AND session_id " + in + " (SELECT session_id FROM events WHERE " + ew +
			" AND kind = '" + def.eventKind + "' AND " + m + ")")
		args = append(append(args, ewArgs...), arg)
	}
	return args
}

// DefaultFinalStreams is how many session-day slices sessionsWhere reads
// FINAL in unless a Query says otherwise (WithFinalStreams). Measured on 2
// cores with ClickHouse 18.16 (10M events, docs/dashboard-speed.md section
// 15): for a lone report 2 slices cut the query time by about 25-30 % on
// an idle machine, for 5-25 % more server CPU (the granules at the slice
// boundary are read twice); 4 slices cost more CPU and were slower than 2.
// With both cores busy (a site page's statements at once, other users)
// the split only adds that CPU.
const DefaultFinalStreams = 2

// MaxFinalStreams bounds WithFinalStreams.
const MaxFinalStreams = 8

// WithFinalStreams returns q with its sessions read from session_versions
// FINAL in n streams (1 to MaxFinalStreams, at most one a day), each over a
// slice of the range's session days; 0 is the default: DefaultFinalStreams
// for ranges of minSplitDays or more, 1 for shorter ones. The figures are
// the same for every n; n trades server CPU for the latency of one
// statement on an otherwise idle server.
func (q Query) WithFinalStreams(n int) Query {
	q.streams = n
	return q
}

// minSplitDays is the shortest range (To - From, in days) read in
// DefaultFinalStreams slices; a shorter one is read in one. Each slice
// reads the granules at its boundary again, one per part (about 40,000
// rows here): measured on 18.16, 3 and 7 days split read 2x and 1.5x the
// rows for 2x and 1.4x the server CPU, 30 days 1.18x the rows.
const minSplitDays = 14

// dateSpan is an inclusive range of UTC days (midnight UTC of each).
type dateSpan struct{ first, last time.Time }

func (r dateSpan) days() int { return int(r.last.Sub(r.first).Hours()/24) + 1 }

// sessionDays is the range of session_date that holds q's sessions: the
// UTC days of From and To, widened by a day on each side so that it never
// depends on how the sessionizer rounds the start (started_at is the
// exact condition).
func (q Query) sessionDays() dateSpan {
	utcDay := func(t time.Time) time.Time {
		y, m, d := t.UTC().Date()
		return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	}
	return dateSpan{utcDay(q.From).AddDate(0, 0, -1), utcDay(q.To).AddDate(0, 0, 1)}
}

// sessionRows is the condition on session_versions' rows of q's sessions
// whose session_date lies in days (sessionDays, or a slice of it): the key
// range and the exact start, each read of the table's rows starts from.
func (q Query) sessionRows(days dateSpan) (string, []any) {
	return `site_id = ?
    AND session_date BETWEEN toDate(?) AND toDate(?)
    AND started_at >= toDateTime(?) AND started_at < toDateTime(?)`,
		[]any{q.Site, day(days.first), day(days.last), q.fromSec(), q.toSec()}
}

// finalSlices splits sessionDays into q's FINAL streams: consecutive,
// disjoint slices whose day counts differ by at most one, the extra days
// in the first slices.
func (q Query) finalSlices() []dateSpan {
	return splitDays(q.sessionDays(), q.finalStreamsFor())
}

// FinalStreams is how many FINAL streams q's sessions are read in: what
// WithFinalStreams set, else the default for its range. Requests that share
// one computation (the dashboard's) must agree on it, since the statements
// a report shows differ with it.
func (q Query) FinalStreams() int { return q.finalStreamsFor() }

// finalStreamsFor is how many FINAL streams q is read in: q.streams when
// set, else DefaultFinalStreams from minSplitDays on and 1 below.
func (q Query) finalStreamsFor() int {
	switch {
	case q.streams > 0:
		return q.streams
	case q.To.Sub(q.From) < minSplitDays*24*time.Hour:
		return 1
	}
	return DefaultFinalStreams
}

// splitDays cuts r into at most n consecutive slices balanced by day count
// (fewer when r has fewer than n days).
func splitDays(r dateSpan, n int) []dateSpan {
	days := r.days()
	n = max(1, min(n, days))
	out := make([]dateSpan, 0, n)
	first := r.first
	for i := range n {
		size := days / n
		if i < days%n {
			size++
		}
		last := first.AddDate(0, 0, size-1)
		out = append(out, dateSpan{first, last})
		first = last.AddDate(0, 0, 1)
	}
	return out
}

// sessionIDs is the condition "session_id is one of q's sessions" for
// queries over the events table, and its arguments.
func (q Query) sessionIDs() (string, []any) {
	from, args := q.sessionsFrom()
	return "session_id IN (SELECT session_id FROM " + from + ")", args
}

// eventsWhere selects the events of the sessions that started in q's range
// (every filter and the bot rule aside), and its arguments. The ts
// conditions only narrow the parts and the primary-key range (events sort
// by toDate(ts)): a session's events lie within sessionSpan after its
// start, and a late event can precede the start by at most the inactivity
// gap; session_started_at is the exact condition.
func (q Query) eventsWhere() (string, []any) {
	lo, hi := q.From.Add(-24*time.Hour), q.To.Add(sessionSpan)
	return `site_id = ?
  AND toDate(ts) BETWEEN toDate(toDateTime(?)) AND toDate(toDateTime(?))
  AND ts >= toDateTime(?) AND ts < toDateTime(?)
  AND session_started_at >= toDateTime(?) AND session_started_at < toDateTime(?)`,
		[]any{q.Site, lo.Unix(), ceilSec(hi), lo.Unix(), ceilSec(hi), q.fromSec(), q.toSec()}
}
