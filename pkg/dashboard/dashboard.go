package dashboard

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/teller-analytics/teller/pkg/account"
	"github.com/teller-analytics/teller/pkg/enrich"
	"github.com/teller-analytics/teller/pkg/report"
	"github.com/teller-analytics/teller/pkg/site"
)

// SiteLister reads the registered sites; *store.DB satisfies it.
type SiteLister interface {
	ListSites(ctx context.Context) ([]site.Site, error)
	GetSite(ctx context.Context, id string) (site.Site, bool, error)
}

// Options configure a Dashboard.
type Options struct {
	// Reports runs the report queries. Required.
	Reports *report.Reports
	// Sites lists the registered sites. Required.
	Sites SiteLister
	// Accounts checks sign-ins, logins, grants and API tokens. Required.
	Accounts *account.Accounts
	// SiteSaver adds and changes sites, through a ClickHouse user that may
	// insert into sites. Nil: sites are shown, not edited.
	SiteSaver SiteSaver
	// Activity tells whether a site's events arrive. Nil: Sites, when it
	// is one (*store.DB), else the settings page does not show it.
	Activity ActivityReader
	// Goals keeps the sites' goals (report.GoalDB). Nil: no goals. Its
	// writes need the same writable user as SiteSaver; without a SiteSaver
	// the goal forms are off.
	Goals report.GoalStore
	// CollectorURL is the collector's public URL, for the snippet the site
	// settings show; default the placeholder DefaultCollectorURL.
	CollectorURL string
	// MaxQueries bounds the report queries the site pages run at once,
	// across all requests; a page's reports wait here for as long as the
	// request lasts, rather than in the ClickHouse pool, whose wait ends
	// after the dial timeout in "acquire conn timeout". Keep it below the
	// pool's size, so that sign-ins and single API reports find a
	// connection. Default 6.
	MaxQueries int
	// TrustProxy counts failed sign-ins under gin's Context.ClientIP, which
	// reads X-Forwarded-For from the proxies the engine trusts
	// (Engine.SetTrustedProxies). By default the connection's address is
	// used, which a client cannot forge.
	TrustProxy bool
	// Logger receives errors; default slog.Default().
	Logger *slog.Logger
	// Registerer receives the dashboard's metrics; default a registry of
	// its own (metrics not exported).
	Registerer prometheus.Registerer
}

// withDefaults validates o and fills its defaults.
func (o *Options) withDefaults() error {
	switch {
	case o.Reports == nil:
		return errors.New("dashboard: Options.Reports is required")
	case o.Sites == nil:
		return errors.New("dashboard: Options.Sites is required")
	case o.Accounts == nil:
		return errors.New("dashboard: Options.Accounts is required")
	case o.MaxQueries < 0:
		return errors.New("dashboard: Options.MaxQueries is negative")
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Activity == nil {
		o.Activity, _ = o.Sites.(ActivityReader)
	}
	if o.CollectorURL == "" {
		o.CollectorURL = DefaultCollectorURL
	}
	if o.Registerer == nil {
		o.Registerer = prometheus.NewRegistry()
	}
	return nil
}

// DefaultCollectorURL stands in the snippet for the collector's URL when
// Options.CollectorURL is not set.
const DefaultCollectorURL = "https://collector.example.com"

// Dashboard serves the web UI and the JSON API.
type Dashboard struct {
	// queries holds a slot per report query the site pages run (MaxQueries).
	queries      chan struct{}
	reports      *report.Reports
	sites        SiteLister
	saver        SiteSaver
	goals        report.GoalStore
	activity     ActivityReader
	collectorURL string
	accounts     *account.Accounts
	csrf         account.CSRF
	trust        bool
	log          *slog.Logger
	metrics      *metrics
	pages        *pages
	ua           *enrich.UAParser
	now          atomic.Pointer[func() time.Time]
	// running are the report computations identical requests share (shared.go).
	running flights
}

// New checks o and builds a Dashboard.
func New(o Options) (*Dashboard, error) {
	if err := o.withDefaults(); err != nil {
		return nil, err
	}
	m, err := newMetrics(o.Registerer)
	if err != nil {
		return nil, err
	}
	p, err := loadPages()
	if err != nil {
		return nil, err
	}
	d := &Dashboard{
		reports: o.Reports, sites: o.Sites, saver: o.SiteSaver, goals: o.Goals, activity: o.Activity, collectorURL: o.CollectorURL,
		accounts: o.Accounts, csrf: o.Accounts.CSRF(),
		trust: o.TrustProxy, log: o.Logger, metrics: m, pages: p, ua: enrich.NewUAParser(256),
		queries: make(chan struct{}, cmp.Or(o.MaxQueries, defaultMaxQueries)),
	}
	d.SetClock(time.Now)
	return d, nil
}

// SetClock replaces the clock that decides "today" and login expiry; for
// tests.
func (d *Dashboard) SetClock(now func() time.Time) { d.now.Store(&now) }

func (d *Dashboard) clock() time.Time { return (*d.now.Load())() }

// Mount adds the dashboard's routes to r: the pages (/, /sites/:id), the
// sign-in and account pages (/login, /logout, /setup, /account, /users,
// /sites/:id/tokens), the stylesheet and icon (/static/...) and the JSON API
// (/api/sites/:id/...). Health and metrics endpoints are pkg/service's.
//
// Every request body is bounded and must be a URL-encoded form, before
// anything parses it; every state-changing request carries a CSRF token.
func (d *Dashboard) Mount(r *gin.Engine) {
	g := r.Group("/", securityHeaders, boundForms)
	g.GET("/static/dashboard.css", static("dashboard.css", "text/css; charset=utf-8"))
	g.GET("/static/favicon.svg", static("favicon.svg", "image/svg+xml"))
	g.GET("/static/dashboard.js", static("dashboard.js", "text/javascript; charset=utf-8"))
	g.GET("/static/vendor/uplot.min.js", static("vendor/uplot.min.js", "text/javascript; charset=utf-8"))
	g.GET("/static/vendor/uplot.min.css", static("vendor/uplot.min.css", "text/css; charset=utf-8"))
	g.GET("/login", d.loginForm)
	g.POST("/login", d.login)
	g.GET("/setup", d.setupForm)
	g.POST("/setup", d.setup)

	html := g.Group("/", d.requireLogin(false))
	html.POST("/logout", d.logout)
	html.GET("/", d.index)
	html.GET("/sites/new", d.requireAdmin, d.newSiteForm)
	html.POST("/sites", d.requireAdmin, d.createSite)
	html.GET("/sites/:id", d.sitePage)
	html.GET("/sites/:id/sessions", d.sessionsPage)
	html.GET("/sites/:id/sessions/:sid", d.sessionPage)
	html.GET("/sites/:id/visitors/:vid", d.visitorPage)
	html.GET("/sites/:id/breakdown/:dim", d.breakdownPage)
	html.GET("/sites/:id/bots", d.botsPage)
	html.GET("/sites/:id/goals", d.goalsPage)
	html.POST("/sites/:id/goals", d.addGoal)
	html.POST("/sites/:id/goals/remove", d.removeGoal)
	html.GET("/sites/:id/settings", d.siteSettings)
	html.POST("/sites/:id/settings", d.saveSite)
	html.GET("/account", d.accountPage)
	html.POST("/account/password", d.changePassword)
	html.POST("/account/logins/end", d.endLogin)
	html.GET("/users", d.requireAdmin, d.usersPage)
	html.POST("/users", d.requireAdmin, d.addUser)
	html.POST("/users/remove", d.requireAdmin, d.removeUser)
	html.POST("/users/grant", d.requireAdmin, d.grant)
	html.GET("/sites/:id/tokens", d.tokensPage)
	html.POST("/sites/:id/tokens", d.createToken)
	html.POST("/sites/:id/tokens/revoke", d.revokeToken)

	api := g.Group("/api", d.requireLogin(true))
	api.GET("/sites/:id/summary", d.apiSummary)
	api.GET("/sites/:id/breakdown/:dim", d.apiBreakdown)
	api.GET("/sites/:id/timeseries", d.apiTimeseries)
	api.GET("/sites/:id/series", d.apiSeries)
	api.GET("/sites/:id/sessions", d.apiSessions)
	api.GET("/sites/:id/sessions/list", d.apiSessionList)
	api.GET("/sites/:id/sessions/:sid", d.apiSessionPath)
	api.GET("/sites/:id/visitors/:vid", d.apiVisitor)
	api.GET("/sites/:id/realtime", d.apiRealtime)
	api.GET("/sites/:id/completeness", d.apiCompleteness)
	api.GET("/sites/:id/goals", d.apiGoals)
	api.GET("/sites/:id/funnel", d.apiFunnel)
	api.GET("/sites/:id/bots", d.apiBots)
	api.GET("/sites/:id/engagement", d.apiEngagement)
	api.GET("/sites/:id/event_props", d.apiEventProps)
}

// maxFormBytes bounds every request body: the largest form (a password
// change) is well under 4 KiB.
const maxFormBytes = 16 << 10

// boundForms refuses any body that is not a URL-encoded form, and any
// larger than maxFormBytes, before a handler parses it: multipart bodies
// would otherwise be spooled to disk whatever their size.
func boundForms(c *gin.Context) {
	if c.Request.Method == http.MethodGet || c.Request.Method == http.MethodHead {
		c.Next()
		return
	}
	if mt, _, _ := mime.ParseMediaType(c.GetHeader("Content-Type")); mt != "application/x-www-form-urlencoded" {
		c.AbortWithStatusJSON(http.StatusUnsupportedMediaType, gin.H{"error": "send forms as application/x-www-form-urlencoded"})
		return
	}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxFormBytes)
	if err := c.Request.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			c.AbortWithStatusJSON(http.StatusRequestEntityTooLarge, gin.H{"error": fmt.Sprintf("the form is larger than %d bytes", maxFormBytes)})
			return
		}
		c.AbortWithStatusJSON(http.StatusBadRequest, gin.H{"error": "the form cannot be read"})
		return
	}
	c.Next()
}

// securityHeaders allow only the dashboard's own scripts and styles (no
// inline code, nothing from elsewhere), forbid framing and foreign form
// targets on every dashboard answer, and keep answers out of shared caches.
func securityHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	if account.IsTLS(c.Request) {
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
	c.Next()
}

// timed runs one report and records its duration.
func (d *Dashboard) timed(name string, f func() error) error {
	start := time.Now()
	err := f()
	d.metrics.reportSeconds.WithLabelValues(name).Observe(time.Since(start).Seconds())
	return err
}
