package report

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/teller-analytics/teller/pkg/store"
)

// CompletenessDay compares, for one day, what the collectors accepted with
// what reached the events table.
type CompletenessDay struct {
	// Day is the date in the report's zone, YYYY-MM-DD.
	Day string
	// Accepted is the events the collectors accepted for the site that day
	// (table collector_accepted; 0 when no collector records them).
	Accepted uint64
	// Stored is the distinct events of the site received that day (table
	// events, by receive time), bots included as the collector accepts them.
	Stored uint64
}

// Completeness lists the days of [q.From, q.To) in loc with the events
// accepted and stored, zeros included. Filters and IncludeBots do not
// apply: both sides count every event.
func (r *Reports) Completeness(ctx context.Context, q Query, loc *time.Location) ([]CompletenessDay, error) {
	q.Filters = nil
	if err := q.validate(); err != nil {
		return nil, err
	}
	loc, tz, err := zoneName(loc)
	if err != nil {
		return nil, err
	}
	bs, err := buckets(q.From, q.To, loc, Day)
	if err != nil {
		return nil, err
	}
	days := make([]CompletenessDay, len(bs))
	index := map[string]int{}
	for i, b := range bs {
		days[i].Day = b.key
		index[b.key] = i
	}
	from, to := q.fromSec(), q.toSec()
	// A minute's row holds that collector's running count for it: the
	// latest version is the figure, and summing versions would count twice.
	accepted := `SELECT toString(toDate(minute_at, ?)) AS d, sum(n)
FROM (SELECT collector_id, minute_at, argMax(accepted, updated_ms) AS n
      FROM collector_accepted
      WHERE site_id = ? AND minute_at >= toDateTime(?) AND minute_at < toDateTime(?)
      GROUP BY collector_id, minute_at)
GROUP BY d`
	err = r.each(ctx, accepted, []any{tz, q.Site, from, to}, func(rows store.Rows) error {
		var d string
		var n uint64
		if err := rows.Scan(&d, &n); err != nil {
			return err
		}
		if i, ok := index[d]; ok {
			days[i].Accepted = n
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("report: accepted events of %s: %w", q.Site, err)
	}
	if cut, ok := r.split(q, q.From); ok {
		// The closed days' counts kept (closed.go): an event id has one ts,
		// so the counts on either side of the cut add up, even within the
		// local day that holds it.
		g := grouping{stmt: func(part Query) (string, []any) {
			where, args := storedWhere(part)
			return "SELECT toString(toDate(ts, ?)) AS g_key, CAST([] AS Array(UUID)) AS g_ids0, uniqExact(event_id)\nFROM events\nWHERE " +
				where + "\nGROUP BY g_key", append([]any{tz}, args...)
		}, mark: func(part Query) markStmt {
			where, args := storedWhere(part)
			return markStmt{table: "events", hash: "cityHash64(reinterpretAsString(event_id), ts)", where: where, args: args}
		}}
		rows, err := r.groups(ctx, q, cut, g, 1)
		if err == nil {
			for d, row := range rows {
				if i, ok := index[d]; ok {
					days[i].Stored = row[1]
				}
			}
			return days, nil
		}
		if !errors.Is(err, errNotKept) {
			return nil, fmt.Errorf("report: stored events of %s: %w", q.Site, err)
		}
	}
	where, args := storedWhere(q)
	stored := "SELECT toString(toDate(ts, ?)) AS d, uniqExact(event_id)\nFROM events\nWHERE " + where + "\nGROUP BY d"
	err = r.each(ctx, stored, append([]any{tz}, args...), func(rows store.Rows) error {
		var d string
		var n uint64
		if err := rows.Scan(&d, &n); err != nil {
			return err
		}
		if i, ok := index[d]; ok {
			days[i].Stored = n
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("report: stored events of %s: %w", q.Site, err)
	}
	return days, nil
}

// storedWhere selects the events received in [q.From, q.To) of q's site.
func storedWhere(q Query) (string, []any) {
	from, to := q.fromSec(), q.toSec()
	return `site_id = ?
  AND toDate(ts) BETWEEN toDate(toDateTime(?)) AND toDate(toDateTime(?))
  AND ts >= toDateTime(?) AND ts < toDateTime(?)`, []any{q.Site, from, to, from, to}
}
