package report

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/teller-analytics/teller/pkg/store"
)

// maxPoints bounds the points of one series (about 55 years of days, or 2
// years of hours).
const maxPoints = 20000

// Metric is what a series plots, by its URL name.
type Metric string

// The metrics of a series.
const (
	MetricVisitors    Metric = "visitors"
	MetricSessions    Metric = "sessions"
	MetricPageviews   Metric = "pageviews"
	MetricBounceRate  Metric = "bounce_rate"  // 0..1
	MetricAvgDuration Metric = "avg_duration" // seconds
	MetricEvents      Metric = "events"       // custom events
)

// Metrics lists the metrics.
func Metrics() []Metric {
	return []Metric{MetricVisitors, MetricSessions, MetricPageviews, MetricBounceRate, MetricAvgDuration, MetricEvents}
}

// ParseMetric checks a metric name from a request; "" is visitors.
func ParseMetric(s string) (Metric, error) {
	if s == "" {
		return MetricVisitors, nil
	}
	for _, m := range Metrics() {
		if string(m) == s {
			return m, nil
		}
	}
	return "", fmt.Errorf("%w: unknown metric %q (want one of %v)", ErrInvalidQuery, clip(s), Metrics())
}

// Interval is the width of a series' buckets, in the site's time zone.
type Interval string

// The intervals. A week starts on Monday.
const (
	Hour  Interval = "hour"
	Day   Interval = "day"
	Week  Interval = "week"
	Month Interval = "month"
)

// Intervals lists the intervals.
func Intervals() []Interval { return []Interval{Hour, Day, Week, Month} }

// ParseInterval checks an interval name from a request; "" stays "" (the
// caller then uses DefaultInterval).
func ParseInterval(s string) (Interval, error) {
	if s == "" {
		return "", nil
	}
	for _, iv := range Intervals() {
		if string(iv) == s {
			return iv, nil
		}
	}
	return "", fmt.Errorf("%w: unknown interval %q (want one of %v)", ErrInvalidQuery, clip(s), Intervals())
}

// DefaultInterval suits a range's length: hours up to 2 days, days up to
// 92, weeks up to a year, months beyond.
func DefaultInterval(from, to time.Time) Interval {
	switch d := to.Sub(from); {
	case d <= 48*time.Hour:
		return Hour
	case d <= 92*24*time.Hour:
		return Day
	case d <= 366*24*time.Hour:
		return Week
	}
	return Month
}

// Point is one bucket of a series. Every figure is given; Value is the one
// the series was asked for.
type Point struct {
	// Start is the bucket's first instant, in the series' zone.
	Start time.Time
	// Label is the bucket in that zone: "2024-03-10 14:00" for an hour,
	// "2024-03-10" for a day or a week (its Monday), "2024-03" for a month.
	Label string
	// Value is the chosen metric.
	Value float64
	// The figures of the sessions that started in the bucket.
	Visitors, Sessions, Pageviews, Events uint64
	BounceRate, AvgDurationSec            float64
}

// bucketKey is the SQL of a bucket's key over a time column, in the zone
// bound by the ? arguments (the count is returned): what toStartOfInterval
// would do, with the functions ClickHouse 18.16 has.
func bucketKey(iv Interval, col string) (string, int) {
	switch iv {
	case Hour:
		return "toString(toStartOfHour(" + col + ", ?), ?)", 2
	case Week:
		return "toString(toMonday(" + col + ", ?))", 1
	case Month:
		return "toString(toStartOfMonth(" + col + ", ?))", 1
	}
	return "toString(toDate(" + col + ", ?))", 1
}

// bucket is one bucket of [from, to) in loc: its start, the key bucketKey
// yields for it and its label.
type bucket struct {
	start      time.Time
	key, label string
}

// buckets lists the buckets of [from, to) in loc, from the one holding from
// to the one holding the last instant before to.
func buckets(from, to time.Time, loc *time.Location, iv Interval) ([]bucket, error) {
	first := func(t time.Time) time.Time {
		t = t.In(loc)
		y, m, d := t.Date()
		switch iv {
		case Hour:
			return time.Date(y, m, d, t.Hour(), 0, 0, 0, loc)
		case Week:
			back := (int(t.Weekday()) + 6) % 7
			return time.Date(y, m, d-back, 0, 0, 0, 0, loc)
		case Month:
			return time.Date(y, m, 1, 0, 0, 0, 0, loc)
		}
		return time.Date(y, m, d, 0, 0, 0, 0, loc)
	}
	next := func(t time.Time) time.Time {
		y, m, d := t.Date()
		switch iv {
		case Hour:
			// Across a DST change an hour may repeat or vanish: step by
			// the instant, then back to the local hour's start.
			n := first(t.Add(time.Hour))
			if !n.After(t) {
				n = first(t.Add(2 * time.Hour))
			}
			return n
		case Week:
			return time.Date(y, m, d+7, 0, 0, 0, 0, loc)
		case Month:
			return time.Date(y, m+1, 1, 0, 0, 0, 0, loc)
		}
		return time.Date(y, m, d+1, 0, 0, 0, 0, loc)
	}
	var out []bucket
	seen := map[string]bool{}
	for b := first(from); b.Before(to); b = next(b) {
		if len(out) >= maxPoints {
			return nil, fmt.Errorf("%w: more than %d points of %s in a series", ErrInvalidQuery, maxPoints, iv)
		}
		k := bucket{start: b}
		switch iv {
		case Hour:
			k.key, k.label = b.Format("2006-01-02 15:00:00"), b.Format("2006-01-02 15:00")
		case Month:
			k.key, k.label = b.Format(time.DateOnly), b.Format("2006-01")
		default:
			k.key, k.label = b.Format(time.DateOnly), b.Format(time.DateOnly)
		}
		if seen[k.key] {
			continue
		}
		seen[k.key] = true
		out = append(out, k)
	}
	return out, nil
}

// zoneName checks loc for SQL: a named IANA zone (nil is UTC).
func zoneName(loc *time.Location) (*time.Location, string, error) {
	if loc == nil {
		loc = time.UTC
	}
	tz := loc.String()
	if tz == "Local" || tz == "" {
		return nil, "", fmt.Errorf("%w: time zone must be a named IANA zone, not %q", ErrInvalidQuery, tz)
	}
	return loc, tz, nil
}

// seriesFrame is what a series over [q.From, q.To) in loc needs: its
// interval (iv, or the range's default when empty), the zone's name for the
// SQL, and the buckets to fill.
func seriesFrame(q Query, loc *time.Location, iv Interval) (Interval, string, []bucket, error) {
	loc, tz, err := zoneName(loc)
	if err != nil {
		return "", "", nil, err
	}
	if iv == "" {
		iv = DefaultInterval(q.From, q.To)
	} else if iv, err = ParseInterval(string(iv)); err != nil {
		return "", "", nil, err
	}
	bs, err := buckets(q.From, q.To, loc, iv)
	if err != nil {
		return "", "", nil, err
	}
	return iv, tz, bs, nil
}

// zoneArgs repeats tz n times, for bucketKey's arguments.
func zoneArgs(tz string, n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = tz
	}
	return out
}

// Series returns one point per interval of [q.From, q.To) in loc, the empty
// ones included with zeros. A session counts in the bucket it started in
// (in loc). Buckets are local times, so the hour a DST change repeats is
// one point (its two hours together) and the hour it skips has none. loc must be a named IANA zone (time.LoadLocation); nil is UTC.
func (r *Reports) Series(ctx context.Context, q Query, loc *time.Location, m Metric, iv Interval) ([]Point, error) {
	if err := q.validate(); err != nil {
		return nil, err
	}
	var err error
	if m, err = ParseMetric(string(m)); err != nil {
		return nil, err
	}
	iv, tz, bs, err := seriesFrame(q, loc, iv)
	if err != nil {
		return nil, err
	}
	key, n := bucketKey(iv, "s_started")
	if cut, ok := r.split(q, q.From); ok {
		// The buckets' figures, the closed part's kept (closed.go).
		rows, err := r.summaries(ctx, q, cut, "["+key+"]", zoneArgs(tz, n))
		if err == nil {
			ps := newPointSet(bs)
			for k, s := range rows {
				ps.add(k, s)
			}
			return ps.series(m), nil
		}
		if !errors.Is(err, errNotKept) {
			return nil, fmt.Errorf("report: series of %s: %w", q.Site, err)
		}
	}
	from, args := q.sessionsFrom(append([]string{colStarted}, summaryCols...)...)
	query := "SELECT " + key + " AS bucket, " + summaryAggs + "\nFROM " + from + "\nGROUP BY bucket\nORDER BY bucket"
	ps := newPointSet(bs)
	err = r.each(ctx, query, append(zoneArgs(tz, n), args...), func(rows store.Rows) error {
		k, s, err := scanBucket(rows)
		if err == nil {
			ps.add(k, s)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("report: series of %s: %w", q.Site, err)
	}
	return ps.series(m), nil
}

// scanBucket reads a row of a bucket's key and summaryAggs.
func scanBucket(rows store.Rows) (string, Summary, error) {
	var k string
	var s Summary
	var sc summaryScan
	if err := rows.Scan(append([]any{&k}, sc.dest(&s)...)...); err != nil {
		return "", Summary{}, err
	}
	sc.finish(&s)
	return k, s, nil
}

// pointSet fills a series' buckets with the figures of the rows read.
type pointSet struct {
	points []Point
	index  map[string]int
}

func newPointSet(bs []bucket) *pointSet {
	ps := &pointSet{points: make([]Point, len(bs)), index: make(map[string]int, len(bs))}
	for i, b := range bs {
		ps.points[i] = Point{Start: b.start, Label: b.label}
		ps.index[b.key] = i
	}
	return ps
}

// add sets the figures of the bucket with key k.
func (ps *pointSet) add(k string, s Summary) {
	p := Point{Label: k, Visitors: s.Visitors, Sessions: s.Sessions, Pageviews: s.Pageviews, Events: s.Events,
		BounceRate: s.BounceRate, AvgDurationSec: s.AvgDurationSec}
	if i, ok := ps.index[k]; ok {
		p.Start, p.Label = ps.points[i].Start, ps.points[i].Label
		ps.points[i] = p
		return
	}
	// Only if ClickHouse's zone rules disagree with Go's: keep the
	// figures rather than drop them.
	ps.points = append(ps.points, p)
}

// series is the points with metric m as their value, in label order.
func (ps *pointSet) series(m Metric) []Point {
	for i := range ps.points {
		ps.points[i].Value = ps.points[i].metric(m)
	}
	sort.SliceStable(ps.points, func(i, j int) bool { return ps.points[i].Label < ps.points[j].Label })
	return ps.points
}

func (p Point) metric(m Metric) float64 {
	switch m {
	case MetricSessions:
		return float64(p.Sessions)
	case MetricPageviews:
		return float64(p.Pageviews)
	case MetricBounceRate:
		return p.BounceRate
	case MetricAvgDuration:
		return p.AvgDurationSec
	case MetricEvents:
		return float64(p.Events)
	}
	return float64(p.Visitors)
}

// DayPoint is one day of a series.
type DayPoint struct {
	// Day is the date in the site's time zone, YYYY-MM-DD.
	Day string
	// Visitors, Sessions and Pageviews are of the sessions that started on
	// that day (in that zone).
	Visitors, Sessions, Pageviews uint64
}

// Timeseries returns one point per day of [q.From, q.To) in loc, the days
// without sessions included with zeros: Series by day, with the first
// API's figures. A session counts on the day it started in loc: 23:30 UTC
// is the next day in Europe/Berlin. loc must be a named IANA zone
// (time.LoadLocation); nil means UTC.
func (r *Reports) Timeseries(ctx context.Context, q Query, loc *time.Location) ([]DayPoint, error) {
	points, err := r.Series(ctx, q, loc, MetricVisitors, Day)
	if err != nil {
		return nil, err
	}
	out := make([]DayPoint, len(points))
	for i, p := range points {
		out[i] = DayPoint{Day: p.Label, Visitors: p.Visitors, Sessions: p.Sessions, Pageviews: p.Pageviews}
	}
	return out, nil
}
