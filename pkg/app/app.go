// Package app is the composition root: it builds each Teller service from its
// configuration (each service's flags, gathered from the packages that own
// them and documented in README's table) and runs it until its context ends. A service starts in stages: configure (flags,
// then TELLER_ variables), validate (every setting, before any I/O; a bad one
// is a usage error, exit status 2), connect (ClickHouse, then the schema is
// migrated with -migrate or else checked), run. cmd/collector, cmd/sessionizer, cmd/dashboard and
// the all-in-one dev mode (cmd/teller dev) all start services through it, so
// there is exactly one way each service is wired.
package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/teller-analytics/teller/pkg/bus"
	"github.com/teller-analytics/teller/pkg/collector"
	"github.com/teller-analytics/teller/pkg/config"
	"github.com/teller-analytics/teller/pkg/gctune"
	"github.com/teller-analytics/teller/pkg/geo"
	"github.com/teller-analytics/teller/pkg/identity"
	"github.com/teller-analytics/teller/pkg/service"
	"github.com/teller-analytics/teller/pkg/sessionizer"
	"github.com/teller-analytics/teller/pkg/site"
	"github.com/teller-analytics/teller/pkg/snippet"
	"github.com/teller-analytics/teller/pkg/store"
)

// Hooks let an embedding program observe or steer a service. None is a flag:
// they are for the dev mode and tests.
type Hooks struct {
	// Ready receives the bound HTTP address once the service serves.
	Ready func(net.Addr)
	// AdminReady receives the bound address of a separate health and
	// metrics listener (the collector's -admin-listen), when there is one.
	AdminReady func(net.Addr)
	// Clock replaces the collector's event clock (tests replay visits
	// across hours without sleeping).
	Clock func() time.Time
	// Registry receives the service's metrics; default a fresh one.
	Registry *prometheus.Registry
}

func (h *Hooks) registry() *prometheus.Registry {
	if h.Registry == nil {
		h.Registry = service.NewRegistry()
	}
	return h.Registry
}

// Defaults of the services' own flags; the ports are also those the README,
// Dockerfile, docker-compose.yml and the dev mode use (tests tie them).
const (
	DefaultCollectorListen = ":8081"
	// DefaultCollectorAdminListen serves the collector's health and
	// metrics on loopback only: the public port serves what browsers need.
	DefaultCollectorAdminListen = "127.0.0.1:8091"
	DefaultDashboardListen      = ":8082"
	DefaultSessionizerListen    = ":8083"
	DefaultDashboardUser        = "admin"
	// DefaultDashboardMaxConns leaves room for several site pages at once:
	// a page runs its reports in parallel, one connection each.
	DefaultDashboardMaxConns = 32
)

// connectAttempts bounds how long a service waits for ClickHouse to come up
// (one attempt a second; in docker-compose the services may start first).
const connectAttempts = 60

// registerMigrate adds -migrate, which every service has.
func registerMigrate(fs *flag.FlagSet, migrate *bool) {
	fs.BoolVar(migrate, "migrate", false, "apply pending schema migrations at start; without it the service refuses to start while migrations are pending (apply them with `teller migrate`)")
}

// openStore connects to ClickHouse, retrying while it is not up yet, then
// migrates (migrate) or checks that no migration is pending.
func openStore(ctx context.Context, cfg store.Config, migrate bool, log *slog.Logger) (*store.DB, error) {
	var lastErr error
	for attempt := 0; attempt < connectAttempts; attempt++ {
		db, err := store.Open(ctx, cfg, log)
		if err == nil {
			if err = prepareSchema(ctx, db, migrate); err != nil {
				db.Close()
				return nil, err
			}
			log.Info("ClickHouse ready", "addr", cfg.Addr, "database", cfg.Database, "version", db.ServerVersion())
			return db, nil
		}
		lastErr = err
		if attempt == 0 {
			log.Warn("waiting for ClickHouse", "addr", cfg.Addr, "err", err)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
	return nil, lastErr
}

// ErrSchemaPending is returned when the database lacks migrations and the
// service was not told to apply them.
var ErrSchemaPending = errors.New("schema migrations are pending")

// prepareSchema applies pending migrations (migrate) or refuses to go on
// while any is pending, so a service never runs on a schema it does not know
// and one with a read-only user never needs to write it.
func prepareSchema(ctx context.Context, db *store.DB, migrate bool) error {
	if migrate {
		return db.Migrate(ctx)
	}
	return CheckSchema(ctx, db)
}

// CheckSchema reports ErrSchemaPending, naming the missing migrations and how
// to apply them, when db lacks any.
func CheckSchema(ctx context.Context, db *store.DB) error {
	pending, err := db.Pending(ctx)
	if err != nil {
		return err
	}
	if len(pending) == 0 {
		return nil
	}
	names := make([]string, len(pending))
	for i, m := range pending {
		names[i] = m.Name
	}
	return fmt.Errorf("%w: database %s lacks %d (%s): apply them with `teller migrate` (same -clickhouse-* flags) or start with -migrate (TELLER_MIGRATE=true)",
		ErrSchemaPending, db.Database(), len(pending), strings.Join(names, ", "))
}

// loadSites loads the site registry and keeps it fresh until ctx ends.
func loadSites(ctx context.Context, db *store.DB, log *slog.Logger) (*site.Registry, error) {
	sites := site.NewRegistry(db, site.DefaultReloadInterval, log)
	if err := sites.Load(ctx); err != nil {
		return nil, err
	}
	go sites.Run(ctx)
	return sites, nil
}

// CollectorConfig configures the collector service.
type CollectorConfig struct {
	Listen string
	// AdminListen serves /healthz, /readyz and /metrics; empty serves them
	// on Listen (what a CollectorConfig written as a literal gets).
	AdminListen   string
	Timeouts      service.Timeouts
	Store         store.Config
	Kafka         bus.Config
	CookieSecrets config.StringList
	CookieDomain  string
	CookieMaxAge  time.Duration
	// RateClient, RateBrowser and RateSite are the token buckets per client
	// address, per address and user agent, and per site (a site's own
	// setting wins); zero is no limit.
	RateClient, RateBrowser, RateSite collector.Rate
	ClientIPHeader                    string
	// GeoDB is the country database file (scripts/fetch-geo.sh); empty
	// leaves every country empty.
	GeoDB       string
	CreateTopic bool
	Migrate     bool
	Log         service.LogConfig
	Import      ImportConfig
	Spool       SpoolConfig
	// GC is the garbage collector's target and soft memory limit
	// (-gc-percent, default collector.GCPercent, and -memory-limit-mib).
	// A config without flags (a literal: the dev mode, tests) leaves it
	// unset and runs with collector.TuneGC's target alone.
	GC gctune.Config
	// gcFlags is true once RegisterFlags added GC's flags.
	gcFlags bool
	// Pprof, if set, serves net/http/pprof on this address (off by default;
	// keep it on loopback): where a running collector's CPU goes.
	Pprof string
}

// Collector defaults: a person's browser rarely sends more than a few events
// a second; an address may be a whole office behind one NAT.
var (
	defaultCollectorTimeouts = service.Timeouts{Read: 10 * time.Second, Write: 10 * time.Second, Idle: 60 * time.Second}
	defaultRateClient        = collector.Rate{PerSecond: 20, Burst: 200}
	defaultRateBrowser       = collector.Rate{PerSecond: 5, Burst: 50}
)

// RegisterFlags adds the collector's flags.
func (c *CollectorConfig) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Listen, "listen", DefaultCollectorListen, "HTTP address the collector serves to browsers (snippet, events)")
	fs.StringVar(&c.AdminListen, "admin-listen", DefaultCollectorAdminListen, "HTTP address of the collector's health and metrics (keep it off the public network); empty serves them on -listen")
	c.Timeouts = defaultCollectorTimeouts
	c.Timeouts.RegisterFlags(fs)
	c.RateClient, c.RateBrowser = defaultRateClient, defaultRateBrowser
	fs.Var(&c.RateClient, "rate-client", "events per second and burst per client address, e.g. 20,200 (0: no limit)")
	fs.Var(&c.RateBrowser, "rate-browser", "events per second and burst per client address and user agent (0: no limit)")
	fs.Var(&c.RateSite, "rate-site", "events per second and burst per site unless the site sets its own (0: no limit)")
	fs.StringVar(&c.ClientIPHeader, "client-ip-header", "", "header a trusted reverse proxy puts the client address in (its last entry counts), e.g. X-Forwarded-For; empty: the connection's address")
	fs.StringVar(&c.GeoDB, "geo-db", "", "MaxMind DB format country database (scripts/fetch-geo.sh fetches DB-IP's); empty: no countries")
	fs.DurationVar(&c.CookieMaxAge, "cookie-max-age", collector.DefaultCookieMaxAge, "lifetime of the visitor cookie, renewed on every event")
	c.Store.RegisterFlags(fs)
	c.Kafka.RegisterFlags(fs)
	c.Kafka.RegisterCreateFlags(fs)
	c.Kafka.RegisterDeadLetterFlags(fs)
	c.Spool.RegisterFlags(fs)
	fs.Var(&c.CookieSecrets, "cookie-secret", "comma-separated keys (>= 16 bytes) signing visitor cookies: the first signs, all verify (rotation); required")
	fs.StringVar(&c.CookieDomain, "cookie-domain", "", "Domain attribute of the visitor cookie, e.g. example.com when the collector is on stats.example.com")
	fs.BoolVar(&c.CreateTopic, "kafka-create-topic", true, "create the events topic if it does not exist")
	c.Import.RegisterFlags(fs)
	c.GC.RegisterFlags(fs, collector.GCPercent)
	c.gcFlags = true
	fs.StringVar(&c.Pprof, "pprof", "", pprofUsage)
	registerMigrate(fs, &c.Migrate)
	c.Log.RegisterFlags(fs)
}

// Validate reports, naming the flags, everything wrong with the
// configuration. It does no I/O.
func (c *CollectorConfig) Validate() error {
	errs := []error{config.CheckHostPort("listen", c.Listen, true), c.Store.Validate(), c.Log.Validate(), c.Import.Validate(c.Kafka), c.Spool.Validate()}
	if c.gcFlags || c.GC != (gctune.Config{}) {
		errs = append(errs, c.GC.Validate())
	}
	if c.Pprof != "" {
		errs = append(errs, config.CheckHostPort("pprof", c.Pprof, true))
	}
	if c.AdminListen != "" {
		errs = append(errs, config.CheckHostPort("admin-listen", c.AdminListen, true))
	}
	if c.Timeouts != (service.Timeouts{}) {
		errs = append(errs, c.Timeouts.Validate())
	}
	if c.CookieMaxAge < 0 {
		errs = append(errs, fmt.Errorf("-cookie-max-age %v: want a positive duration such as 9480h", c.CookieMaxAge))
	}
	if strings.ContainsAny(c.ClientIPHeader, " :\r\n") {
		errs = append(errs, fmt.Errorf("-client-ip-header %q: want a header name such as X-Forwarded-For", c.ClientIPHeader))
	}
	if c.CreateTopic {
		errs = append(errs, c.Kafka.ValidateCreate())
	} else {
		errs = append(errs, c.Kafka.Validate())
	}
	if _, err := c.signer(); err != nil {
		errs = append(errs, err)
	}
	if c.CookieDomain != "" && (strings.ContainsAny(c.CookieDomain, "/:; ") || strings.Trim(c.CookieDomain, ".") == "") {
		errs = append(errs, fmt.Errorf("-cookie-domain %q: want a host name such as example.com", c.CookieDomain))
	}
	return errors.Join(errs...)
}

func (c *CollectorConfig) signer() (*identity.Signer, error) {
	signer, err := identity.NewSigner(c.CookieSecrets...)
	if errors.Is(err, identity.ErrNoKey) {
		return nil, errors.New("-cookie-secret: no cookie secret: set -cookie-secret or TELLER_COOKIE_SECRET (e.g. `openssl rand -base64 32`)")
	} else if err != nil {
		return nil, fmt.Errorf("-cookie-secret: %w", err)
	}
	return signer, nil
}

// RunCollector serves the collector until ctx ends.
func RunCollector(ctx context.Context, cfg CollectorConfig, log *slog.Logger, hooks Hooks) error {
	if cfg.gcFlags || cfg.GC != (gctune.Config{}) {
		gctune.Apply(cfg.GC, log)
	} else {
		collector.TuneGC() // a literal config (the dev mode, tests): the default target only
	}
	signer, err := cfg.signer()
	if err != nil {
		return fmt.Errorf("collector: %w", err)
	}
	db, err := openStore(ctx, cfg.Store, cfg.Migrate, log)
	if err != nil {
		return err
	}
	defer db.Close()
	if cfg.CreateTopic {
		if err := bus.EnsureTopic(ctx, cfg.Kafka); err != nil {
			return err
		}
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sites, err := loadSites(rctx, db, log)
	if err != nil {
		return err
	}

	var countries collector.Countries
	if cfg.GeoDB != "" {
		db, err := geo.Open(cfg.GeoDB)
		if err != nil {
			return fmt.Errorf("collector: -geo-db: %w", err)
		}
		defer db.Close()
		countries = db
	}
	producer := bus.NewProducer(cfg.Kafka, log)
	defer producer.Close()
	// Accepted counts for the data-completeness report; the last flush
	// runs at shutdown, before the deferred db.Close.
	accepted := collector.NewAcceptances(db, log)
	actx, stopAccepted := context.WithCancel(ctx)
	flushed := make(chan struct{})
	go func() { defer close(flushed); accepted.Run(actx, 0) }()
	defer func() { stopAccepted(); <-flushed }()
	reg := hooks.registry()
	checks := map[string]service.Check{}
	var publisher collector.Publisher = producer
	if cfg.Spool.Enabled() {
		pub, stopSpool, err := spooledPublisher(ctx, cfg.Spool, producer, log, reg)
		if err != nil {
			return err
		}
		defer stopSpool() // after Serve stopped accepting, before the producer closes
		publisher, checks["spool"] = pub, pub.Ready
	}
	opts := collector.Options{Publisher: publisher, Sites: sites, Signer: signer, Snippet: snippet.Handler(),
		CookieDomain: cfg.CookieDomain, CookieMaxAge: cfg.CookieMaxAge, ClientIPHeader: cfg.ClientIPHeader,
		Limits:          collector.Limits{Client: cfg.RateClient, ClientAgent: cfg.RateBrowser, Site: cfg.RateSite},
		Countries:       countries,
		DeadLetterTopic: cfg.Kafka.DeadLetterTopic, Accepted: accepted,
		Logger: log, Registerer: reg}
	if hooks.Clock != nil {
		opts.SetClock(hooks.Clock)
	}
	col, err := collector.New(opts)
	if err != nil {
		return err
	}
	checks["clickhouse"] = db.Ping
	checks["sites"] = func(context.Context) error {
		if !sites.Loaded() {
			return errors.New("sites not loaded")
		}
		return nil
	}
	if cfg.Pprof != "" {
		stopPprof, err := servePprof("collector", cfg.Pprof, log)
		if err != nil {
			return err
		}
		defer stopPprof()
	}
	r := service.NewEngine(log)
	col.Mount(r)
	closeImport, err := mountImport(ctx, cfg.Import, cfg.Kafka, cfg.CreateTopic, db, sites, reg, log, r)
	if err != nil {
		return err
	}
	defer closeImport()
	if cfg.AdminListen == "" {
		service.Mount(r, reg, checks)
		return serveCollector(rctx, cfg, log, hooks, r, nil)
	}
	admin := service.NewEngine(log)
	service.Mount(admin, reg, checks)
	return serveCollector(rctx, cfg, log, hooks, r, admin)
}

// servePprof serves net/http/pprof's handlers on addr (the collector's or
// the sessionizer's -pprof; service names it in errors and logs) until the
// returned function closes it. Its server has no write timeout: a CPU
// profile answers after the seconds it was asked for.
func servePprof(service, addr string, log *slog.Logger) (func(), error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s: -pprof %s: %w", service, addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	log.Info(service+" profiles listening", "addr", l.Addr().String())
	go func() { _ = srv.Serve(l) }()
	return func() { _ = srv.Close() }, nil
}

// serveCollector binds the public listener and, with admin, the health and
// metrics one before serving either, so a taken port fails the start; it
// serves until ctx ends or one of them fails.
func serveCollector(ctx context.Context, cfg CollectorConfig, log *slog.Logger, hooks Hooks, public, admin http.Handler) error {
	l, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("collector: listen on %s: %w", cfg.Listen, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 2)
	if admin != nil {
		al, err := net.Listen("tcp", cfg.AdminListen)
		if err != nil {
			l.Close()
			return fmt.Errorf("collector: -admin-listen %s: %w", cfg.AdminListen, err)
		}
		log.Info("collector health and metrics listening", "addr", al.Addr().String())
		go func() {
			err := service.ServeListenerTimeouts(ctx, al, admin, service.DefaultTimeouts, hooks.AdminReady)
			cancel()
			errc <- err
		}()
	} else {
		errc <- nil
	}
	log.Info("collector listening", "addr", l.Addr().String(), "topic", cfg.Kafka.Topic, "brokers", cfg.Kafka.Brokers.String())
	err = service.ServeListenerTimeouts(ctx, l, public, cfg.Timeouts, hooks.Ready)
	cancel()
	return errors.Join(err, <-errc)
}

// SessionizerConfig configures the sessionizer service.
type SessionizerConfig struct {
	Listen      string
	Store       store.Config
	Kafka       bus.Config
	Sessionizer sessionizer.Config
	Migrate     bool
	Log         service.LogConfig
	// Pprof, if set, serves net/http/pprof on this address (off by default;
	// keep it on loopback): where a running sessionizer's CPU and heap go.
	Pprof string
}

// pprofUsage is the -pprof flag's usage, the same for every service.
const pprofUsage = "serve net/http/pprof (CPU and heap profiles) on this address, e.g. 127.0.0.1:6060; empty: off. Keep it off the public network"

// RegisterFlags adds the sessionizer's flags.
func (c *SessionizerConfig) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Listen, "listen", DefaultSessionizerListen, "HTTP address for health and metrics")
	c.Store.RegisterFlags(fs)
	c.Kafka.RegisterFlags(fs)
	c.Sessionizer.RegisterFlags(fs)
	fs.StringVar(&c.Pprof, "pprof", "", pprofUsage)
	registerMigrate(fs, &c.Migrate)
	c.Log.RegisterFlags(fs)
}

// Validate reports, naming the flags, everything wrong with the
// configuration. It does no I/O.
func (c *SessionizerConfig) Validate() error {
	errs := []error{config.CheckHostPort("listen", c.Listen, true), c.Store.Validate(), c.Kafka.Validate(),
		config.Invalid(c.Sessionizer.Validate()), c.Log.Validate()}
	if c.Pprof != "" {
		errs = append(errs, config.CheckHostPort("pprof", c.Pprof, true))
	}
	return errors.Join(errs...)
}

// RunSessionizer consumes events until ctx ends, serving health and metrics.
func RunSessionizer(ctx context.Context, cfg SessionizerConfig, log *slog.Logger, hooks Hooks) error {
	gctune.Apply(cfg.Sessionizer.GC, log)
	db, err := openStore(ctx, cfg.Store, cfg.Migrate, log)
	if err != nil {
		return err
	}
	defer db.Close()
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sites, err := loadSites(rctx, db, log)
	if err != nil {
		return err
	}
	reg := hooks.registry()
	s, err := sessionizer.New(sessionizer.Options{Config: cfg.Sessionizer, Kafka: cfg.Kafka, Store: db, Sites: sites,
		Logger: log, Registerer: reg})
	if err != nil {
		return err
	}
	r := service.NewEngine(log)
	// "consumer": a member of its group, its partitions checkpointed recently
	// (sessionizer.Ready); see docs/sessionizer.md.
	service.Mount(r, reg, map[string]service.Check{"clickhouse": db.Ping, "consumer": s.Ready})
	if cfg.Pprof != "" {
		stopPprof, err := servePprof("sessionizer", cfg.Pprof, log)
		if err != nil {
			return err
		}
		defer stopPprof()
	}
	// Bind first, so a taken port fails the start instead of leaving a
	// sessionizer running without health checks.
	l, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("sessionizer: listen on %s: %w", cfg.Listen, err)
	}
	errc := make(chan error, 1)
	go func() {
		err := service.ServeListener(rctx, l, r, log, hooks.Ready)
		cancel() // the HTTP side failed or ctx ended: stop consuming too
		errc <- err
	}()
	log.Info("sessionizer starting", "group", s.Group(), "topic", cfg.Kafka.Topic, "brokers", cfg.Kafka.Brokers.String())
	runErr := s.Run(rctx)
	cancel()
	return errors.Join(runErr, <-errc)
}
