package dashboard

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/teller-analytics/teller/pkg/report"
	"github.com/teller-analytics/teller/pkg/site"
)

// The session explorer (/sites/:id/sessions, .../sessions/:sid,
// .../visitors/:vid) and the whole-breakdown page (.../breakdown/:dim):
// pages, their CSV exports and their JSON twins share one core each.

// Rows per page of the session list and of a whole breakdown.
const (
	sessionListRows = 100
	breakdownRows   = 500
	visitorSessions = 200
)

type sessionsPage struct {
	base
	Site     site.Site
	View     view
	Range    dayRange
	BotsLink link
	Filters  []chip
	Form     filterForm
	Sessions []sessionView
	// Next is the link to the following page, "" on the last; First back
	// to the first when paged.
	Next, First string
	CSV, Back   string
	SQL         string
}

// sessionList is the core of the session list: one page from cursor.
func (d *Dashboard) sessionList(ctx context.Context, q report.Query, limit int, cursor string) (report.SessionPage, error) {
	var p report.SessionPage
	err := d.timed("session_list", func() (err error) {
		p, err = d.reports.SessionList(ctx, q, limit, cursor)
		return err
	})
	return p, err
}

// sessionsPage serves GET /sites/:id/sessions (?cursor=, ?format=csv).
func (d *Dashboard) sessionsPage(c *gin.Context) {
	s, _, v, q, err := d.siteView(c)
	if err != nil {
		d.fail(c, false, err)
		return
	}
	if d.addedFilter(c, v, "/sessions") {
		return
	}
	csv := c.Query("format") == "csv"
	def := sessionListRows
	if csv {
		def = report.MaxLimit
	}
	limit, err := parseLimit(c.Query("limit"), def)
	if err != nil {
		d.fail(c, false, err)
		return
	}
	var l report.SQLLog
	p, err := d.sessionList(report.WithSQLLog(c.Request.Context(), &l), q, limit, c.Query("cursor"))
	if err != nil {
		d.fail(c, false, err)
		return
	}
	if csv {
		d.csv(c, s.ID+"-sessions-"+v.Range.FromString()+"-"+v.Range.ToString(), func(w *strings.Builder) error {
			return report.WriteCSV(w, p.Rows)
		})
		return
	}
	page := sessionsPage{base: d.base(c, "Sessions · "+s.Name), Site: s, View: v, Range: v.Range, BotsLink: botsLink(v),
		Filters: chips(v), Form: newFilterForm(v, "/sessions"), Sessions: sessionViews(v, p.Rows), CSV: v.link("/sessions") + "&format=csv", Back: v.Link(), SQL: sqlText(&l)}
	page.BotsLink.URL = strings.Replace(page.BotsLink.URL, v.path("")+"?", v.path("/sessions")+"?", 1)
	for i := range page.Filters {
		page.Filters[i].Remove = strings.Replace(page.Filters[i].Remove, v.path("")+"?", v.path("/sessions")+"?", 1)
	}
	more := ""
	if c.Query("limit") != "" {
		more = "&limit=" + strconv.Itoa(limit)
	}
	if p.Next != "" {
		page.Next = v.link("/sessions") + more + "&cursor=" + url.QueryEscape(p.Next)
	}
	if c.Query("cursor") != "" {
		page.First = v.link("/sessions") + more
	}
	d.render(c, http.StatusOK, "sessions", page)
}

type sessionPage struct {
	base
	Site    site.Site
	View    view
	Session sessionView
	Events  []pathEventView
	Back    string
	SQL     string
}

type pathEventView struct {
	At, SincePrev, SinceStart, Kind, Name, Path, Title string
	Props                                              [][2]string
	Engaged                                            string
	ScrollDepth                                        uint8
	Late, Bridging                                     bool
}

// sessionPath is the core of one session's path.
func (d *Dashboard) sessionPath(ctx context.Context, q report.Query, raw string) (report.SessionDetail, error) {
	id, err := report.ParseID(raw)
	if err != nil {
		return report.SessionDetail{}, err
	}
	var det report.SessionDetail
	var found bool
	err = d.timed("session_path", func() (err error) {
		det, found, err = d.reports.SessionPath(ctx, q, id)
		return err
	})
	if err == nil && !found {
		err = notFound("There is no session %s of this site that started from %s to %s.", id,
			q.From.Format("2006-01-02"), q.To.AddDate(0, 0, -1).Format("2006-01-02"))
	}
	return det, err
}

// sessionPage serves GET /sites/:id/sessions/:sid: the session's path.
func (d *Dashboard) sessionPage(c *gin.Context) {
	s, _, v, q, err := d.siteView(c)
	if err != nil {
		d.fail(c, false, err)
		return
	}
	var l report.SQLLog
	det, err := d.sessionPath(report.WithSQLLog(c.Request.Context(), &l), q, c.Param("sid"))
	if err != nil {
		d.fail(c, false, err)
		return
	}
	page := sessionPage{base: d.base(c, "Session · "+s.Name), Site: s, View: v,
		Session: sessionViews(v, []report.SessionRow{det.Session})[0], Back: v.link("/sessions"), SQL: sqlText(&l)}
	for _, e := range det.Events {
		page.Events = append(page.Events, pathEventView{
			At: e.At.In(v.Range.Loc).Format("15:04:05.000"), SincePrev: formatDuration(float64(e.SincePrevMs) / 1000),
			SinceStart: formatDuration(float64(e.SinceStartMs) / 1000), Kind: e.Kind, Name: e.Name, Path: e.Path, Title: e.Title,
			Props: e.Props, Engaged: formatDuration(float64(e.EngagedMs) / 1000), ScrollDepth: e.ScrollDepth,
			Late: e.Late, Bridging: e.Bridging,
		})
	}
	d.render(c, http.StatusOK, "session", page)
}

type visitorPage struct {
	base
	Site     site.Site
	View     view
	Range    dayRange
	BotsLink link
	Visitor  string
	Sessions []sessionView
	Back     string
	SQL      string
}

// visitorSessions is the core of one visitor's sessions.
func (d *Dashboard) visitorSessions(ctx context.Context, q report.Query, raw string) ([]report.SessionRow, error) {
	id, err := report.ParseID(raw)
	if err != nil {
		return nil, err
	}
	var rows []report.SessionRow
	err = d.timed("visitor_sessions", func() (err error) {
		rows, err = d.reports.VisitorSessions(ctx, q, id, visitorSessions)
		return err
	})
	return rows, err
}

// visitorPage serves GET /sites/:id/visitors/:vid: one visitor's sessions.
func (d *Dashboard) visitorPage(c *gin.Context) {
	s, _, v, q, err := d.siteView(c)
	if err != nil {
		d.fail(c, false, err)
		return
	}
	var l report.SQLLog
	rows, err := d.visitorSessions(report.WithSQLLog(c.Request.Context(), &l), q, c.Param("vid"))
	if err != nil {
		d.fail(c, false, err)
		return
	}
	d.render(c, http.StatusOK, "visitor", visitorPage{base: d.base(c, "Visitor · "+s.Name), Site: s, View: v, Range: v.Range,
		BotsLink: botsLink(v), Visitor: c.Param("vid"), Sessions: sessionViews(v, rows), Back: v.link("/sessions"), SQL: sqlText(&l)})
}

type breakdownPage struct {
	base
	Site    site.Site
	View    view
	Filters []chip
	Table   table
	Tabs    []link
	CSV     string
	Back    string
	// Engagement is the page breakdown's reading time and scroll depth.
	Engagement    []engagementView
	EngagementCSV string
	// Event and Props are one custom event's properties (?event=), and
	// PropLinks each event row's link to its own.
	Event     string
	Props     []report.PropRow
	PropsCSV  string
	PropLinks map[string]string
	ExtraSQL  string
}

type engagementView struct {
	report.PageEngagement
	Engaged, AvgScroll, MedianScroll string
}

// engagement is the core of the per-page engagement report.
func (d *Dashboard) engagement(ctx context.Context, q report.Query, limit int) ([]report.PageEngagement, error) {
	var rows []report.PageEngagement
	err := d.timed("page_engagement", func() (err error) {
		rows, err = d.reports.PageEngagement(ctx, q, limit)
		return err
	})
	return rows, err
}

// eventProps is the core of one custom event's properties.
func (d *Dashboard) eventProps(ctx context.Context, q report.Query, event string, limit int) ([]report.PropRow, error) {
	if len(event) > report.MaxFilterValue {
		return nil, badRequest("event name of %d bytes: at most %d", len(event), report.MaxFilterValue)
	}
	var rows []report.PropRow
	err := d.timed("event_props", func() (err error) {
		rows, err = d.reports.EventProps(ctx, q, event, limit)
		return err
	})
	return rows, err
}

// breakdownPage serves GET /sites/:id/breakdown/:dim (?format=csv): every
// row of one breakdown, up to breakdownRows.
func (d *Dashboard) breakdownPage(c *gin.Context) {
	s, _, v, q, err := d.siteView(c)
	if err != nil {
		d.fail(c, false, err)
		return
	}
	dim, err := report.ParseDimension(c.Param("dim"))
	if err != nil {
		d.fail(c, false, err)
		return
	}
	limit := breakdownRows
	if c.Query("format") == "csv" {
		limit = report.MaxLimit
	}
	// The page breakdown's engagement and an event's properties have CSV
	// exports of their own (?format=csv&part=engagement|props).
	var l, extra report.SQLLog
	ctx := report.WithSQLLog(c.Request.Context(), &extra)
	var eng []report.PageEngagement
	var props []report.PropRow
	event := c.Query("event")
	switch {
	case dim == report.Pages:
		if eng, err = d.engagement(ctx, q, limit); err != nil {
			d.fail(c, false, err)
			return
		}
	case dim == report.Events && event != "":
		if props, err = d.eventProps(ctx, q, event, limit); err != nil {
			d.fail(c, false, err)
			return
		}
	}
	name := s.ID + "-" + string(dim) + "-" + v.Range.FromString() + "-" + v.Range.ToString()
	switch {
	case c.Query("format") == "csv" && c.Query("part") == "engagement" && dim == report.Pages:
		d.csv(c, name+"-engagement", func(w *strings.Builder) error { return report.WriteCSV(w, eng) })
		return
	case c.Query("format") == "csv" && c.Query("part") == "props" && event != "":
		d.csv(c, name+"-props", func(w *strings.Builder) error { return report.WriteCSV(w, props) })
		return
	}
	rows, err := d.breakdown(report.WithSQLLog(c.Request.Context(), &l), q, dim, limit)
	if err != nil {
		d.fail(c, false, err)
		return
	}
	if c.Query("format") == "csv" {
		d.csv(c, s.ID+"-"+string(dim)+"-"+v.Range.FromString()+"-"+v.Range.ToString(), func(w *strings.Builder) error {
			return report.WriteCSV(w, rows)
		})
		return
	}
	t := newTable(dim)
	t.Rows, t.SQL = tableRows(v, string(dim), rows), sqlText(&l)
	page := breakdownPage{base: d.base(c, title(string(dim))+" · "+s.Name), Site: s, View: v, Filters: chips(v), Table: t,
		CSV: v.link("/breakdown/"+url.PathEscape(string(dim))) + "&format=csv", Back: v.Link()}
	for _, other := range report.Dimensions() {
		page.Tabs = append(page.Tabs, link{Label: title(string(other)), URL: v.link("/breakdown/" + url.PathEscape(string(other))),
			Current: other == dim})
	}
	self := v.link("/breakdown/" + url.PathEscape(string(dim)))
	for _, e := range eng {
		page.Engagement = append(page.Engagement, engagementView{PageEngagement: e, Engaged: formatDuration(e.AvgEngagedSec),
			AvgScroll: fmt.Sprintf("%.0f%%", e.AvgScroll), MedianScroll: fmt.Sprintf("%.0f%%", e.MedianScroll)})
	}
	if dim == report.Pages {
		page.EngagementCSV = self + "&format=csv&part=engagement"
	}
	if dim == report.Events {
		page.PropLinks = map[string]string{}
		for _, r := range rows {
			page.PropLinks[r.Key] = self + "&event=" + url.QueryEscape(r.Key) + "#props"
		}
		if event != "" {
			page.Event, page.Props = event, props
			page.PropsCSV = self + "&event=" + url.QueryEscape(event) + "&format=csv&part=props"
		}
	}
	page.ExtraSQL = sqlText(&extra)
	d.render(c, http.StatusOK, "breakdown", page)
}

// maxCSVBytes bounds one export; report.MaxLimit rows stay far below it.
const maxCSVBytes = 32 << 20

// csv answers an attachment named name.csv with what write writes.
func (d *Dashboard) csv(c *gin.Context, name string, write func(w *strings.Builder) error) {
	var b strings.Builder
	if err := write(&b); err != nil {
		d.fail(c, false, fmt.Errorf("write %s.csv: %w", name, err))
		return
	}
	if b.Len() > maxCSVBytes {
		d.fail(c, false, badRequest("the export is larger than %d MiB: choose a shorter range", maxCSVBytes>>20))
		return
	}
	c.Header("Content-Disposition", `attachment; filename="`+safeFileName(name)+`.csv"`)
	c.Data(http.StatusOK, "text/csv; charset=utf-8", []byte(b.String()))
}

// safeFileName keeps a-z, 0-9, '.', '_' and '-' of a file name (site ids
// and dimensions are such already; this is belt and braces for the header).
func safeFileName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
			return r
		}
		return '_'
	}, s)
}
