package dashboard

import (
	"bytes"
	"context"
	"crypto/subtle"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/teller-analytics/teller/pkg/account"
	"github.com/teller-analytics/teller/pkg/report"
	"github.com/teller-analytics/teller/pkg/site"
)

//go:embed templates/*.html static/dashboard.css static/favicon.svg
var files embed.FS

// pages are the parsed templates, one set per page, each with the layout.
type pages struct {
	byName map[string]*template.Template
}

var pageNames = []string{"login", "setup", "index", "site", "account", "users", "tokens", "error"}

var funcs = template.FuncMap{
	"count":    formatCount,
	"percent":  formatPercent,
	"duration": formatDuration,
	"float":    formatFloat,
}

func loadPages() (*pages, error) {
	p := &pages{byName: map[string]*template.Template{}}
	for _, name := range pageNames {
		t, err := template.New(name).Funcs(funcs).ParseFS(files, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("dashboard: parse template %s: %w", name, err)
		}
		p.byName[name] = t
	}
	return p, nil
}

// base is what the layout shows on every page.
type base struct {
	Title string
	// User is the signed-in user, "" on the login page.
	User string
	// Admin shows the link to the users page.
	Admin bool
	// CSRF is the token of every form of a signed-in page (sign-out
	// included).
	CSRF string
}

// render executes a page into a buffer first, so that a template error
// never sends half a page.
func (d *Dashboard) render(c *gin.Context, status int, name string, data any) {
	var buf bytes.Buffer
	if err := d.pages.byName[name].ExecuteTemplate(&buf, "layout", data); err != nil {
		d.log.Error("dashboard: render page", "page", name, "err", err)
		c.Data(http.StatusInternalServerError, "text/plain; charset=utf-8", []byte("internal error\n"))
		return
	}
	c.Data(status, "text/html; charset=utf-8", buf.Bytes())
}

type errorPageData struct {
	base
	Status  int
	Heading string
	Message string
}

func (d *Dashboard) errorPage(c *gin.Context, status int, msg string) {
	data := errorPageData{base: d.base(c, http.StatusText(status)), Status: status, Heading: http.StatusText(status), Message: msg}
	d.render(c, status, "error", data)
}

// base fills the layout's fields from the request's login.
func (d *Dashboard) base(c *gin.Context, title string) base {
	b := base{Title: title}
	if v, ok := c.Get(ctxAuth); ok {
		if a := v.(*auth); a.token == nil {
			b.User, b.Admin, b.CSRF = a.user.Name, a.user.Admin, d.csrf.Token(account.CSRFLogin, a.login.Hash)
		}
	}
	return b
}

// static serves an embedded file, public and briefly cached.
func static(name, contentType string) gin.HandlerFunc {
	body, err := files.ReadFile("static/" + name)
	if err != nil {
		panic(err) // embedded above: cannot happen
	}
	return func(c *gin.Context) {
		c.Header("Cache-Control", "public, max-age=300")
		c.Data(http.StatusOK, contentType, body)
	}
}

type indexPage struct {
	base
	Sites []site.Site
}

// index serves GET /: the sites the user may see.
func (d *Dashboard) index(c *gin.Context) {
	list, err := d.visibleSites(c)
	if err != nil {
		d.fail(c, false, err)
		return
	}
	d.render(c, http.StatusOK, "index", indexPage{base: d.base(c, "Sites"), Sites: list})
}

// visibleSites are the sites the request's user may see: every site for
// an admin, else those granted.
func (d *Dashboard) visibleSites(c *gin.Context) ([]site.Site, error) {
	var list []site.Site
	err := d.timed("sites", func() (err error) {
		list, err = d.sites.ListSites(c.Request.Context())
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list sites: %w", err)
	}
	a := c.MustGet(ctxAuth).(*auth)
	if a.user.Admin {
		return list, nil
	}
	grants, err := d.accounts.Grants(c.Request.Context(), a.user.Name)
	if err != nil {
		return nil, err
	}
	var out []site.Site
	for _, s := range list {
		if grants[s.ID] != "" {
			out = append(out, s)
		}
	}
	return out, nil
}

// sitePageSessions is how many of the latest sessions the site page lists;
// sitePageRows how many rows each breakdown shows.
const (
	sitePageSessions = 50
	sitePageRows     = 10
)

type sitePage struct {
	base
	Site     site.Site
	Range    dayRange
	Presets  []link
	BotsLink link
	KPIs     []kpi
	Chart    chart
	Tables   []table
	Sessions []sessionView
}

type link struct {
	Label   string
	URL     string
	Current bool
}

type kpi struct {
	ID, Label, Value, Display string
}

type table struct {
	ID, Title, KeyHeader, EmptyKey, RankedBy string
	Rows                                     []report.Row
}

type sessionView struct {
	ID, Started, Duration, Entry, Exit, Referrer, Channel, Browser, OS, Device, Reason string
	DurationMs, Pageviews, Events                                                      uint64
	Bounce                                                                             bool
}

// breakdownTables are the site page's tables, in order.
var breakdownTables = []table{
	{ID: "pages", Title: "Top pages", KeyHeader: "Page", EmptyKey: "(none)", RankedBy: "pageviews"},
	{ID: "entry_pages", Title: "Entry pages", KeyHeader: "Page", EmptyKey: "(none)", RankedBy: "sessions"},
	{ID: "exit_pages", Title: "Exit pages", KeyHeader: "Page", EmptyKey: "(none)", RankedBy: "sessions"},
	{ID: "referrers", Title: "Referrers", KeyHeader: "Referrer", EmptyKey: "(direct)", RankedBy: "sessions"},
	{ID: "channels", Title: "Channels", KeyHeader: "Channel", EmptyKey: "(none)", RankedBy: "sessions"},
}

// sitePage serves GET /sites/:id.
func (d *Dashboard) sitePage(c *gin.Context) {
	s, r, err := d.siteAndRange(c)
	if err != nil {
		d.fail(c, false, err)
		return
	}
	q := r.query(s.ID)
	ctx := c.Request.Context()
	var (
		sum      report.Summary
		days     []report.DayPoint
		sessions []report.SessionRow
		tables   = append([]table(nil), breakdownTables...)
	)
	tasks := []task{
		{"summary", func(ctx context.Context) (err error) { sum, err = d.reports.Summary(ctx, q); return err }},
		{"timeseries", func(ctx context.Context) (err error) { days, err = d.reports.Timeseries(ctx, q, r.Loc); return err }},
		{"sessions", func(ctx context.Context) (err error) {
			sessions, err = d.reports.Sessions(ctx, q, sitePageSessions)
			return err
		}},
	}
	for i := range tables {
		t := &tables[i]
		tasks = append(tasks, task{t.ID, func(ctx context.Context) (err error) {
			t.Rows, err = d.reports.Breakdown(ctx, q, report.Dimension(t.ID), sitePageRows)
			return err
		}})
	}
	if err := d.runAll(ctx, tasks); err != nil {
		d.fail(c, false, fmt.Errorf("reports of %s: %w", s.ID, err))
		return
	}
	page := sitePage{
		base: d.base(c, s.Name), Site: s, Range: r,
		Presets: presets(s, r, d.clock()), BotsLink: botsLink(s, r),
		KPIs: kpis(sum), Chart: newChart(days), Tables: tables,
	}
	for _, row := range sessions {
		page.Sessions = append(page.Sessions, sessionView{
			ID: row.ID.String(), Started: row.Started.In(r.Loc).Format("2006-01-02 15:04:05"),
			Duration: formatDuration(float64(row.DurationMs) / 1000), DurationMs: row.DurationMs,
			Pageviews: row.Pageviews, Events: row.Events, Entry: row.EntryPath, Exit: row.ExitPath,
			Referrer: row.Referrer, Channel: row.Channel, Browser: row.Browser, OS: row.OS, Device: row.Device,
			Reason: row.StartReason, Bounce: row.Bounce,
		})
	}
	d.render(c, http.StatusOK, "site", page)
}

func kpis(s report.Summary) []kpi {
	return []kpi{
		{"kpi-visitors", "Visitors", fmt.Sprint(s.Visitors), formatCount(s.Visitors)},
		{"kpi-sessions", "Sessions", fmt.Sprint(s.Sessions), formatCount(s.Sessions)},
		{"kpi-pageviews", "Pageviews", fmt.Sprint(s.Pageviews), formatCount(s.Pageviews)},
		{"kpi-bounce-rate", "Bounce rate", formatFloat(s.BounceRate), formatPercent(s.BounceRate)},
		{"kpi-avg-duration", "Average duration", formatFloat(s.AvgDurationSec), formatDuration(s.AvgDurationSec)},
		{"kpi-pageviews-per-session", "Pageviews per session", formatFloat(s.PageviewsPerSession),
			fmt.Sprintf("%.2f", s.PageviewsPerSession)},
	}
}

// siteURL links to a site's page for a range.
func siteURL(s site.Site, from, to time.Time, bots bool) string {
	v := url.Values{"from": {from.Format(time.DateOnly)}, "to": {to.Format(time.DateOnly)}}
	if bots {
		v.Set("bots", "1")
	}
	return "/sites/" + url.PathEscape(s.ID) + "?" + v.Encode()
}

func presets(s site.Site, r dayRange, now time.Time) []link {
	y, m, d := now.In(r.Loc).Date()
	today := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	var out []link
	for _, p := range []struct {
		label string
		days  int
	}{{"Today", 1}, {"Last 7 days", 7}, {"Last 30 days", 30}, {"Last 90 days", 90}} {
		from := today.AddDate(0, 0, 1-p.days)
		out = append(out, link{Label: p.label, URL: siteURL(s, from, today, r.Bots),
			Current: from.Equal(r.From) && today.Equal(r.To)})
	}
	return out
}

func botsLink(s site.Site, r dayRange) link {
	if r.Bots {
		return link{Label: "Hide bots", URL: siteURL(s, r.From, r.To, false), Current: true}
	}
	return link{Label: "Include bots", URL: siteURL(s, r.From, r.To, true)}
}

// siteAndRange reads the :id site (404 if unknown or not granted) and the
// range parameters.
func (d *Dashboard) siteAndRange(c *gin.Context) (site.Site, dayRange, error) {
	s, _, err := d.grantedSite(c, account.RoleViewer)
	if err != nil {
		return site.Site{}, dayRange{}, err
	}
	r, err := parseRange(s, c.Query("from"), c.Query("to"), c.Query("bots"), d.clock())
	return s, r, err
}

// grantedSite reads the :id site when the request may act on it with at
// least role: an API token for its one site (viewer), a user by their
// grant. A site that exists but is not granted answers exactly as one that
// does not exist (404, same message), so ids are not disclosed. The grant
// is checked before the site is looked up, so timing does not tell either.
func (d *Dashboard) grantedSite(c *gin.Context, need account.Role) (site.Site, account.Role, error) {
	id := c.Param("id")
	missing := notFound("There is no site %q.", id)
	a := c.MustGet(ctxAuth).(*auth)
	var role account.Role
	switch {
	case a.token != nil:
		role = account.RoleNone
		if subtle.ConstantTimeCompare([]byte(a.token.Site), []byte(id)) == 1 {
			role = account.RoleViewer
		}
	default:
		var err error
		if role, err = d.accounts.Role(c.Request.Context(), a.user, id); err != nil {
			return site.Site{}, "", err
		}
	}
	if !role.AtLeast(need) {
		return site.Site{}, "", missing
	}
	var s site.Site
	var ok bool
	err := d.timed("site", func() (err error) {
		s, ok, err = d.sites.GetSite(c.Request.Context(), id)
		return err
	})
	if err != nil {
		return site.Site{}, "", fmt.Errorf("look up site %q: %w", id, err)
	}
	if !ok {
		return site.Site{}, "", missing
	}
	return s, role, nil
}

// task is one report of a page.
type task struct {
	name string
	run  func(ctx context.Context) error
}

// runAll runs the tasks concurrently, timing each, and returns their errors
// joined.
func (d *Dashboard) runAll(ctx context.Context, tasks []task) error {
	var wg sync.WaitGroup
	errs := make([]error, len(tasks))
	for i, t := range tasks {
		wg.Go(func() {
			errs[i] = d.timed(t.name, func() error { return t.run(ctx) })
			if errs[i] != nil {
				errs[i] = fmt.Errorf("%s: %w", t.name, errs[i])
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}
