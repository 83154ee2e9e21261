package report

import (
	"context"
	"fmt"
	"sort"
	"time"
)

// maxDays bounds the days of one series (about 55 years).
const maxDays = 20000

// DayPoint is one day of a series.
type DayPoint struct {
	// Day is the date in the site's time zone, YYYY-MM-DD.
	Day string
	// Visitors, Sessions and Pageviews are of the sessions that started on
	// that day (in that zone).
	Visitors, Sessions, Pageviews uint64
}

// Timeseries returns one point per day of [q.From, q.To) in loc, the days
// without sessions included with zeros. A session counts on the day it
// started in loc: 23:30 UTC is the next day in Europe/Berlin. loc must be a
// named IANA zone (time.LoadLocation); nil means UTC.
func (r *Reports) Timeseries(ctx context.Context, q Query, loc *time.Location) ([]DayPoint, error) {
	if err := q.validate(); err != nil {
		return nil, err
	}
	if loc == nil {
		loc = time.UTC
	}
	tz := loc.String()
	if tz == "Local" || tz == "" {
		return nil, fmt.Errorf("%w: time zone must be a named IANA zone, not %q", ErrInvalidQuery, tz)
	}
	days, err := daysBetween(q.From, q.To, loc)
	if err != nil {
		return nil, err
	}
	from, args := q.sessionsFrom(colVisitor, colStarted, colPageviews)
	query := `SELECT toString(toDate(s_started, ?)) AS day, uniqExact(s_visitor), count(), sum(s_pageviews)
FROM ` + from + `
GROUP BY day
ORDER BY day`
	rows, err := r.q.Query(ctx, query, append([]any{tz}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("report: timeseries of %s: %w", q.Site, err)
	}
	defer rows.Close()
	index := make(map[string]int, len(days))
	for i, d := range days {
		index[d.Day] = i
	}
	for rows.Next() {
		var p DayPoint
		if err := rows.Scan(&p.Day, &p.Visitors, &p.Sessions, &p.Pageviews); err != nil {
			return nil, fmt.Errorf("report: timeseries of %s: %w", q.Site, err)
		}
		if i, ok := index[p.Day]; ok {
			days[i] = p
			continue
		}
		// Only if ClickHouse's zone rules disagree with Go's: keep the
		// figures rather than drop them.
		days = append(days, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("report: timeseries of %s: %w", q.Site, err)
	}
	sort.SliceStable(days, func(i, j int) bool { return days[i].Day < days[j].Day })
	return days, nil
}

// daysBetween lists the dates in loc from from's to the one of the last
// instant before to, as zero points.
func daysBetween(from, to time.Time, loc *time.Location) ([]DayPoint, error) {
	civil := func(t time.Time) time.Time {
		y, m, d := t.In(loc).Date()
		return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	}
	first, last := civil(from), civil(to.Add(-time.Nanosecond))
	n := int(last.Sub(first).Hours()/24) + 1
	if n > maxDays {
		return nil, fmt.Errorf("%w: %d days is more than a series holds (%d)", ErrInvalidQuery, n, maxDays)
	}
	out := make([]DayPoint, 0, n)
	for d := first; !d.After(last); d = d.AddDate(0, 0, 1) {
		out = append(out, DayPoint{Day: d.Format(time.DateOnly)})
	}
	return out, nil
}
