package dashboard

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/teller-analytics/teller/pkg/report"
)

// The JSON API: the same reports as the pages, through the same cores (the
// functions named after each report below), with the same URL parameters
// (view.go). docs/api.md documents it.

// Default row counts of the JSON API.
const (
	apiBreakdownLimit = 10
	apiSessionsLimit  = 50
)

type apiRange struct {
	Site        string   `json:"site"`
	From        string   `json:"from"`
	To          string   `json:"to"`
	Timezone    string   `json:"timezone"`
	IncludeBots bool     `json:"include_bots"`
	Filters     []string `json:"filters"`
}

type apiFigures struct {
	Visitors            uint64  `json:"visitors"`
	Sessions            uint64  `json:"sessions"`
	Pageviews           uint64  `json:"pageviews"`
	Events              uint64  `json:"events"`
	BounceRate          float64 `json:"bounce_rate"`
	AvgDurationSec      float64 `json:"avg_duration_sec"`
	PageviewsPerSession float64 `json:"pageviews_per_session"`
}

type apiChange struct {
	Visitors            *float64 `json:"visitors"`
	Sessions            *float64 `json:"sessions"`
	Pageviews           *float64 `json:"pageviews"`
	Events              *float64 `json:"events"`
	BounceRate          *float64 `json:"bounce_rate"`
	AvgDurationSec      *float64 `json:"avg_duration_sec"`
	PageviewsPerSession *float64 `json:"pageviews_per_session"`
}

type apiSummary struct {
	apiRange
	apiFigures
	// Previous and Change are left out with compare=off.
	Previous *apiFigures `json:"previous,omitempty"`
	Change   *apiChange  `json:"change,omitempty"`
}

func figures(s report.Summary) apiFigures {
	return apiFigures{Visitors: s.Visitors, Sessions: s.Sessions, Pageviews: s.Pageviews, Events: s.Events,
		BounceRate: s.BounceRate, AvgDurationSec: s.AvgDurationSec, PageviewsPerSession: s.PageviewsPerSession}
}

type apiRow struct {
	Key            string  `json:"key"`
	Label          string  `json:"label"`
	Visitors       uint64  `json:"visitors"`
	Sessions       uint64  `json:"sessions"`
	Pageviews      uint64  `json:"pageviews"`
	Events         uint64  `json:"events"`
	BounceRate     float64 `json:"bounce_rate"`
	AvgDurationSec float64 `json:"avg_duration_sec"`
}

type apiBreakdown struct {
	apiRange
	Dimension string   `json:"dimension"`
	Rows      []apiRow `json:"rows"`
}

type apiDay struct {
	Day       string `json:"day"`
	Visitors  uint64 `json:"visitors"`
	Sessions  uint64 `json:"sessions"`
	Pageviews uint64 `json:"pageviews"`
}

type apiTimeseries struct {
	apiRange
	Days []apiDay `json:"days"`
}

type apiPoint struct {
	Start          time.Time `json:"start"`
	Label          string    `json:"label"`
	Value          float64   `json:"value"`
	Visitors       uint64    `json:"visitors"`
	Sessions       uint64    `json:"sessions"`
	Pageviews      uint64    `json:"pageviews"`
	Events         uint64    `json:"events"`
	BounceRate     float64   `json:"bounce_rate"`
	AvgDurationSec float64   `json:"avg_duration_sec"`
}

type apiSeries struct {
	apiRange
	Metric   string     `json:"metric"`
	Interval string     `json:"interval"`
	Points   []apiPoint `json:"points"`
}

type apiSession struct {
	ID          uuid.UUID `json:"id"`
	Visitor     uuid.UUID `json:"visitor_id"`
	Started     time.Time `json:"started"`
	DurationMs  uint64    `json:"duration_ms"`
	Pageviews   uint64    `json:"pageviews"`
	Events      uint64    `json:"events"`
	EntryPath   string    `json:"entry_path"`
	ExitPath    string    `json:"exit_path"`
	Referrer    string    `json:"referrer"`
	Channel     string    `json:"channel"`
	Browser     string    `json:"browser"`
	OS          string    `json:"os"`
	Device      string    `json:"device"`
	StartReason string    `json:"start_reason"`
	Bounce      bool      `json:"bounce"`
}

func apiSessionOf(s report.SessionRow) apiSession {
	return apiSession{ID: s.ID, Visitor: s.Visitor, Started: s.Started.UTC(),
		DurationMs: s.DurationMs, Pageviews: s.Pageviews, Events: s.Events, EntryPath: s.EntryPath, ExitPath: s.ExitPath,
		Referrer: s.Referrer, Channel: s.Channel, Browser: s.Browser, OS: s.OS, Device: s.Device,
		StartReason: s.StartReason, Bounce: s.Bounce}
}

type apiSessions struct {
	apiRange
	Sessions []apiSession `json:"sessions"`
}

// apiView reads the site, view and query of an API request; on failure it
// has answered.
func (d *Dashboard) apiView(c *gin.Context) (view, report.Query, apiRange, bool) {
	s, _, v, q, err := d.siteView(c)
	if err != nil {
		d.fail(c, true, err)
		return view{}, report.Query{}, apiRange{}, false
	}
	head := apiRange{Site: s.ID, From: v.Range.FromString(), To: v.Range.ToString(), Timezone: s.Timezone,
		IncludeBots: v.Range.Bots, Filters: make([]string, 0, len(q.Filters))}
	for _, f := range q.Filters {
		head.Filters = append(head.Filters, f.String())
	}
	return v, q, head, true
}

// apiRequest is what apiView read of a JSON API request: the view, its
// query and the range every answer repeats.
type apiRequest struct {
	view  view
	query report.Query
	head  apiRange
}

// apiReport serves one JSON API route, so that each route states only its
// own parameters and report. paramErr is the error of reading the route's
// own parameters (limit, steps...), answered before anything else, as the
// routes always did: a malformed parameter is a 400 on any site. Then
// apiView checks access and reads the view, and only then does run query,
// with the request's context.
// A failure answers through fail; run's answer goes through apiRows if it
// is apiFields, else as it is. Where run returns an error its answer is
// not used, so a route may return both from its report's call.
func (d *Dashboard) apiReport(c *gin.Context, paramErr error, run func(ctx context.Context, r apiRequest) (any, error)) {
	if paramErr != nil {
		d.fail(c, true, paramErr)
		return
	}
	v, q, head, ok := d.apiView(c)
	if !ok {
		return
	}
	out, err := run(c.Request.Context(), apiRequest{view: v, query: q, head: head})
	if err != nil {
		d.fail(c, true, err)
		return
	}
	if fields, ok := out.(apiFields); ok {
		d.apiRows(c, head, fields)
		return
	}
	c.JSON(http.StatusOK, out)
}

// timedAs runs reports that one query answers together and records its
// duration under each of their names: for each, the time it took to answer.
func (d *Dashboard) timedAs(names []string, f func() error) error {
	start := time.Now()
	err := f()
	for _, n := range names {
		d.metrics.reportSeconds.WithLabelValues(n).Observe(time.Since(start).Seconds())
	}
	return err
}

// summary is the core of the KPIs: the summary, compared with the previous
// period unless the view turns that off.
func (d *Dashboard) summary(ctx context.Context, v view, q report.Query) (report.Comparison, error) {
	key := fmt.Sprintf("summary %t %s", v.CompareOff, queryKey(q, nil))
	return shared(ctx, &d.running, key, func(ctx context.Context) (cmp report.Comparison, err error) {
		err = d.timed("summary", func() (err error) {
			if v.CompareOff {
				cmp.Current, err = d.reports.Summary(ctx, q)
				return err
			}
			cmp, err = d.reports.Compare(ctx, q)
			return err
		})
		return cmp, err
	})
}

// chartOf is the view's metric and interval (or the range's default
// interval).
func chartOf(v view, q report.Query) (report.Metric, report.Interval, error) {
	metric, err := report.ParseMetric(v.Metric)
	if err != nil {
		return "", "", err
	}
	interval, err := report.ParseInterval(v.Interval)
	if err != nil {
		return "", "", err
	}
	if interval == "" {
		interval = report.DefaultInterval(q.From, q.To)
	}
	return metric, interval, nil
}

// series is the core of the chart: the view's metric and interval (or the
// range's default interval).
func (d *Dashboard) series(ctx context.Context, v view, q report.Query) ([]report.Point, report.Metric, report.Interval, error) {
	metric, interval, err := chartOf(v, q)
	if err != nil {
		return nil, "", "", err
	}
	key := fmt.Sprintf("series %s %s %s", metric, interval, queryKey(q, v.Range.Loc))
	points, err := shared(ctx, &d.running, key, func(ctx context.Context) (points []report.Point, err error) {
		err = d.timed("timeseries", func() (err error) {
			points, err = d.reports.Series(ctx, q, v.Range.Loc, metric, interval)
			return err
		})
		return points, err
	})
	return points, metric, interval, err
}

// overview is the core of the site page's head: the KPIs (compared with
// the previous period unless the view turns that off) and the chart, from
// one query.
func (d *Dashboard) overview(ctx context.Context, v view, q report.Query) (report.Overview, report.Metric, report.Interval, error) {
	metric, interval, err := chartOf(v, q)
	if err != nil {
		return report.Overview{}, "", "", err
	}
	key := fmt.Sprintf("overview %t %s %s %s", v.CompareOff, metric, interval, queryKey(q, v.Range.Loc))
	ov, err := shared(ctx, &d.running, key, func(ctx context.Context) (ov report.Overview, err error) {
		err = d.timedAs([]string{"summary", "timeseries"}, func() (err error) {
			ov, err = d.reports.Overview(ctx, q, v.Range.Loc, metric, interval, !v.CompareOff)
			return err
		})
		return ov, err
	})
	return ov, metric, interval, err
}

// breakdown is the core of a breakdown card, page and export.
func (d *Dashboard) breakdown(ctx context.Context, q report.Query, dim report.Dimension, limit int) ([]report.Row, error) {
	key := fmt.Sprintf("breakdown %q %d %s", dim, limit, queryKey(q, nil))
	return shared(ctx, &d.running, key, func(ctx context.Context) (rows []report.Row, err error) {
		err = d.timed(string(dim), func() (err error) {
			rows, err = d.reports.Breakdown(ctx, q, dim, limit)
			return err
		})
		return rows, err
	})
}

// breakdowns is the core of the site page's session breakdown cards: the
// rows of each of dims (session dimensions) from one query.
func (d *Dashboard) breakdowns(ctx context.Context, q report.Query, dims []report.Dimension, limit int) (map[report.Dimension][]report.Row, error) {
	key := fmt.Sprintf("breakdowns %q %d %s", dims, limit, queryKey(q, nil))
	return shared(ctx, &d.running, key, func(ctx context.Context) (rows map[report.Dimension][]report.Row, err error) {
		names := make([]string, len(dims))
		for i, dim := range dims {
			names[i] = string(dim)
		}
		err = d.timedAs(names, func() (err error) {
			rows, err = d.reports.Breakdowns(ctx, q, dims, limit)
			return err
		})
		return rows, err
	})
}

// sessions is the core of the latest sessions.
func (d *Dashboard) sessions(ctx context.Context, q report.Query, limit int) ([]report.SessionRow, error) {
	key := fmt.Sprintf("sessions %d %s", limit, queryKey(q, nil))
	return shared(ctx, &d.running, key, func(ctx context.Context) (rows []report.SessionRow, err error) {
		err = d.timed("sessions", func() (err error) {
			rows, err = d.reports.Sessions(ctx, q, limit)
			return err
		})
		return rows, err
	})
}

// realtime is the core of the realtime card: visitors of the last
// report.RealtimeWindow and the pages they are on. Requests that arrive
// while one runs share it: its window ends at most that query's duration
// before theirs.
func (d *Dashboard) realtime(ctx context.Context, v view) (report.Realtime, error) {
	key := fmt.Sprintf("realtime %q %t", v.Site.ID, v.Range.Bots)
	return shared(ctx, &d.running, key, func(ctx context.Context) (rt report.Realtime, err error) {
		err = d.timed("realtime", func() (err error) {
			rt, err = d.reports.Realtime(ctx, v.Site.ID, d.clock(), v.Range.Bots)
			return err
		})
		return rt, err
	})
}

// completeness is the core of the data-completeness line.
func (d *Dashboard) completeness(ctx context.Context, v view, q report.Query) ([]report.CompletenessDay, error) {
	key := "completeness " + queryKey(q, v.Range.Loc)
	return shared(ctx, &d.running, key, func(ctx context.Context) (days []report.CompletenessDay, err error) {
		err = d.timed("completeness", func() (err error) {
			days, err = d.reports.Completeness(ctx, q, v.Range.Loc)
			return err
		})
		return days, err
	})
}

// apiSummary serves GET /api/sites/:id/summary.
func (d *Dashboard) apiSummary(c *gin.Context) {
	d.apiReport(c, nil, func(ctx context.Context, r apiRequest) (any, error) {
		comparison, err := d.summary(ctx, r.view, r.query)
		if err != nil {
			return nil, err
		}
		out := apiSummary{apiRange: r.head, apiFigures: figures(comparison.Current)}
		if !r.view.CompareOff {
			p, ch := figures(comparison.Previous), comparison.Change
			out.Previous = &p
			out.Change = &apiChange{Visitors: ch.Visitors, Sessions: ch.Sessions, Pageviews: ch.Pageviews, Events: ch.Events,
				BounceRate: ch.BounceRate, AvgDurationSec: ch.AvgDurationSec, PageviewsPerSession: ch.PageviewsPerSession}
		}
		return out, nil
	})
}

// apiBreakdown serves GET /api/sites/:id/breakdown/:dim?limit=.
func (d *Dashboard) apiBreakdown(c *gin.Context) {
	dim, dimErr := report.ParseDimension(c.Param("dim"))
	limit, limitErr := parseLimit(c.Query("limit"), apiBreakdownLimit)
	// The dimension's error first, as before.
	d.apiReport(c, cmp.Or(dimErr, limitErr), func(ctx context.Context, r apiRequest) (any, error) {
		rows, err := d.breakdown(ctx, r.query, dim, limit)
		if err != nil {
			return nil, err
		}
		out := apiBreakdown{apiRange: r.head, Dimension: string(dim), Rows: make([]apiRow, 0, len(rows))}
		for _, row := range rows {
			out.Rows = append(out.Rows, apiRow{Key: row.Key, Label: rowLabel(dim, row.Key), Visitors: row.Visitors, Sessions: row.Sessions,
				Pageviews: row.Pageviews, Events: row.Events, BounceRate: row.BounceRate, AvgDurationSec: row.AvgDurationSec})
		}
		return out, nil
	})
}

// apiTimeseries serves GET /api/sites/:id/timeseries: sessions, visitors
// and pageviews per day (kept for existing clients; /series is the general
// form).
func (d *Dashboard) apiTimeseries(c *gin.Context) {
	d.apiReport(c, nil, func(ctx context.Context, r apiRequest) (any, error) {
		var days []report.DayPoint
		if err := d.timed("timeseries", func() (err error) {
			days, err = d.reports.Timeseries(ctx, r.query, r.view.Range.Loc)
			return err
		}); err != nil {
			return nil, err
		}
		out := apiTimeseries{apiRange: r.head, Days: make([]apiDay, 0, len(days))}
		for _, p := range days {
			out.Days = append(out.Days, apiDay{Day: p.Day, Visitors: p.Visitors, Sessions: p.Sessions, Pageviews: p.Pageviews})
		}
		return out, nil
	})
}

// apiSeries serves GET /api/sites/:id/series?metric=&interval=.
func (d *Dashboard) apiSeries(c *gin.Context) {
	d.apiReport(c, nil, func(ctx context.Context, r apiRequest) (any, error) {
		points, metric, interval, err := d.series(ctx, r.view, r.query)
		if err != nil {
			return nil, err
		}
		out := apiSeries{apiRange: r.head, Metric: string(metric), Interval: string(interval), Points: make([]apiPoint, 0, len(points))}
		for _, p := range points {
			out.Points = append(out.Points, apiPoint{Start: p.Start.UTC(), Label: p.Label, Value: p.Value, Visitors: p.Visitors,
				Sessions: p.Sessions, Pageviews: p.Pageviews, Events: p.Events, BounceRate: p.BounceRate, AvgDurationSec: p.AvgDurationSec})
		}
		return out, nil
	})
}

// apiSessions serves GET /api/sites/:id/sessions?limit=.
func (d *Dashboard) apiSessions(c *gin.Context) {
	limit, err := parseLimit(c.Query("limit"), apiSessionsLimit)
	d.apiReport(c, err, func(ctx context.Context, r apiRequest) (any, error) {
		rows, err := d.sessions(ctx, r.query, limit)
		if err != nil {
			return nil, err
		}
		out := apiSessions{apiRange: r.head, Sessions: make([]apiSession, 0, len(rows))}
		for _, s := range rows {
			out.Sessions = append(out.Sessions, apiSessionOf(s))
		}
		return out, nil
	})
}
