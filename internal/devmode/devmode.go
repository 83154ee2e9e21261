// Package devmode runs the whole pipeline in one process for a developer's
// machine: a local ClickHouse (unless one is configured), an embedded
// Kafka-protocol broker (franz-go's kfake, unless brokers are configured),
// the collector, the sessionizer, the dashboard and a demo site whose pages
// embed the snippet. Data and generated secrets live in one folder, so a
// second run reuses them. Production runs the three services separately.
package devmode

import (
	"context"
	"encoding/json"

	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/teller-analytics/teller/pkg/app"
	"github.com/teller-analytics/teller/pkg/bus"
	"github.com/teller-analytics/teller/internal/chlocal"
	"github.com/teller-analytics/teller/pkg/config"
	"github.com/teller-analytics/teller/internal/demo"
	"github.com/teller-analytics/teller/pkg/identity"
	"github.com/teller-analytics/teller/pkg/service"
	"github.com/teller-analytics/teller/pkg/sessionizer"
	"github.com/teller-analytics/teller/pkg/site"
	"github.com/teller-analytics/teller/pkg/store"
)

// Config configures the dev mode.
type Config struct {
	DataDir           string
	Host              string
	DemoPort          int
	CollectorPort     int
	DashboardPort     int
	SessionizerPort   int
	ClickHousePort    int
	ClickHouseHTTP    int
	KafkaPort         int
	Store             store.Config
	Kafka             bus.Config
	DashboardUser     string
	DashboardPassword string
	Sessionizer       sessionizer.Config
	Log               service.LogConfig
}

// RegisterFlags adds the dev mode's flags. -clickhouse-addr and
// -kafka-brokers default to empty: empty means "start one here".
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.DataDir, "data-dir", ".teller-dev", "folder for ClickHouse and Kafka data and generated secrets (reused by the next run)")
	fs.StringVar(&c.Host, "host", "localhost", "host name in the printed URLs; services listen on 127.0.0.1")
	fs.IntVar(&c.DemoPort, "demo-port", 8080, "port of the demo site")
	fs.IntVar(&c.CollectorPort, "collector-port", 8081, "port of the collector")
	fs.IntVar(&c.DashboardPort, "dashboard-port", 8082, "port of the dashboard")
	fs.IntVar(&c.SessionizerPort, "sessionizer-port", 8083, "port of the sessionizer's health and metrics")
	fs.IntVar(&c.ClickHousePort, "dev-clickhouse-port", 19000, "native port of the local ClickHouse the dev mode starts")
	fs.IntVar(&c.ClickHouseHTTP, "dev-clickhouse-http-port", 18123, "HTTP port of the local ClickHouse the dev mode starts")
	fs.IntVar(&c.KafkaPort, "dev-kafka-port", 19092, "port of the embedded Kafka-protocol broker")
	c.Store.RegisterFlags(fs)
	fs.Lookup("clickhouse-addr").DefValue = ""
	c.Store.Addr = ""
	fs.Lookup("clickhouse-addr").Usage = "use this ClickHouse instead of starting one (empty: start a local one)"
	c.Kafka.RegisterFlags(fs)
	c.Kafka.Brokers = nil
	fs.Lookup("kafka-brokers").DefValue = ""
	fs.Lookup("kafka-brokers").Usage = "use these Kafka brokers instead of the embedded one (empty: start kfake)"
	fs.StringVar(&c.DashboardUser, "dashboard-user", "admin", "dashboard login name")
	fs.StringVar(&c.DashboardPassword, "dashboard-password", "", "dashboard password (empty: generated once and kept in the data folder)")
	c.Sessionizer.RegisterFlags(fs)
	c.Log.RegisterFlags(fs)
}

// secrets are generated on the first run and kept in DataDir/secrets.json.
type secrets struct {
	CookieSecret      string `json:"cookie_secret"`
	SessionSecret     string `json:"session_secret"`
	DashboardPassword string `json:"dashboard_password"`
}

func loadSecrets(dir string) (secrets, error) {
	path := filepath.Join(dir, "secrets.json")
	var s secrets
	if b, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(b, &s); err != nil {
			return s, fmt.Errorf("read %s: %w", path, err)
		}
	}
	changed := false
	for _, f := range []*string{&s.CookieSecret, &s.SessionSecret, &s.DashboardPassword} {
		if *f == "" {
			*f, changed = identity.RandomKey(), true
		}
	}
	if len(s.DashboardPassword) > 12 {
		s.DashboardPassword = s.DashboardPassword[:12]
	}
	if changed {
		b, _ := json.MarshalIndent(s, "", "  ")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			return s, fmt.Errorf("write %s: %w", path, err)
		}
	}
	return s, nil
}

// DemoSiteID is the site the demo pages report to.
const DemoSiteID = "demo"

// Run starts everything, prints the URLs to out and runs until ctx ends.
func Run(ctx context.Context, cfg Config, log *slog.Logger, out io.Writer) error {
	started := time.Now()
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return fmt.Errorf("dev: create %s: %w", cfg.DataDir, err)
	}
	sec, err := loadSecrets(cfg.DataDir)
	if err != nil {
		return err
	}
	if cfg.DashboardPassword == "" {
		cfg.DashboardPassword = sec.DashboardPassword
	}

	chNote := "configured"
	if cfg.Store.Addr == "" {
		srv, err := chlocal.Start(ctx, chlocal.Options{Dir: filepath.Join(cfg.DataDir, "clickhouse"),
			TCPPort: cfg.ClickHousePort, HTTPPort: cfg.ClickHouseHTTP, Logger: log})
		if err != nil {
			return fmt.Errorf("dev: %w", err)
		}
		defer func() {
			log.Info("stopping ClickHouse")
			_ = srv.Stop()
		}()
		cfg.Store.Addr = srv.Addr()
		chNote = "local, data in " + srv.Dir()
	}
	kafkaNote := "configured"
	if len(cfg.Kafka.Brokers) == 0 {
		cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(cfg.KafkaPort),
			kfake.DataDir(filepath.Join(cfg.DataDir, "kafka")),
			kfake.SeedTopics(int32(max(cfg.Kafka.Partitions, 1)), cfg.Kafka.Topic))
		if err != nil {
			return fmt.Errorf("dev: start embedded Kafka broker on port %d: %w", cfg.KafkaPort, err)
		}
		defer func() {
			log.Info("stopping embedded Kafka broker")
			cluster.Close()
		}()
		cfg.Kafka.Brokers = config.StringList(cluster.ListenAddrs())
		kafkaNote = "embedded kfake, data in " + filepath.Join(cfg.DataDir, "kafka")
	}

	db, err := store.Open(ctx, cfg.Store, log)
	if err != nil {
		return err
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return err
	}
	if _, ok, err := db.GetSite(ctx, DemoSiteID); err != nil {
		db.Close()
		return err
	} else if !ok {
		if err := db.SaveSite(ctx, site.Site{ID: DemoSiteID, Name: "Demo site", Domains: []string{"localhost", "127.0.0.1"}}); err != nil {
			db.Close()
			return err
		}
	}
	db.Close()

	listen := func(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }
	url := func(port int) string { return "http://" + net.JoinHostPort(cfg.Host, strconv.Itoa(port)) }

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, 4)
	readyc := make(chan string, 4)
	start := func(name string, run func(hooks app.Hooks) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := run(app.Hooks{Ready: func(net.Addr) { readyc <- name }})
			if err != nil && ctx.Err() == nil {
				errc <- fmt.Errorf("%s: %w", name, err)
			}
		}()
	}
	start("collector", func(h app.Hooks) error {
		return app.RunCollector(ctx, app.CollectorConfig{Listen: listen(cfg.CollectorPort), Store: cfg.Store, Kafka: cfg.Kafka,
			CookieSecrets: config.StringList{sec.CookieSecret}, CreateTopic: true}, log.With("service", "collector"), h)
	})
	start("sessionizer", func(h app.Hooks) error {
		return app.RunSessionizer(ctx, app.SessionizerConfig{Listen: listen(cfg.SessionizerPort), Store: cfg.Store, Kafka: cfg.Kafka,
			Sessionizer: cfg.Sessionizer}, log.With("service", "sessionizer"), h)
	})
	start("dashboard", func(h app.Hooks) error {
		return app.RunDashboard(ctx, app.DashboardConfig{Listen: listen(cfg.DashboardPort), Store: cfg.Store,
			User: cfg.DashboardUser, Password: cfg.DashboardPassword, LoginSecret: sec.SessionSecret}, log.With("service", "dashboard"), h)
	})
	start("demo site", func(h app.Hooks) error {
		d := demo.Site{CollectorURL: url(cfg.CollectorPort), SiteID: DemoSiteID}
		return service.Serve(ctx, listen(cfg.DemoPort), d, log, h.Ready)
	})

	for pending := 4; pending > 0; {
		select {
		case <-readyc:
			pending--
		case err := <-errc:
			cancel()
			wg.Wait()
			return err
		case <-ctx.Done():
			wg.Wait()
			return nil
		}
	}
	fmt.Fprintf(out, `
Teller is running (started in %s). Ctrl-C stops everything.

  Demo site    %s/          click around: pages embed the tracking snippet
  Dashboard    %s/          user %q, password %q
  Collector    %s/teller.js and POST /api/event
  Sessionizer  %s/metrics
  ClickHouse   %s (%s)
               clickhouse-client --port %s --database %s
  Kafka        %s (%s)

Sessions appear in the dashboard about a second after each click.
`, time.Since(started).Round(time.Millisecond), url(cfg.DemoPort), url(cfg.DashboardPort), cfg.DashboardUser, cfg.DashboardPassword,
		url(cfg.CollectorPort), url(cfg.SessionizerPort), cfg.Store.Addr, chNote, portOf(cfg.Store.Addr), cfg.Store.Database,
		cfg.Kafka.Brokers.String(), kafkaNote)

	select {
	case err := <-errc:
		cancel()
		wg.Wait()
		return err
	case <-ctx.Done():
	}
	fmt.Fprintln(out, "\nStopping: flushing sessions and checkpoints...")
	wg.Wait()
	return nil
}

func portOf(addr string) string {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return p
}
