package report

import (
	"context"
	"fmt"
	"time"

	"github.com/teller-analytics/teller/pkg/store"
)

// RealtimeWindow is how far back "now" reaches in the realtime report.
const RealtimeWindow = 5 * time.Minute

// realtimePages bounds the pages the realtime report lists.
const realtimePages = 50

// Realtime is who is on the site now.
type Realtime struct {
	// Visitors is the number of distinct visitors with an event in the
	// last RealtimeWindow (by event time).
	Visitors uint64
	// Pages are the pages those visitors are on (each visitor's latest
	// event), by visitors; Row.Visitors is set, the other figures are 0.
	Pages []Row
}

// Realtime reports the visitors of site with an event in (now -
// RealtimeWindow, now] and the page each is on. Bot events are left out
// unless includeBots.
func (r *Reports) Realtime(ctx context.Context, site string, now time.Time, includeBots bool) (Realtime, error) {
	if site == "" {
		return Realtime{}, fmt.Errorf("%w: site is empty", ErrInvalidQuery)
	}
	from, to := now.Add(-RealtimeWindow).Unix(), now.Unix()
	where := `site_id = ?
  AND toDate(ts) BETWEEN toDate(toDateTime(?)) AND toDate(toDateTime(?))
  AND ts > toDateTime(?) AND ts <= toDateTime(?)`
	args := []any{site, from, to, from, to}
	if !includeBots {
		where += "\n  AND is_bot = 0"
	}
	var rt Realtime
	err := r.each(ctx, "SELECT uniqExact(visitor_id)\nFROM events\nWHERE "+where, args, func(rows store.Rows) error {
		return rows.Scan(&rt.Visitors)
	})
	if err != nil {
		return Realtime{}, fmt.Errorf("report: realtime visitors of %s: %w", site, err)
	}
	query := `SELECT page, count() AS visitors
FROM (SELECT visitor_id, argMax(pathname, ts_ms) AS page
      FROM events
      WHERE ` + where + `
      GROUP BY visitor_id)
GROUP BY page
ORDER BY visitors DESC, page
LIMIT ` + fmt.Sprint(realtimePages)
	rt.Pages = []Row{}
	err = r.each(ctx, query, args, func(rows store.Rows) error {
		var row Row
		if err := rows.Scan(&row.Key, &row.Visitors); err != nil {
			return err
		}
		rt.Pages = append(rt.Pages, row)
		return nil
	})
	if err != nil {
		return Realtime{}, fmt.Errorf("report: realtime pages of %s: %w", site, err)
	}
	return rt, nil
}
