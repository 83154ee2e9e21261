package dashboard

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/teller-analytics/teller/pkg/report"
)

// Default row counts of the JSON API.
const (
	apiBreakdownLimit = 10
	apiSessionsLimit  = 50
)

type apiRange struct {
	Site        string `json:"site"`
	From        string `json:"from"`
	To          string `json:"to"`
	Timezone    string `json:"timezone"`
	IncludeBots bool   `json:"include_bots"`
}

type apiSummary struct {
	apiRange
	Visitors            uint64  `json:"visitors"`
	Sessions            uint64  `json:"sessions"`
	Pageviews           uint64  `json:"pageviews"`
	BounceRate          float64 `json:"bounce_rate"`
	AvgDurationSec      float64 `json:"avg_duration_sec"`
	PageviewsPerSession float64 `json:"pageviews_per_session"`
}

type apiRow struct {
	Key       string `json:"key"`
	Visitors  uint64 `json:"visitors"`
	Sessions  uint64 `json:"sessions"`
	Pageviews uint64 `json:"pageviews"`
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

type apiSessions struct {
	apiRange
	Sessions []apiSession `json:"sessions"`
}

// apiQuery reads the site and range of an API request; on failure it has
// answered.
func (d *Dashboard) apiQuery(c *gin.Context) (report.Query, dayRange, apiRange, bool) {
	s, r, err := d.siteAndRange(c)
	if err != nil {
		d.fail(c, true, err)
		return report.Query{}, dayRange{}, apiRange{}, false
	}
	return r.query(s.ID), r, apiRange{Site: s.ID, From: r.FromString(), To: r.ToString(), Timezone: s.Timezone, IncludeBots: r.Bots}, true
}

// apiSummary serves GET /api/sites/:id/summary.
func (d *Dashboard) apiSummary(c *gin.Context) {
	q, _, head, ok := d.apiQuery(c)
	if !ok {
		return
	}
	var s report.Summary
	if err := d.timed("summary", func() (err error) { s, err = d.reports.Summary(c.Request.Context(), q); return err }); err != nil {
		d.fail(c, true, err)
		return
	}
	c.JSON(http.StatusOK, apiSummary{apiRange: head, Visitors: s.Visitors, Sessions: s.Sessions, Pageviews: s.Pageviews,
		BounceRate: s.BounceRate, AvgDurationSec: s.AvgDurationSec, PageviewsPerSession: s.PageviewsPerSession})
}

// apiBreakdown serves GET /api/sites/:id/breakdown/:dim?limit=.
func (d *Dashboard) apiBreakdown(c *gin.Context) {
	dim, err := report.ParseDimension(c.Param("dim"))
	if err != nil {
		d.fail(c, true, badRequest("unknown breakdown %q: want one of %v", c.Param("dim"), report.Dimensions()))
		return
	}
	limit, err := parseLimit(c.Query("limit"), apiBreakdownLimit)
	if err != nil {
		d.fail(c, true, err)
		return
	}
	q, _, head, ok := d.apiQuery(c)
	if !ok {
		return
	}
	var rows []report.Row
	if err := d.timed(string(dim), func() (err error) {
		rows, err = d.reports.Breakdown(c.Request.Context(), q, dim, limit)
		return err
	}); err != nil {
		d.fail(c, true, err)
		return
	}
	out := apiBreakdown{apiRange: head, Dimension: string(dim), Rows: make([]apiRow, 0, len(rows))}
	for _, r := range rows {
		out.Rows = append(out.Rows, apiRow{Key: r.Key, Visitors: r.Visitors, Sessions: r.Sessions, Pageviews: r.Pageviews})
	}
	c.JSON(http.StatusOK, out)
}

// apiTimeseries serves GET /api/sites/:id/timeseries.
func (d *Dashboard) apiTimeseries(c *gin.Context) {
	q, r, head, ok := d.apiQuery(c)
	if !ok {
		return
	}
	var days []report.DayPoint
	if err := d.timed("timeseries", func() (err error) {
		days, err = d.reports.Timeseries(c.Request.Context(), q, r.Loc)
		return err
	}); err != nil {
		d.fail(c, true, err)
		return
	}
	out := apiTimeseries{apiRange: head, Days: make([]apiDay, 0, len(days))}
	for _, p := range days {
		out.Days = append(out.Days, apiDay{Day: p.Day, Visitors: p.Visitors, Sessions: p.Sessions, Pageviews: p.Pageviews})
	}
	c.JSON(http.StatusOK, out)
}

// apiSessions serves GET /api/sites/:id/sessions?limit=.
func (d *Dashboard) apiSessions(c *gin.Context) {
	limit, err := parseLimit(c.Query("limit"), apiSessionsLimit)
	if err != nil {
		d.fail(c, true, err)
		return
	}
	q, _, head, ok := d.apiQuery(c)
	if !ok {
		return
	}
	var rows []report.SessionRow
	if err := d.timed("sessions", func() (err error) {
		rows, err = d.reports.Sessions(c.Request.Context(), q, limit)
		return err
	}); err != nil {
		d.fail(c, true, err)
		return
	}
	out := apiSessions{apiRange: head, Sessions: make([]apiSession, 0, len(rows))}
	for _, s := range rows {
		out.Sessions = append(out.Sessions, apiSession{ID: s.ID, Visitor: s.Visitor, Started: s.Started.UTC(),
			DurationMs: s.DurationMs, Pageviews: s.Pageviews, Events: s.Events, EntryPath: s.EntryPath, ExitPath: s.ExitPath,
			Referrer: s.Referrer, Channel: s.Channel, Browser: s.Browser, OS: s.OS, Device: s.Device,
			StartReason: s.StartReason, Bounce: s.Bounce})
	}
	c.JSON(http.StatusOK, out)
}
