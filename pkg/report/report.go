package report

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
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

// Reports runs report queries on a ClickHouse connection. It is safe for
// concurrent use.
type Reports struct {
	conn driver.Conn
}

// New returns Reports reading through conn (store.DB.Conn()).
func New(conn driver.Conn) *Reports { return &Reports{conn: conn} }

// Merged session columns for sessionsFrom, each one aggregate over the rows
// of one session in sessions_agg. The s_ aliases never shadow a column name:
// ClickHouse substitutes aliases into WHERE, so a shadowing alias would put
// an aggregate there.
const (
	colVisitor     = "any(visitor_id) AS s_visitor"
	colStarted     = "any(started_at) AS s_started"
	colReason      = "any(start_reason) AS s_reason"
	colDuration    = "toUInt64(maxMerge(last_ms) - minMerge(first_ms)) AS s_duration"
	colEvents      = "uniqExactMerge(events) AS s_events"
	colPageviews   = "uniqExactMerge(pageviews) AS s_pageviews"
	colCustom      = "uniqExactMerge(custom_events) AS s_custom"
	colEntry       = "argMinMerge(entry_pathname) AS s_entry"
	colExit        = "argMaxMerge(exit_pathname) AS s_exit"
	colRefDomain   = "argMinMerge(referrer_domain) AS s_referrer_domain"
	colChannel     = "argMinMerge(channel) AS s_channel"
	colBrowser     = "argMinMerge(browser) AS s_browser"
	colOS          = "argMinMerge(os) AS s_os"
	colDevice      = "argMinMerge(device) AS s_device"
	colBot         = "maxMerge(is_bot) AS s_bot"
	bounceCond     = "s_pageviews < 2 AND s_duration <= 10000 AND s_custom = 0"
	engagedMinPV   = 2
	engagedAfterMs = 10000
)

// sessionsFrom returns a subquery with one row per session of q (site, start
// in [From, To), bots left out unless asked) and the merged columns cols,
// with the arguments it binds.
//
// The session_date condition selects the primary-key range (session_date is
// the UTC day of the start; the range is widened by a day on each side so
// that it never depends on that detail); the started_at condition is the
// exact one.
func (q Query) sessionsFrom(cols ...string) (string, []any) {
	var b strings.Builder
	b.WriteString("(SELECT session_id")
	for _, c := range cols {
		b.WriteString(", ")
		b.WriteString(c)
	}
	if !q.IncludeBots {
		b.WriteString(", " + colBot)
	}
	b.WriteString(` FROM sessions_agg
WHERE site_id = ?
  AND session_date BETWEEN toDate(?) - 1 AND toDate(?) + 1
  AND started_at >= toDateTime(?) AND started_at < toDateTime(?)
GROUP BY session_id`)
	if !q.IncludeBots {
		b.WriteString("\nHAVING s_bot = 0")
	}
	b.WriteString(")")
	return b.String(), []any{q.Site, day(q.From), day(q.To), q.fromSec(), q.toSec()}
}

// bounce applies the sessions view's definition (GA4): a session is engaged
// with 2 or more pageviews, or when it lasts longer than 10 s, or with a
// custom event; a bounce is a session that is not engaged.
func bounce(pageviews, durationMs, custom uint64) bool {
	return pageviews < engagedMinPV && durationMs <= engagedAfterMs && custom == 0
}
