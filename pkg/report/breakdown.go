package report

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// Row is one line of a breakdown.
type Row struct {
	// Key is the value grouped by: a path, a referrer domain, a channel.
	// It may be empty (no referrer is ""; the UI shows "(direct)").
	Key string
	// Visitors is the number of distinct visitors.
	Visitors uint64
	// Sessions is the number of distinct sessions.
	Sessions uint64
	// Pageviews is the number of distinct pageviews: of the page itself for
	// Pages, of the whole sessions for the session dimensions.
	Pageviews uint64
}

// Dimension is what a breakdown groups by. Its value is the name the JSON
// API uses.
type Dimension string

// The dimensions. Pages reads pageview events; the others read sessions and
// take the session's entry attribution (its opening event) or exit page.
const (
	Pages      Dimension = "pages"       // page path of each pageview, ranked by pageviews
	EntryPages Dimension = "entry_pages" // path of the session's first pageview, ranked by sessions
	ExitPages  Dimension = "exit_pages"  // path of the session's last event, ranked by sessions
	Referrers  Dimension = "referrers"   // referrer domain at entry, "" for none, ranked by sessions
	Channels   Dimension = "channels"    // channel at entry (direct, organic_search, ...), ranked by sessions
)

// sessionKeys maps each session dimension to the merge that yields its key.
var sessionKeys = map[Dimension]string{
	EntryPages: "argMinMerge(entry_pathname)",
	ExitPages:  "argMaxMerge(exit_pathname)",
	Referrers:  "argMinMerge(referrer_domain)",
	Channels:   "argMinMerge(channel)",
}

// Dimensions lists every dimension in display order.
func Dimensions() []Dimension { return []Dimension{Pages, EntryPages, ExitPages, Referrers, Channels} }

// ParseDimension checks a dimension name from a request.
func ParseDimension(s string) (Dimension, error) {
	for _, d := range Dimensions() {
		if string(d) == s {
			return d, nil
		}
	}
	return "", fmt.Errorf("%w: unknown dimension %q (want one of %v)", ErrInvalidQuery, s, Dimensions())
}

// TopPages ranks the pages of q's sessions by pageviews. It reads the events
// table (kind = 'pageview'), counting uniqExact(event_id) since rows of the
// same event may not be merged yet. Bot events (is_bot = 1) are left out
// unless q.IncludeBots.
func (r *Reports) TopPages(ctx context.Context, q Query, limit int) ([]Row, error) {
	return r.Breakdown(ctx, q, Pages, limit)
}

// EntryPages ranks the sessions' entry pages by sessions.
func (r *Reports) EntryPages(ctx context.Context, q Query, limit int) ([]Row, error) {
	return r.Breakdown(ctx, q, EntryPages, limit)
}

// ExitPages ranks the sessions' exit pages by sessions.
func (r *Reports) ExitPages(ctx context.Context, q Query, limit int) ([]Row, error) {
	return r.Breakdown(ctx, q, ExitPages, limit)
}

// TopReferrers ranks the sessions' referrer domains by sessions. Sessions
// without a referrer have the key "".
func (r *Reports) TopReferrers(ctx context.Context, q Query, limit int) ([]Row, error) {
	return r.Breakdown(ctx, q, Referrers, limit)
}

// Channels ranks the sessions' channels by sessions.
func (r *Reports) Channels(ctx context.Context, q Query, limit int) ([]Row, error) {
	return r.Breakdown(ctx, q, Channels, limit)
}

// Breakdown groups q's sessions (or, for Pages, their pageviews) by dim and
// returns at most limit rows (1..MaxLimit), largest first; ties are ordered
// by key.
func (r *Reports) Breakdown(ctx context.Context, q Query, dim Dimension, limit int) ([]Row, error) {
	if err := q.validate(); err != nil {
		return nil, err
	}
	if err := checkLimit(limit); err != nil {
		return nil, err
	}
	var query string
	var args []any
	if dim == Pages {
		query, args = pagesQuery(q, limit)
	} else {
		key, ok := sessionKeys[dim]
		if !ok {
			_, err := ParseDimension(string(dim))
			return nil, err
		}
		from, fromArgs := q.sessionsFrom(key+" AS s_key", colVisitor, colPageviews)
		query = `SELECT s_key, uniqExact(s_visitor) AS visitors, count() AS sessions, sum(s_pageviews) AS pageviews
FROM ` + from + `
GROUP BY s_key
ORDER BY sessions DESC, pageviews DESC, s_key
LIMIT ` + strconv.Itoa(limit)
		args = fromArgs
	}
	rows, err := r.q.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("report: %s of %s: %w", dim, q.Site, err)
	}
	defer rows.Close()
	out := []Row{}
	for rows.Next() {
		var row Row
		if err := rows.Scan(&row.Key, &row.Visitors, &row.Sessions, &row.Pageviews); err != nil {
			return nil, fmt.Errorf("report: %s of %s: %w", dim, q.Site, err)
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("report: %s of %s: %w", dim, q.Site, err)
	}
	return out, nil
}

// pagesQuery counts pageview events of sessions that started in range, so
// that the pages' pageviews add up to Summary's. The ts conditions only
// narrow the parts and the primary-key range (events sort by toDate(ts)):
// a session's events lie within sessionSpan after its start, and a late
// event can precede the start by at most the inactivity gap.
func pagesQuery(q Query, limit int) (string, []any) {
	bot := ""
	if !q.IncludeBots {
		bot = "\n  AND is_bot = 0"
	}
	lo, hi := q.From.Add(-24*time.Hour), q.To.Add(sessionSpan)
	query := `SELECT pathname, uniqExact(visitor_id) AS visitors, uniqExact(session_id) AS sessions, uniqExact(event_id) AS pageviews
FROM events
WHERE site_id = ?
  AND toDate(ts) BETWEEN toDate(toDateTime(?)) AND toDate(toDateTime(?))
  AND ts >= toDateTime(?) AND ts < toDateTime(?)
  AND session_started_at >= toDateTime(?) AND session_started_at < toDateTime(?)
  AND kind = 'pageview'` + bot + `
GROUP BY pathname
ORDER BY pageviews DESC, sessions DESC, pathname
LIMIT ` + strconv.Itoa(limit)
	return query, []any{q.Site, lo.Unix(), ceilSec(hi), lo.Unix(), ceilSec(hi), q.fromSec(), q.toSec()}
}
