package report

import (
	"context"
	"strconv"
	"strings"

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
	days := q.sessionDays()
	return `(SELECT session_id FROM session_versions
  WHERE site_id = ?
    AND session_date BETWEEN toDate(?) AND toDate(?)
    AND started_at >= toDateTime(?) AND started_at < toDateTime(?)
    AND pageviews > ? AND has(pages, '` + otherPages + `'))`, []any{q.Site, day(days.first), day(days.last), q.fromSec(), q.toSec(), session.MaxPages}
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
	rows, args := q.sessionsFrom(colVisitor, "pages AS s_pages", "page_views AS s_page_views")
	inner := `SELECT session_id AS p_session, s_visitor AS p_visitor, p_key, toUInt64(p_n) AS p_views
      FROM ` + rows + `
      ARRAY JOIN s_pages AS p_key, s_page_views AS p_n
      WHERE NOT has(s_pages, '` + otherPages + `')`
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
	var cond []string
	for _, f := range q.Filters {
		if f.Dimension == Pages {
			c, arg := f.cond("p_key")
			cond, args = append(cond, c), append(args, arg)
		}
	}
	query := `SELECT p_key, uniqExact(p_visitor) AS visitors, count() AS sessions, sum(p_views) AS pageviews,
       toUInt64(0) AS events, toUInt64(0), toUInt64(0)
FROM (` + inner + `)`
	if len(cond) > 0 {
		query += "\nWHERE " + strings.Join(cond, " AND ")
	}
	return query + `
GROUP BY p_key
ORDER BY pageviews DESC, sessions DESC, p_key
LIMIT ` + strconv.Itoa(limit), args
}
