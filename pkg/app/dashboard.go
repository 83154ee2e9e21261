package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"strings"

	"github.com/teller-analytics/teller/pkg/config"
	"github.com/teller-analytics/teller/pkg/dashboard"
	"github.com/teller-analytics/teller/pkg/report"
	"github.com/teller-analytics/teller/pkg/service"
	"github.com/teller-analytics/teller/pkg/store"
)

// DashboardConfig configures the dashboard service.
type DashboardConfig struct {
	Listen         string
	Store          store.Config
	User           string
	Password       string
	SessionSecret  string
	TrustedProxies config.StringList
	Migrate        bool
	Log            service.LogConfig
}

// RegisterFlags adds the dashboard's flags.
func (c *DashboardConfig) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Listen, "listen", DefaultDashboardListen, "HTTP address the dashboard serves")
	c.Store.RegisterFlags(fs)
	fs.StringVar(&c.User, "dashboard-user", DefaultDashboardUser, "login name")
	fs.StringVar(&c.Password, "dashboard-password", "", "login password, plain or an argon2id hash ($argon2id$...); required")
	fs.StringVar(&c.SessionSecret, "session-secret", "", "key (>= 16 bytes) signing login sessions and CSRF tokens; required")
	fs.Var(&c.TrustedProxies, "trusted-proxies", "comma-separated addresses or CIDRs of reverse proxies whose X-Forwarded-For names the client (login rate limits); empty: use the connection's address")
	registerMigrate(fs, &c.Migrate)
	c.Log.RegisterFlags(fs)
}

// Validate reports, naming the flags, everything wrong with the
// configuration. It does no I/O.
func (c *DashboardConfig) Validate() error {
	errs := []error{config.CheckHostPort("listen", c.Listen, true), c.Store.Validate(), c.Log.Validate()}
	if c.Password == "" {
		errs = append(errs, errors.New("-dashboard-password: no password: set -dashboard-password or TELLER_DASHBOARD_PASSWORD"))
	}
	if c.SessionSecret == "" {
		errs = append(errs, errors.New("-session-secret: no session secret: set -session-secret or TELLER_SESSION_SECRET (e.g. `openssl rand -base64 32`)"))
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

// LogConfig implements Service.
func (c *DashboardConfig) LogConfig() service.LogConfig { return c.Log }

// Run implements Service.
func (c *DashboardConfig) Run(ctx context.Context, log *slog.Logger, hooks Hooks) error {
	return RunDashboard(ctx, *c, log, hooks)
}

// RunDashboard serves the dashboard until ctx ends.
func RunDashboard(ctx context.Context, cfg DashboardConfig, log *slog.Logger, hooks Hooks) error {
	db, err := openStore(ctx, cfg.Store, cfg.Migrate, log)
	if err != nil {
		return err
	}
	defer db.Close()
	reg := hooks.registry()
	opts := dashboard.Options{Reports: report.New(db), Sites: db, AdminUser: cfg.User,
		SessionKey: []byte(cfg.SessionSecret), TrustProxy: len(cfg.TrustedProxies) > 0, Logger: log, Registerer: reg}
	if strings.HasPrefix(cfg.Password, "$argon2id$") {
		opts.AdminPasswordHash = cfg.Password
	} else {
		opts.AdminPassword = cfg.Password
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
	log.Info("dashboard listening", "addr", cfg.Listen)
	return service.Serve(ctx, cfg.Listen, r, log, hooks.Ready)
}
