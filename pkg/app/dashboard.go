package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/teller-analytics/teller/pkg/account"
	"github.com/teller-analytics/teller/pkg/config"
	"github.com/teller-analytics/teller/pkg/dashboard"
	"github.com/teller-analytics/teller/pkg/report"
	"github.com/teller-analytics/teller/pkg/service"
	"github.com/teller-analytics/teller/pkg/store"
)

// DashboardConfig configures the dashboard service.
type DashboardConfig struct {
	Listen string
	// Store reaches the reports' tables; its user may be read-only.
	Store store.Config
	// AccountsUser and AccountsPassword, when set, reach the account tables
	// (dashboard_users, _grants, _logins, _tokens) as another ClickHouse
	// user, so that Store's user can be read-only; AccountsDatabase, when
	// set, holds them (for servers that grant per database only, such as
	// 18.16).
	AccountsUser     string
	AccountsPassword string
	AccountsDatabase string
	// CollectorURL is the collector's public URL, for the snippet the site
	// settings show.
	CollectorURL string
	// User and Password are the first admin, created when there is no
	// user yet; without them the dashboard prints a one-time setup link.
	User     string
	Password string
	// LoginSecret signs CSRF tokens and known-device cookies.
	LoginSecret string
	// deprecatedSessionSecret is -session-secret, LoginSecret's old name.
	deprecatedSessionSecret string
	LoginIdleTimeout        time.Duration
	LoginLifetime           time.Duration
	TrustedProxies          config.StringList
	// Migrate applies pending schema migrations at start (-migrate).
	Migrate bool
	Log     service.LogConfig
}

// RegisterFlags adds the dashboard's flags.
func (c *DashboardConfig) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Listen, "listen", DefaultDashboardListen, "HTTP address the dashboard serves")
	c.Store.MaxConns = DefaultDashboardMaxConns
	c.Store.RegisterFlags(fs)
	fs.StringVar(&c.AccountsUser, "accounts-clickhouse-user", "", "ClickHouse user for the dashboard's account tables (users, logins, API tokens); empty: -clickhouse-user. Lets -clickhouse-user be read-only")
	fs.StringVar(&c.AccountsPassword, "accounts-clickhouse-password", "", "password of -accounts-clickhouse-user")
	fs.StringVar(&c.AccountsDatabase, "accounts-clickhouse-database", "", "ClickHouse database holding the account tables (migrated like the main one); empty: -clickhouse-database")
	fs.StringVar(&c.CollectorURL, "public-collector-url", "", "public URL of the collector, for the snippet the site settings show (e.g. https://stats.example.com); empty: a placeholder to replace")
	fs.StringVar(&c.User, "dashboard-user", DefaultDashboardUser, "first admin's user name, created when there is no user yet")
	fs.StringVar(&c.Password, "dashboard-password", "", "first admin's password, plain or an argon2id hash ($argon2id$...), used when there is no user yet; empty: the log shows a one-time setup link")
	fs.StringVar(&c.LoginSecret, "login-secret", "", "key (>= 16 bytes) signing the dashboard's CSRF tokens and known-device cookies, the same on every instance; required")
	fs.StringVar(&c.deprecatedSessionSecret, "session-secret", "", "deprecated name of -login-secret")
	fs.DurationVar(&c.LoginIdleTimeout, "login-idle-timeout", account.DefaultIdleTimeout, "a dashboard login unused for this long ends")
	fs.DurationVar(&c.LoginLifetime, "login-lifetime", account.DefaultLifetime, "a dashboard login ends this long after sign-in, used or not")
	fs.Var(&c.TrustedProxies, "trusted-proxies", "comma-separated addresses or CIDRs of reverse proxies whose X-Forwarded-For names the client (login rate limits); empty: use the connection's address")
	registerMigrate(fs, &c.Migrate)
	c.Log.RegisterFlags(fs)
}

// Validate reports, naming the flags, everything wrong with the
// configuration. It does no I/O. It also resolves the deprecated
// -session-secret into LoginSecret.
func (c *DashboardConfig) Validate() error {
	errs := []error{config.CheckHostPort("listen", c.Listen, true), c.Store.Validate(), c.Log.Validate(), c.validateLogins()}
	if c.CollectorURL != "" {
		if u, err := url.Parse(c.CollectorURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("-public-collector-url %q: want an http(s) URL such as https://stats.example.com", c.CollectorURL))
		}
	}
	for _, p := range c.TrustedProxies {
		if net.ParseIP(p) == nil {
			if _, _, err := net.ParseCIDR(p); err != nil {
				errs = append(errs, fmt.Errorf("-trusted-proxies: %q is neither an IP address nor a CIDR", p))
			}
		}
	}
	return errors.Join(errs...)
}

// validateLogins checks the login and account flags, naming the flag at
// fault; it resolves the deprecated -session-secret into LoginSecret.
func (c *DashboardConfig) validateLogins() error {
	if c.deprecatedSessionSecret != "" {
		if c.LoginSecret != "" && c.LoginSecret != c.deprecatedSessionSecret {
			return errors.New("-login-secret and its deprecated name -session-secret (TELLER_SESSION_SECRET) differ: set only -login-secret")
		}
		c.LoginSecret = c.deprecatedSessionSecret
	}
	switch {
	case c.LoginSecret == "":
		return errors.New("no login secret: set -login-secret or TELLER_LOGIN_SECRET (e.g. `openssl rand -base64 32`)")
	case len(c.LoginSecret) < account.MinKeyLen:
		return fmt.Errorf("-login-secret has %d bytes, need at least %d (e.g. `openssl rand -base64 32`)", len(c.LoginSecret), account.MinKeyLen)
	case c.LoginIdleTimeout < account.TouchEvery:
		return fmt.Errorf("-login-idle-timeout=%s: want at least %s (last use is recorded once a minute)", c.LoginIdleTimeout, account.TouchEvery)
	case c.LoginLifetime < c.LoginIdleTimeout:
		return fmt.Errorf("-login-lifetime=%s is shorter than -login-idle-timeout=%s", c.LoginLifetime, c.LoginIdleTimeout)
	case c.AccountsPassword != "" && c.AccountsUser == "":
		return errors.New("-accounts-clickhouse-password is set without -accounts-clickhouse-user")
	case c.Password != "" && c.User == "":
		return errors.New("-dashboard-password is set but -dashboard-user is empty")
	}
	return nil
}

// accountsStore is the store configuration of the account tables: Store
// with the accounts user, when one is set.
func (c *DashboardConfig) accountsStore() store.Config {
	cfg := c.Store
	if c.AccountsUser != "" {
		cfg.User, cfg.Password = c.AccountsUser, c.AccountsPassword
	}
	if c.AccountsDatabase != "" {
		cfg.Database = c.AccountsDatabase
	}
	return cfg
}

// LogConfig implements Service.
func (c *DashboardConfig) LogConfig() service.LogConfig { return c.Log }

// Run implements Service.
func (c *DashboardConfig) Run(ctx context.Context, log *slog.Logger, hooks Hooks) error {
	return RunDashboard(ctx, *c, log, hooks)
}

// RunDashboard serves the dashboard until ctx ends.
func RunDashboard(ctx context.Context, cfg DashboardConfig, log *slog.Logger, hooks Hooks) error {
	if cfg.LoginIdleTimeout == 0 && cfg.LoginLifetime == 0 { // built in Go, not from flags
		cfg.LoginIdleTimeout, cfg.LoginLifetime = account.DefaultIdleTimeout, account.DefaultLifetime
	}
	if cfg.Store.MaxConns == 0 { // likewise
		cfg.Store.MaxConns = DefaultDashboardMaxConns
	}
	if err := cfg.validateLogins(); err != nil {
		return err
	}
	db, err := openStore(ctx, cfg.Store, cfg.Migrate, log)
	if err != nil {
		return err
	}
	defer db.Close()
	accountsDB := db
	if cfg.AccountsUser != "" || cfg.AccountsDatabase != "" {
		acfg := cfg.accountsStore()
		if accountsDB, err = openStore(ctx, acfg, cfg.Migrate, log); err != nil {
			return fmt.Errorf("dashboard: account tables (-accounts-clickhouse-user %q, -accounts-clickhouse-database %q): %w",
				acfg.User, acfg.Database, err)
		}
		defer accountsDB.Close()
	}
	ao := account.Options{Conn: accountsDB.Conn(), Key: []byte(cfg.LoginSecret), IdleTimeout: cfg.LoginIdleTimeout,
		Lifetime: cfg.LoginLifetime, Logger: log}
	if cfg.Password != "" {
		ao.AdminUser = cfg.User
		if strings.HasPrefix(cfg.Password, "$argon2id$") {
			ao.AdminPasswordHash = cfg.Password
		} else {
			ao.AdminPassword = cfg.Password
		}
	}
	accounts, err := account.New(ao)
	if err != nil {
		return err
	}
	setup, err := accounts.Bootstrap(ctx)
	if err != nil {
		return fmt.Errorf("dashboard: first admin: %w", err)
	}
	// Sites are edited through a user that may write them: the accounts
	// user (in the main database), or the one user when there is one.
	sitesDB := db
	if cfg.AccountsUser != "" {
		scfg := cfg.Store
		scfg.User, scfg.Password = cfg.AccountsUser, cfg.AccountsPassword
		if sitesDB, err = store.Open(ctx, scfg, log); err != nil {
			log.Warn("dashboard: sites cannot be edited: -accounts-clickhouse-user cannot use -clickhouse-database (use teller site add)",
				"user", cfg.AccountsUser, "database", cfg.Store.Database, "err", err)
			sitesDB = nil
		} else {
			defer sitesDB.Close()
		}
	}
	reg := hooks.registry()
	// Site pages queue for three quarters of the pool; the rest serves
	// sign-ins and single API reports.
	reports := report.New(db)
	if cfg.Store.Cluster == "" {
		// Previous periods' figures kept while their rows are unchanged; not
		// on a cluster, whose replicas may lag each other (pkg/report/previous.go).
		kept := report.NewPreviousCache(0)
		reports.WithPreviousCache(kept)
		reg.MustRegister(
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "teller_dashboard_previous_period_kept_total",
				Help: "Comparisons that used the previous period's kept figures (its rows unchanged)"},
				func() float64 { h, _ := kept.Stats(); return float64(h) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "teller_dashboard_previous_period_computed_total",
				Help: "Comparisons that computed the previous period's figures (first view, or its rows changed)"},
				func() float64 { _, m := kept.Stats(); return float64(m) }))
		// Both caches' marks read part by part, each part's kept while it
		// is active (pkg/report/partmarks.go).
		parts := report.NewPartMarks(0)
		reports.WithPartMarks(parts)
		reg.MustRegister(
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "teller_dashboard_mark_parts_read_total",
				Help: "Table parts whose mark was read (new parts, or parts not seen by a mark statement before)"},
				func() float64 { n, _, _ := parts.Stats(); return float64(n) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "teller_dashboard_mark_parts_kept_total",
				Help: "Table parts whose kept mark was used (the part unchanged since it was read)"},
				func() float64 { _, n, _ := parts.Stats(); return float64(n) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "teller_dashboard_mark_scans_total",
				Help: "Marks read by a scan of the whole table because the parts could not be listed or moved meanwhile"},
				func() float64 { _, _, n := parts.Stats(); return float64(n) }))
		// Closed sessions' figures kept while their rows are unchanged
		// (pkg/report/closed.go); not on a cluster either.
		closed := report.NewClosedCache(0)
		reports.WithClosedCache(closed)
		reg.MustRegister(
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "teller_dashboard_closed_part_kept_total",
				Help: "Reports that used the kept figures of the sessions closed before the cut (their rows unchanged)"},
				func() float64 { h, _, _ := closed.Stats(); return float64(h) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "teller_dashboard_closed_part_computed_total",
				Help: "Reports that computed the figures of the sessions closed before the cut (first view, or their rows changed)"},
				func() float64 { _, m, _ := closed.Stats(); return float64(m) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "teller_dashboard_closed_part_bytes",
				Help: "Bytes of closed sessions' figures kept (bounded by report.DefaultClosedBytes)"},
				func() float64 { _, _, b := closed.Stats(); return float64(b) }))
	}
	opts := dashboard.Options{Reports: reports, Sites: db, Activity: db, Accounts: accounts, CollectorURL: cfg.CollectorURL,
		MaxQueries: max(1, cfg.Store.MaxConns*3/4),
		TrustProxy: len(cfg.TrustedProxies) > 0, Logger: log, Registerer: reg}
	opts.Goals = report.NewGoalStore(db) // read-only: goals are listed, not changed
	if sitesDB != nil {
		opts.SiteSaver, opts.Goals = sitesDB, report.NewGoalStore(sitesDB)
	}
	d, err := dashboard.New(opts)
	if err != nil {
		return err
	}
	if hooks.Clock != nil {
		d.SetClock(hooks.Clock)
	}
	r := service.NewEngine(log)
	// gin trusts every proxy unless told otherwise; trust only those named.
	if err := r.SetTrustedProxies(cfg.TrustedProxies); err != nil {
		return fmt.Errorf("dashboard: -trusted-proxies: %w", err)
	}
	service.Mount(r, reg, map[string]service.Check{"clickhouse": db.Ping})
	d.Mount(r)
	if setup != "" {
		log.Warn("no dashboard user yet and no -dashboard-password: open the setup link (valid once, until an admin exists) to create the first admin",
			"path", "/setup?token="+url.QueryEscape(setup))
	}
	log.Info("dashboard listening", "addr", cfg.Listen)
	return service.Serve(ctx, cfg.Listen, r, log, hooks.Ready)
}
