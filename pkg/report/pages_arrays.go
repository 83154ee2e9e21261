package report

import (
	"cmp"
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/teller-analytics/teller/pkg/session"
	"github.com/teller-analytics/teller/pkg/store"
)

// otherPages is the path under which a session row counts the pageviews of
// the pages beyond its first session.MaxPages.
const otherPages = session.OtherPages

// overflowedFrom is the subquery of the sessions of q's range any of whose
// rows in session_versions counts pageviews under otherPages, and its
// arguments. It reads every version, without FINAL (a session's pages only
// grow, and a session counted here that did not overflow is still counted
// exactly, from events), so it needs no merge; and only a session of more
// pageviews than session.MaxPages can have overflowed, so ClickHouse reads
// the page arrays of those few alone (the condition goes to PREWHERE).
func (q Query) overflowedFrom() (string, []any) {
	rows, args := q.sessionRows(q.sessionDays())
	return `(SELECT session_id FROM session_versions
  WHERE ` + rows + `
    AND pageviews > ? AND has(pages, '` + otherPages + `'))`, append(args, session.MaxPages)
}

// pagesOverflowed reports whether any session of q's range has overflowed
// its page arrays, so that the pages report must read some events.
func (r *Reports) pagesOverflowed(ctx context.Context, q Query) (bool, error) {
	from, args := q.overflowedFrom()
	found := false
	err := r.each(ctx, "SELECT count() FROM (SELECT session_id FROM "+from+" LIMIT 1)", args, func(rows store.Rows) error {
		var n uint64
		if err := rows.Scan(&n); err != nil {
			return err
		}
		found = n > 0
		return nil
	})
	return found, err
}

// pagesQuery ranks the pages of q's sessions by pageviews. A session row
// holds its distinct pages and their pageviews (pages, page_views), each
// event counted once, so the report reads them and not the range's events:
// the same sessions as Summary (a bot-flagged session is left out unless
// q.IncludeBots, all of its pageviews), so the pages' pageviews add up to
// Summary's. The pages of the sessions that overflowed into otherPages
// (overflowed: pagesOverflowed found some) are read from events instead,
// each event id once, by session id (an empty set of them reads no event).
// A (session, page) is one row on either side, so a page's sessions are
// count(). Page filters also select the rows, as in eventRowsQuery. A row
// holding otherPages is never read as pages: a session that overflows
// between the check and this query is left out of this one answer rather
// than shown with an "(other)" page.
func pagesQuery(q Query, overflowed bool, limit int) (string, []any) {
	inner, args := pageRows(q)
	if overflowed {
		// The overflowed sessions, from events; the others, from their rows.
		over, overArgs := q.overflowedFrom()
		where, whereArgs := q.eventsWhere()
		kept, keptArgs := q.sessionsWhere("session_id IN "+over, overArgs)
		inner += `
        AND session_id NOT IN ` + over + `
      UNION ALL
      SELECT session_id, any(visitor_id), pathname, uniqExact(event_id)
      FROM events
      WHERE ` + where + `
        AND kind = 'pageview'
        AND session_id IN ` + over + `
        AND session_id IN (SELECT session_id FROM ` + kept + `)
      GROUP BY session_id, pathname`
		args = append(append(append(append(args, overArgs...), whereArgs...), overArgs...), keptArgs...)
	}
	where, whereArgs := pageFilters(q)
	query := `SELECT p_key, uniqExact(p_visitor) AS visitors, count() AS sessions, sum(p_views) AS pageviews,
       toUInt64(0) AS events, toUInt64(0), toUInt64(0)
FROM (` + inner + `)` + where
	args = append(args, whereArgs...)
	return query + `
GROUP BY p_key
ORDER BY pageviews DESC, sessions DESC, p_key
LIMIT ` + strconv.Itoa(limit), args
}

// pageRows is the subquery of q's (session, page) rows from the session
// rows' page arrays, sessions that overflowed them left out (pagesQuery
// adds theirs from events), and its arguments.
func pageRows(q Query) (string, []any) {
	rows, args := q.sessionsFrom(colVisitor, "pages AS s_pages", "page_views AS s_page_views")
	return `SELECT session_id AS p_session, s_visitor AS p_visitor, p_key, toUInt64(p_n) AS p_views
      FROM ` + rows + `
      ARRAY JOIN s_pages AS p_key, s_page_views AS p_n
      WHERE NOT has(s_pages, '` + otherPages + `')`, args
}

// pageFilters is the WHERE that q's page filters put on the pages' rows
// (empty without any), and its arguments.
func pageFilters(q Query) (string, []any) {
	var cond []string
	var args []any
	for _, f := range q.Filters {
		if f.Dimension == Pages {
			c, arg := f.cond("p_key")
			cond, args = append(cond, c), append(args, arg)
		}
	}
	if len(cond) == 0 {
		return "", nil
	}
	return "\nWHERE " + strings.Join(cond, " AND "), args
}

// pagesSplit is pagesQuery on a ClosedCache (closed.go), for a range none
// of whose sessions overflowed: every page merged, then ranked as
// pagesQuery ranks them (pageviews, sessions, path).
func (r *Reports) pagesSplit(ctx context.Context, q Query, cut time.Time, limit int) ([]Row, error) {
	g := grouping{cols: []string{"pages", "page_views"}, stmt: func(part Query) (string, []any) {
		inner, args := pageRows(part)
		where, whereArgs := pageFilters(part)
		return groupSelect("p_key", "p_visitor", "count()", "sum(p_views)") + "\nFROM (" + inner + ")" + where +
			"\nGROUP BY g_key", append(args, whereArgs...)
	}}
	groups, err := r.groups(ctx, q, cut, g, 2)
	if err != nil {
		return nil, err
	}
	rows := make([]Row, 0, len(groups))
	for k, v := range groups {
		rows = append(rows, Row{Key: k, Visitors: v[0], Sessions: v[1], Pageviews: v[2]})
	}
	return topRows(rows, limit, func(a, b Row) int {
		return cmp.Or(cmp.Compare(b.Pageviews, a.Pageviews), cmp.Compare(b.Sessions, a.Sessions), strings.Compare(a.Key, b.Key))
	}), nil
}
