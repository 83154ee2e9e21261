package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/teller-analytics/teller/pkg/bus"
	"github.com/teller-analytics/teller/pkg/collector"
	"github.com/teller-analytics/teller/pkg/importer"
	"github.com/teller-analytics/teller/pkg/store"
)

// ImportConfig configures the collector's history import endpoint
// (POST /api/import).
type ImportConfig struct {
	// Topic receives imported events, apart from live ones; empty turns the
	// endpoint off.
	Topic string
	// Horizon is how far back an imported event may lie.
	Horizon time.Duration
}

// RegisterFlags adds -import-topic and -import-horizon.
func (c *ImportConfig) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Topic, "import-topic", importer.DefaultTopic, "Kafka topic for imported history (POST /api/import), sessionized by its own sessionizer group (-kafka-topic teller.import -kafka-group teller-import); empty: no import endpoint")
	fs.DurationVar(&c.Horizon, "import-horizon", importer.DefaultHorizon, "oldest event time an import may carry, back from now")
}

// Validate checks the import settings against the live topic's. Without a
// topic the endpoint is off and nothing else matters (a config built in
// code, like the dev mode's, has none unless it asks for one).
func (c *ImportConfig) Validate(live bus.Config) error {
	if c.Topic == "" {
		return nil
	}
	var errs []error
	if c.Topic == live.Topic {
		errs = append(errs, fmt.Errorf("-import-topic %q: must differ from -kafka-topic, or imported history would move the live partitions' clocks", c.Topic))
	}
	if c.Horizon <= 0 {
		errs = append(errs, fmt.Errorf("-import-horizon %s: must be positive", c.Horizon))
	}
	return errors.Join(errs...)
}

// mountImport serves POST /api/import on r, publishing to the import topic,
// when one is configured. The returned close flushes its producer.
func mountImport(ctx context.Context, cfg ImportConfig, kafka bus.Config, createTopic bool, db *store.DB, sites collector.Sites,
	reg prometheus.Registerer, log *slog.Logger, r gin.IRoutes) (func() error, error) {
	if cfg.Topic == "" {
		return func() error { return nil }, nil
	}
	kc := kafka
	kc.Topic = cfg.Topic
	if createTopic {
		if err := bus.EnsureTopic(ctx, kc); err != nil {
			return nil, err
		}
	}
	producer := bus.NewProducer(kc, log)
	api, err := collector.NewImportAPI(collector.ImportOptions{Publisher: producer, Sites: sites,
		Tokens: importer.NewTokens(db.Conn()), Horizon: cfg.Horizon, Logger: log, Registerer: reg})
	if err != nil {
		_ = producer.Close()
		return nil, err
	}
	api.Mount(r)
	log.Info("history import enabled", "path", "/api/import", "topic", cfg.Topic, "horizon", cfg.Horizon)
	return producer.Close, nil
}
