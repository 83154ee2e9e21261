package dashboard

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/teller-analytics/teller/pkg/account"
	"github.com/teller-analytics/teller/pkg/report"
	"github.com/teller-analytics/teller/pkg/site"
	"github.com/teller-analytics/teller/pkg/snippet"
)

// The site's report page (/sites/:id): range picker, filters, KPIs with
// their change, the chart, a card per breakdown and the latest sessions.

// sitePageSessions is how many of the latest sessions the site page lists;
// sitePageRows how many rows each breakdown card shows.
const (
	sitePageSessions = 50
	sitePageRows     = 10
)

type sitePage struct {
	base
	Site site.Site
	View view
	// Range repeats View.Range for the templates.
	Range    dayRange
	Presets  []link
	BotsLink link
	Filters  []chip
	Form     filterForm
	// RangeHidden keeps the rest of the view in the date range form.
	RangeHidden []hidden
	KPIs        []kpi
	Compare     link
	Chart       chart
	Metrics     []link
	Intervals   []link
	Cards       []card
	// The SQL of the KPIs, the chart and the sessions list.
	SummarySQL, ChartSQL, SessionsSQL string
	Sessions                          []sessionView
	// SessionsLink opens the session explorer with the view.
	SessionsLink string
	// SiteAdmin shows the settings link.
	SiteAdmin bool
	// Snippet is shown when the range has no sessions at all.
	Snippet string
	// Realtime is the "now" card, Completeness the data-completeness line.
	Realtime     realtimeView
	Completeness completenessView
	// GoalsLink and BotsReport open those pages with the view.
	GoalsLink, BotsReport string
}

type realtimeView struct {
	// API is the realtime report's JSON, which dashboard.js polls.
	API      string
	Visitors uint64
	Pages    []tableRow
	Minutes  int
	SQL      string
}

// completenessView sums what the collectors accepted and what was stored
// over the range, and keeps the days for the table.
type completenessView struct {
	Accepted, Stored uint64
	// Share is Stored / Accepted as shown, "" when nothing was accepted.
	Share string
	// Complete is true when every day stored at least what was accepted.
	Complete bool
	Days     []report.CompletenessDay
	SQL      string
}

func newCompleteness(days []report.CompletenessDay, sql string) completenessView {
	c := completenessView{Days: days, SQL: sql, Complete: true}
	for _, d := range days {
		c.Accepted += d.Accepted
		c.Stored += d.Stored
		if d.Stored < d.Accepted {
			c.Complete = false
		}
	}
	if c.Accepted > 0 {
		c.Share = formatPercent(float64(c.Stored) / float64(c.Accepted))
	}
	return c
}

type link struct {
	Label   string
	URL     string
	Current bool
}

// chip is one filter of the view, with the link that removes it.
type chip struct {
	Label, Filter, Remove string
}

// filterForm is the small "add a filter" form: a plain GET form, so it
// works without scripts; the page turns its fields into an f= value.
type filterForm struct {
	// Action is the page the form adds the filter on.
	Action     string
	Hidden     []hidden
	Dimensions []option
	Ops        []option
}

type hidden struct{ Name, Value string }
type option struct{ Value, Label string }

type kpi struct {
	ID, Label, Value, Display string
	// Change is the change versus the previous period ("+12.5%", "-3.0 pp"),
	// ChangeClass up/down (plus inverse when lower is better); Previous the
	// previous period's figure.
	Change, ChangeClass, Previous string
}

type table struct {
	ID, Dimension, Title, KeyHeader, EmptyKey, RankedBy string
	// SQL is what the report ran.
	SQL  string
	Rows []tableRow
}

type tableRow struct {
	report.Row
	// Label is the key as shown (readable channel names); Filter the link
	// that adds the row's filter.
	Label, Filter string
}

type sessionView struct {
	ID, Visitor, Started, Duration, Entry, Exit, Referrer, Channel, Browser, OS, Device, Reason, ReasonText string
	DurationMs, Pageviews, Events                                                                           uint64
	Bounce                                                                                                  bool
	// Link opens the session's path, VisitorLink the visitor's sessions.
	Link, VisitorLink string
}

// siteView reads the :id site (404 if unknown or not granted), the view of
// the request and its report query.
func (d *Dashboard) siteView(c *gin.Context) (site.Site, account.Role, view, report.Query, error) {
	s, role, err := d.grantedSite(c, account.RoleViewer)
	if err != nil {
		return site.Site{}, "", view{}, report.Query{}, err
	}
	v, err := d.readView(c, s)
	if err != nil {
		return site.Site{}, "", view{}, report.Query{}, err
	}
	q := v.Range.query(s.ID)
	if q.Filters, err = report.ParseFilters(v.Filters); err != nil {
		return site.Site{}, "", view{}, report.Query{}, err
	}
	return s, role, v, q, nil
}

// sitePage serves GET /sites/:id.
func (d *Dashboard) sitePage(c *gin.Context) {
	s, role, v, q, err := d.siteView(c)
	if err != nil {
		d.fail(c, false, err)
		return
	}
	if d.addedFilter(c, v, "") {
		return
	}
	// The page's statements run at once and keep both cores busy, where
	// reading FINAL in two slices only adds server CPU (about 5 % a page,
	// docs/dashboard-speed.md section 15): one stream each.
	q = q.WithFinalStreams(1)
	var (
		ov       report.Overview
		metric   report.Metric
		interval report.Interval
		rt       report.Realtime
		complete []report.CompletenessDay
		sessions []report.SessionRow
		cards    = pageCards(v)
		sql      = map[string]*report.SQLLog{}
	)
	logged := func(name string, run func(ctx context.Context) error) task {
		l := &report.SQLLog{}
		sql[name] = l
		return task{name, func(ctx context.Context) error { return run(report.WithSQLLog(ctx, l)) }}
	}
	tasks := []task{
		// The KPIs and the chart: one query (report.Overview).
		logged("overview", func(ctx context.Context) (err error) {
			ov, metric, interval, err = d.overview(ctx, v, q)
			return err
		}),
		logged("realtime", func(ctx context.Context) (err error) { rt, err = d.realtime(ctx, v); return err }),
		logged("completeness", func(ctx context.Context) (err error) { complete, err = d.completeness(ctx, v, q); return err }),
		logged("sessions", func(ctx context.Context) (err error) {
			sessions, err = d.sessions(ctx, q, sitePageSessions)
			return err
		}),
	}
	// The cards of event dimensions (pages, events) run a query each; those
	// of session dimensions share one (report.Breakdowns).
	var bySessions []*table
	for i := range cards {
		t := &cards[i].Table
		if !report.Dimension(t.Dimension).ReadsEvents() {
			bySessions = append(bySessions, t)
			continue
		}
		tasks = append(tasks, logged(t.ID, func(ctx context.Context) error {
			rows, err := d.breakdown(ctx, q, report.Dimension(t.Dimension), sitePageRows)
			t.Rows = tableRows(v, t.Dimension, rows)
			return err
		}))
	}
	if len(bySessions) > 0 {
		tasks = append(tasks, logged("breakdowns", func(ctx context.Context) error {
			var dims []report.Dimension
			for _, t := range bySessions {
				dims = append(dims, report.Dimension(t.Dimension))
			}
			rows, err := d.breakdowns(ctx, q, dims, sitePageRows)
			for _, t := range bySessions {
				t.Rows = tableRows(v, t.Dimension, rows[report.Dimension(t.Dimension)])
			}
			return err
		}))
	}
	if err := d.runAll(c.Request.Context(), tasks); err != nil {
		d.fail(c, false, fmt.Errorf("reports of %s: %w", s.ID, err))
		return
	}
	for i := range cards {
		t := &cards[i].Table
		if report.Dimension(t.Dimension).ReadsEvents() {
			t.SQL = sqlText(sql[t.ID])
		} else {
			t.SQL = sqlText(sql["breakdowns"])
		}
	}
	page := sitePage{
		base: d.base(c, s.Name), Site: s, View: v, Range: v.Range,
		Presets: presets(v), BotsLink: botsLink(v), Filters: chips(v), Form: newFilterForm(v, ""),
		KPIs: kpis(ov.Comparison, !v.CompareOff), Compare: compareLink(v),
		Chart:   newChart(seriesPoints(ov.Points), string(metric), string(interval)),
		Metrics: metricLinks(v, metric), Intervals: intervalLinks(v, interval), Cards: cards,
		SessionsLink: v.link("/sessions"), SiteAdmin: role.AtLeast(account.RoleAdmin),
		GoalsLink: v.link("/goals"), BotsReport: v.link("/bots"),
		SummarySQL: sqlText(sql["overview"]), ChartSQL: sqlText(sql["overview"]), SessionsSQL: sqlText(sql["sessions"]),
	}
	page.Realtime = realtimeView{Visitors: rt.Visitors, Pages: tableRows(v, string(report.Pages), rt.Pages),
		Minutes: int(report.RealtimeWindow.Minutes()), SQL: sqlText(sql["realtime"]), API: "/api" + v.link("/realtime")}
	page.Completeness = newCompleteness(complete, sqlText(sql["completeness"]))
	for _, h := range page.Form.Hidden {
		if h.Name != "from" && h.Name != "to" && h.Name != "period" {
			page.RangeHidden = append(page.RangeHidden, h)
		}
	}
	page.Scripts = true
	page.Sessions = sessionViews(v, sessions)
	if ov.Current.Sessions == 0 && len(v.Filters) == 0 {
		page.Snippet = snippet.Tag(d.collectorURL, s.ID)
	}
	d.render(c, http.StatusOK, "site", page)
}

// cardGroups are the report page's breakdown cards, each with tabs of
// dimensions (the first shown by default; ?t_<card>=<dimension> picks
// another). A dimension of report.Dimensions() in no group gets a card of
// its own, so every dimension has one.
var cardGroups = []struct {
	ID, Title string
	Dims      []report.Dimension
}{
	{"pages", "Pages", []report.Dimension{report.Pages, report.EntryPages, report.ExitPages}},
	{"sources", "Sources", []report.Dimension{report.Channels, report.Sources, report.Referrers}},
	{"campaigns", "Campaigns", []report.Dimension{report.UTMCampaigns, report.UTMSources, report.UTMMediums, report.UTMTerms, report.UTMContents}},
	{"devices", "Devices", []report.Dimension{report.Browsers, report.BrowserVersions, report.OSes, report.Devices, report.Screens}},
	{"countries", "Countries", []report.Dimension{report.Countries}},
	{"events", "Events and visits", []report.Dimension{report.Events, report.StartReasons}},
}

// card is one breakdown card: its tabs and the table of the chosen one.
type card struct {
	ID, Title string
	Tabs      []link
	Table     table
	// More opens the whole breakdown (all rows, CSV).
	More string
}

// pageCards lays out the cards for v, with the tables still empty.
func pageCards(v view) []card {
	known := map[report.Dimension]bool{}
	for _, d := range report.Dimensions() {
		known[d] = true
	}
	var out []card
	grouped := map[report.Dimension]bool{}
	for _, g := range cardGroups {
		var dims []report.Dimension
		for _, d := range g.Dims {
			if known[d] {
				dims = append(dims, d)
				grouped[d] = true
			}
		}
		if len(dims) > 0 {
			out = append(out, newCard(v, g.ID, g.Title, dims))
		}
	}
	for _, d := range report.Dimensions() {
		if !grouped[d] {
			out = append(out, newCard(v, string(d), title(string(d)), []report.Dimension{d}))
		}
	}
	return out
}

func newCard(v view, id, heading string, dims []report.Dimension) card {
	chosen := dims[0]
	for _, d := range dims {
		if v.Tabs[id] == string(d) {
			chosen = d
		}
	}
	c := card{ID: id, Title: heading, Table: newTable(chosen), More: v.link("/breakdown/" + url.PathEscape(string(chosen)))}
	if len(dims) > 1 {
		for _, d := range dims {
			c.Tabs = append(c.Tabs, link{Label: title(string(d)), URL: v.withTab(id, string(d)).Link() + "#card-" + id, Current: d == chosen})
		}
	}
	return c
}

func newTable(dim report.Dimension) table {
	name := string(dim)
	rankedBy := "sessions"
	if dim == report.Pages {
		rankedBy = "pageviews"
	}
	return table{ID: name, Dimension: name, Title: title(name), KeyHeader: keyHeader(name), EmptyKey: emptyKey(name), RankedBy: rankedBy}
}

// emptyKey is how a dimension's empty key is shown.
func emptyKey(dim string) string {
	if k, ok := emptyKeys[dim]; ok {
		return k
	}
	return "(none)"
}

// tableRows labels the rows of a breakdown and links each to its filter.
func tableRows(v view, dim string, rows []report.Row) []tableRow {
	out := make([]tableRow, 0, len(rows))
	for _, r := range rows {
		label := rowLabel(report.Dimension(dim), r.Key)
		f := report.Filter{Dimension: report.Dimension(dim), Op: report.Is, Value: r.Key}
		out = append(out, tableRow{Row: r, Label: label, Filter: v.withFilter(f.String()).Link()})
	}
	return out
}

func sessionViews(v view, rows []report.SessionRow) []sessionView {
	out := make([]sessionView, 0, len(rows))
	for _, row := range rows {
		id, visitor := row.ID.String(), row.Visitor.String()
		out = append(out, sessionView{
			ID: id, Visitor: visitor, Started: row.Started.In(v.Range.Loc).Format("2006-01-02 15:04:05"),
			Duration: formatDuration(float64(row.DurationMs) / 1000), DurationMs: row.DurationMs,
			Pageviews: row.Pageviews, Events: row.Events, Entry: row.EntryPath, Exit: row.ExitPath,
			Referrer: row.Referrer, Channel: report.ChannelLabel(row.Channel), Browser: row.Browser, OS: row.OS, Device: row.Device,
			Reason: row.StartReason, ReasonText: reasonText(row.StartReason), Bounce: row.Bounce,
			Link: v.link("/sessions/" + id), VisitorLink: v.link("/visitors/" + visitor),
		})
	}
	return out
}

// kpis are the KPI tiles; with compare, each shows its change versus the
// previous period.
func kpis(cmp report.Comparison, compare bool) []kpi {
	s, p, ch := cmp.Current, cmp.Previous, cmp.Change
	out := []kpi{
		{ID: "kpi-visitors", Label: "Visitors", Value: fmt.Sprint(s.Visitors), Display: formatCount(s.Visitors)},
		{ID: "kpi-sessions", Label: "Sessions", Value: fmt.Sprint(s.Sessions), Display: formatCount(s.Sessions)},
		{ID: "kpi-pageviews", Label: "Pageviews", Value: fmt.Sprint(s.Pageviews), Display: formatCount(s.Pageviews)},
		{ID: "kpi-bounce-rate", Label: "Bounce rate", Value: formatFloat(s.BounceRate), Display: formatPercent(s.BounceRate)},
		{ID: "kpi-avg-duration", Label: "Average duration", Value: formatFloat(s.AvgDurationSec), Display: formatDuration(s.AvgDurationSec)},
		{ID: "kpi-pageviews-per-session", Label: "Pageviews per session", Value: formatFloat(s.PageviewsPerSession),
			Display: fmt.Sprintf("%.2f", s.PageviewsPerSession)},
		{ID: "kpi-events", Label: "Custom events", Value: fmt.Sprint(s.Events), Display: formatCount(s.Events)},
	}
	if !compare {
		return out
	}
	set := func(k *kpi, change *float64, prev string, points bool) {
		k.Previous = prev
		switch {
		case change == nil:
			k.Change = "new"
			if k.Value == "0" {
				k.Change = "±0%"
			}
		case points:
			k.Change, k.ChangeClass = signed(*change*100, " pp"), direction(*change)+" inverse"
		default:
			k.Change, k.ChangeClass = signed(*change*100, "%"), direction(*change)
		}
	}
	set(&out[0], ch.Visitors, formatCount(p.Visitors), false)
	set(&out[1], ch.Sessions, formatCount(p.Sessions), false)
	set(&out[2], ch.Pageviews, formatCount(p.Pageviews), false)
	set(&out[3], ch.BounceRate, formatPercent(p.BounceRate), true)
	set(&out[4], ch.AvgDurationSec, formatDuration(p.AvgDurationSec), false)
	set(&out[5], ch.PageviewsPerSession, fmt.Sprintf("%.2f", p.PageviewsPerSession), false)
	set(&out[6], ch.Events, formatCount(p.Events), false)
	if ch.BounceRate == nil && s.Sessions > 0 && p.Sessions == 0 {
		out[3].Change = "new"
	}
	return out
}

func signed(v float64, unit string) string {
	switch {
	case v > 0.05:
		return fmt.Sprintf("+%.1f%s", v, unit)
	case v < -0.05:
		return fmt.Sprintf("−%.1f%s", -v, unit)
	}
	return "±0" + strings.TrimSpace(unit)
}

func direction(v float64) string {
	switch {
	case v > 0:
		return "up"
	case v < 0:
		return "down"
	}
	return "same"
}

func presets(v view) []link {
	var out []link
	for _, p := range periods {
		w := v.withPeriod(p.ID)
		from, to, _ := parsePeriod(p.ID, v.today)
		out = append(out, link{Label: p.Label, URL: w.Link(),
			Current: v.Period == p.ID || (v.Period == "" && from.Equal(v.Range.From) && to.Equal(v.Range.To))})
	}
	return out
}

func botsLink(v view) link {
	w := v
	w.Range.Bots = !v.Range.Bots
	if v.Range.Bots {
		return link{Label: "Hide bots", URL: w.Link(), Current: true}
	}
	return link{Label: "Include bots", URL: w.Link()}
}

func compareLink(v view) link {
	w := v
	w.CompareOff = !v.CompareOff
	if v.CompareOff {
		return link{Label: "Compare with the previous period", URL: w.Link()}
	}
	return link{Label: "Hide the comparison", URL: w.Link(), Current: true}
}

func chips(v view) []chip {
	var out []chip
	for i, raw := range v.Filters {
		f, err := report.ParseFilter(raw)
		if err != nil {
			continue // siteView refused the request already
		}
		label := keyHeader(string(f.Dimension)) + " " + opLabels[f.Op] + " "
		value := f.Value
		if f.Dimension == report.Channels || f.Dimension == report.Countries {
			value = rowLabel(f.Dimension, value)
		}
		if value == "" {
			value = emptyKey(string(f.Dimension))
		}
		out = append(out, chip{Label: label + value, Filter: raw, Remove: v.withoutFilter(i).Link()})
	}
	return out
}

func newFilterForm(v view, sub string) filterForm {
	f := filterForm{Action: v.path(sub)}
	for k, vals := range v.values() {
		for _, x := range vals {
			f.Hidden = append(f.Hidden, hidden{k, x})
		}
	}
	sort.Slice(f.Hidden, func(i, j int) bool { return f.Hidden[i].Name < f.Hidden[j].Name })
	for _, d := range report.Dimensions() {
		f.Dimensions = append(f.Dimensions, option{string(d), keyHeader(string(d))})
	}
	for _, op := range report.Ops() {
		f.Ops = append(f.Ops, option{string(op), opLabels[op]})
	}
	return f
}

// metricLinks choose the chart's metric.
func metricLinks(v view, cur report.Metric) []link {
	var out []link
	for _, m := range report.Metrics() {
		w := v
		w.Metric = string(m)
		out = append(out, link{Label: chartMetrics[string(m)].Label, URL: w.Link() + "#chart-panel", Current: cur == m})
	}
	return out
}

// intervalLinks choose the chart's buckets.
func intervalLinks(v view, cur report.Interval) []link {
	var out []link
	for _, iv := range report.Intervals() {
		w := v
		w.Interval = string(iv)
		out = append(out, link{Label: intervalLabels[iv], URL: w.Link() + "#chart-panel", Current: cur == iv})
	}
	return out
}

var intervalLabels = map[report.Interval]string{report.Hour: "Hours", report.Day: "Days", report.Week: "Weeks", report.Month: "Months"}

// sqlText is the statements of a report, ready to paste into
// clickhouse-client.
func sqlText(l *report.SQLLog) string {
	if l == nil || len(l.Statements()) == 0 {
		return ""
	}
	return strings.Join(l.Statements(), ";\n\n") + ";"
}

// rowLabel is a breakdown key as shown: readable channel and country names.
func rowLabel(dim report.Dimension, key string) string {
	switch dim {
	case report.Channels:
		return report.ChannelLabel(key)
	case report.Countries:
		return report.CountryName(key)
	}
	return key
}

// addedFilter answers the "add a filter" form, which sends fd, fo and fv:
// it redirects to the page sub of the view with that f= value added, and
// reports whether it has answered.
func (d *Dashboard) addedFilter(c *gin.Context, v view, sub string) bool {
	fd := c.Query("fd")
	if fd == "" {
		return false
	}
	f, err := report.ParseFilter(fd + ":" + c.Query("fo") + ":" + c.Query("fv"))
	if err != nil {
		d.fail(c, false, err)
		return true
	}
	c.Redirect(http.StatusSeeOther, v.withFilter(f.String()).link(sub))
	return true
}
