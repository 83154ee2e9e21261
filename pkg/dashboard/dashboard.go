package dashboard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

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
	// AdminUser is the user name of the one account. Required.
	AdminUser string
	// AdminPasswordHash is the account's password as an argon2id hash
	// (HashPassword). Give it or AdminPassword, not both.
	AdminPasswordHash string
	// AdminPassword is the account's password in plain text, hashed by New;
	// for development and tests. Give it or AdminPasswordHash.
	AdminPassword string
	// SessionKey signs login sessions and CSRF tokens: at least 16 random
	// bytes, the same on every instance. Required.
	SessionKey []byte
	// Sessions keeps login sessions; default NewCookieSessions(SessionKey).
	Sessions SessionStore
	// TrustProxy counts failed logins under gin's Context.ClientIP, which
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
	case o.AdminUser == "":
		return errors.New("dashboard: Options.AdminUser is required")
	case o.AdminPassword == "" && o.AdminPasswordHash == "":
		return errors.New("dashboard: give Options.AdminPasswordHash (or AdminPassword)")
	case o.AdminPassword != "" && o.AdminPasswordHash != "":
		return errors.New("dashboard: give Options.AdminPasswordHash or AdminPassword, not both")
	case len(o.SessionKey) < minKeyLen:
		return fmt.Errorf("dashboard: Options.SessionKey has %d bytes, need at least %d random bytes", len(o.SessionKey), minKeyLen)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Registerer == nil {
		o.Registerer = prometheus.NewRegistry()
	}
	return nil
}

// Dashboard serves the web UI and the JSON API.
type Dashboard struct {
	reports  *report.Reports
	sites    SiteLister
	accounts accounts
	sessions SessionStore
	csrf     csrf
	limiter  *limiter
	trust    bool
	log      *slog.Logger
	metrics  *metrics
	pages    *pages
	now      atomic.Pointer[func() time.Time]
}

// New checks o and builds a Dashboard.
func New(o Options) (*Dashboard, error) {
	if err := o.withDefaults(); err != nil {
		return nil, err
	}
	encoded := o.AdminPasswordHash
	if o.AdminPassword != "" {
		var err error
		if encoded, err = HashPassword(o.AdminPassword); err != nil {
			return nil, err
		}
	}
	hash, err := parseHash(encoded)
	if err != nil {
		return nil, err
	}
	if o.Sessions == nil {
		if o.Sessions, err = NewCookieSessions(o.SessionKey); err != nil {
			return nil, err
		}
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
		reports: o.Reports, sites: o.Sites, accounts: newAdminAccount(o.AdminUser, hash), sessions: o.Sessions,
		csrf: newCSRF(o.SessionKey), limiter: newLimiter(LoginFailureLimit, LoginFailureWindow),
		trust: o.TrustProxy, log: o.Logger, metrics: m, pages: p,
	}
	d.SetClock(time.Now)
	return d, nil
}

// SetClock replaces the clock that decides "today" and session expiry; for
// tests.
func (d *Dashboard) SetClock(now func() time.Time) { d.now.Store(&now) }

func (d *Dashboard) clock() time.Time { return (*d.now.Load())() }

// Mount adds the dashboard's routes to r: the pages (/, /login, /logout,
// /sites/:id), the stylesheet and icon (/static/...) and the JSON API
// (/api/sites/:id/...). Health and metrics endpoints are pkg/service's.
func (d *Dashboard) Mount(r *gin.Engine) {
	g := r.Group("/", securityHeaders)
	g.GET("/static/dashboard.css", static("dashboard.css", "text/css; charset=utf-8"))
	g.GET("/static/favicon.svg", static("favicon.svg", "image/svg+xml"))
	g.GET("/login", d.loginForm)
	g.POST("/login", d.login)
	g.POST("/logout", d.requireLogin(false), d.logout)

	html := g.Group("/", d.requireLogin(false))
	html.GET("/", d.index)
	html.GET("/sites/:id", d.sitePage)

	api := g.Group("/api", d.requireLogin(true))
	api.GET("/sites/:id/summary", d.apiSummary)
	api.GET("/sites/:id/breakdown/:dim", d.apiBreakdown)
	api.GET("/sites/:id/timeseries", d.apiTimeseries)
	api.GET("/sites/:id/sessions", d.apiSessions)
}

// securityHeaders forbid scripts, framing and foreign form targets on every
// dashboard answer, and keep answers out of shared caches.
func securityHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	c.Next()
}

// timed runs one report and records its duration.
func (d *Dashboard) timed(name string, f func() error) error {
	start := time.Now()
	err := f()
	d.metrics.reportSeconds.WithLabelValues(name).Observe(time.Since(start).Seconds())
	return err
}
