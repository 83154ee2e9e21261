// Package app is the composition root: it builds each Teller service from its
// configuration (flags registered here, documented in README's table) and runs
// it until its context ends. cmd/collector, cmd/sessionizer, cmd/dashboard and
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
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/teller-analytics/teller/pkg/bus"
	"github.com/teller-analytics/teller/pkg/collector"
	"github.com/teller-analytics/teller/pkg/config"
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

// openStore connects to ClickHouse, retrying while it is not up yet (in
// docker-compose the services may start first), and migrates.
func openStore(ctx context.Context, cfg store.Config, log *slog.Logger) (*store.DB, error) {
	var lastErr error
	for attempt := 0; attempt < 60; attempt++ {
		db, err := store.Open(ctx, cfg, log)
		if err == nil {
			if err = db.Migrate(ctx); err == nil {
				log.Info("ClickHouse ready", "addr", cfg.Addr, "database", cfg.Database, "version", db.ServerVersion())
				return db, nil
			}
			db.Close()
			return nil, err
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

// loadSites loads the site registry and keeps it fresh until ctx ends.
func loadSites(ctx context.Context, db *store.DB, log *slog.Logger) (*site.Registry, error) {
	sites := site.NewRegistry(db, 30*time.Second, log)
	if err := sites.Load(ctx); err != nil {
		return nil, err
	}
	go sites.Run(ctx)
	return sites, nil
}

// CollectorConfig configures the collector service.
type CollectorConfig struct {
	Listen        string
	Store         store.Config
	Kafka         bus.Config
	CookieSecrets config.StringList
	CookieDomain  string
	CreateTopic   bool
	Log           service.LogConfig
}

// RegisterFlags adds the collector's flags.
func (c *CollectorConfig) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Listen, "listen", ":8081", "HTTP address the collector serves (snippet, events, health, metrics)")
	c.Store.RegisterFlags(fs)
	c.Kafka.RegisterFlags(fs)
	fs.Var(&c.CookieSecrets, "cookie-secret", "comma-separated keys (>= 16 bytes) signing visitor cookies: the first signs, all verify (rotation); required")
	fs.StringVar(&c.CookieDomain, "cookie-domain", "", "Domain attribute of the visitor cookie, e.g. example.com when the collector is on stats.example.com")
	fs.BoolVar(&c.CreateTopic, "kafka-create-topic", true, "create the events topic if it does not exist")
	c.Log.RegisterFlags(fs)
}

// RunCollector serves the collector until ctx ends.
func RunCollector(ctx context.Context, cfg CollectorConfig, log *slog.Logger, hooks Hooks) error {
	if err := cfg.Kafka.Validate(); err != nil {
		return err
	}
	signer, err := identity.NewSigner(cfg.CookieSecrets...)
	if errors.Is(err, identity.ErrNoKey) {
		return errors.New("collector: no cookie secret: set -cookie-secret or TELLER_COOKIE_SECRET (e.g. `openssl rand -base64 32`)")
	} else if err != nil {
		return fmt.Errorf("collector: %w", err)
	}
	db, err := openStore(ctx, cfg.Store, log)
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

	producer := bus.NewProducer(cfg.Kafka, log)
	defer producer.Close()
	reg := hooks.registry()
	opts := collector.Options{Publisher: producer, Sites: sites, Signer: signer, Snippet: snippet.Handler(),
		CookieDomain: cfg.CookieDomain, Logger: log, Registerer: reg}
	if hooks.Clock != nil {
		opts.SetClock(hooks.Clock)
	}
	col, err := collector.New(opts)
	if err != nil {
		return err
	}
	r := service.NewEngine(log)
	service.Mount(r, reg, map[string]service.Check{
		"clickhouse": db.Ping,
		"sites": func(context.Context) error {
			if !sites.Loaded() {
				return errors.New("sites not loaded")
			}
			return nil
		},
	})
	col.Mount(r)
	log.Info("collector listening", "addr", cfg.Listen, "topic", cfg.Kafka.Topic, "brokers", cfg.Kafka.Brokers.String())
	return service.Serve(ctx, cfg.Listen, r, log, hooks.Ready)
}

// SessionizerConfig configures the sessionizer service.
type SessionizerConfig struct {
	Listen      string
	Store       store.Config
	Kafka       bus.Config
	Sessionizer sessionizer.Config
	Log         service.LogConfig
}

// RegisterFlags adds the sessionizer's flags.
func (c *SessionizerConfig) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Listen, "listen", ":8083", "HTTP address for health and metrics")
	c.Store.RegisterFlags(fs)
	c.Kafka.RegisterFlags(fs)
	c.Sessionizer.RegisterFlags(fs)
	c.Log.RegisterFlags(fs)
}

// RunSessionizer consumes events until ctx ends, serving health and metrics.
func RunSessionizer(ctx context.Context, cfg SessionizerConfig, log *slog.Logger, hooks Hooks) error {
	db, err := openStore(ctx, cfg.Store, log)
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
	service.Mount(r, reg, map[string]service.Check{"clickhouse": db.Ping, "kafka": s.Ready})
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
