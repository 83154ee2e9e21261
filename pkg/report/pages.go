package report

import (
	"context"
	"fmt"
	"strconv"

	"github.com/teller-analytics/teller/pkg/store"
)

// PageEngagement is how a page was read: its pageviews, and what the
// snippet's engagement events (sent when the page is hidden) reported.
type PageEngagement struct {
	Path      string
	Pageviews uint64
	Visitors  uint64
	// AvgEngagedSec is the mean engaged time of the page's engagement
	// events, in seconds (0 when it has none).
	AvgEngagedSec float64
	// AvgScroll and MedianScroll are the mean and median, over the
	// sessions that reported any, of the deepest scroll (percent) a session
	// reached on the page.
	AvgScroll, MedianScroll float64
}

// PageEngagement lists q's pages by pageviews with their engagement time
// and scroll depth, at most limit (1..MaxLimit). Like the page breakdown,
// page filters also select the rows.
func (r *Reports) PageEngagement(ctx context.Context, q Query, limit int) ([]PageEngagement, error) {
	if err := q.validate(); err != nil {
		return nil, err
	}
	if err := checkLimit(limit); err != nil {
		return nil, err
	}
	where, args := q.eventRowsWhere(Pages, "kind IN ('pageview', 'engagement')")
	// Innermost: one row per event (rows of the same event may not be
	// merged yet); then one per session and page; then one per page.
	query := `SELECT p, sum(pv) AS pageviews, uniqExactIf(v, pv > 0),
       if(sum(eng_n) = 0, 0, sum(eng_ms) / sum(eng_n) / 1000),
       if(countIf(eng_n > 0) = 0, 0, avgIf(max_scroll, eng_n > 0)),
       if(countIf(eng_n > 0) = 0, 0, toFloat64(quantileExactIf(0.5)(max_scroll, eng_n > 0)))
FROM (SELECT p, s, any(v) AS v, countIf(k = 'pageview') AS pv, sumIf(ms, k = 'engagement') AS eng_ms,
             countIf(k = 'engagement') AS eng_n, maxIf(sd, k = 'engagement') AS max_scroll
      FROM (SELECT event_id, any(pathname) AS p, any(session_id) AS s, any(visitor_id) AS v, toString(any(kind)) AS k,
                   any(engaged_ms) AS ms, any(scroll_depth) AS sd
            FROM events
            WHERE ` + where + `
            GROUP BY event_id)
      GROUP BY p, s)
GROUP BY p
HAVING pageviews > 0
ORDER BY pageviews DESC, p
LIMIT ` + strconv.Itoa(limit)
	out := []PageEngagement{}
	err := r.each(ctx, query, args, func(rows store.Rows) error {
		var p PageEngagement
		if err := rows.Scan(&p.Path, &p.Pageviews, &p.Visitors, &p.AvgEngagedSec, &p.AvgScroll, &p.MedianScroll); err != nil {
			return err
		}
		out = append(out, p)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("report: page engagement of %s: %w", q.Site, err)
	}
	return out, nil
}

// PropRow is one property value of a custom event.
type PropRow struct {
	Key, Value                 string
	Visitors, Sessions, Events uint64
}

// EventProps breaks the custom event named event down by its properties
// (key and value), most frequent first, at most limit (1..MaxLimit).
func (r *Reports) EventProps(ctx context.Context, q Query, event string, limit int) ([]PropRow, error) {
	if err := q.validate(); err != nil {
		return nil, err
	}
	if err := checkLimit(limit); err != nil {
		return nil, err
	}
	if err := (FunnelStep{Kind: GoalEvent, Pattern: event}).Validate(); err != nil {
		return nil, fmt.Errorf("event properties: %w", err)
	}
	where, args := q.eventRowsWhere(Events, "name = ?", event)
	query := `SELECT k, v, uniqExact(visitor_id), uniqExact(session_id), uniqExact(event_id) AS n
FROM events
ARRAY JOIN props_keys AS k, props_values AS v
WHERE ` + where + `
GROUP BY k, v
ORDER BY n DESC, k, v
LIMIT ` + strconv.Itoa(limit)
	out := []PropRow{}
	err := r.each(ctx, query, args, func(rows store.Rows) error {
		var p PropRow
		if err := rows.Scan(&p.Key, &p.Value, &p.Visitors, &p.Sessions, &p.Events); err != nil {
			return err
		}
		out = append(out, p)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("report: properties of %s events of %s: %w", clip(event), q.Site, err)
	}
	return out, nil
}
