// Package devmode runs the whole pipeline in one process for a developer's
// machine: a local ClickHouse (unless one is configured), an embedded
// Kafka-protocol broker (franz-go's kfake, unless brokers are configured),
// the collector, the sessionizer, the dashboard and a demo site whose pages
// embed the snippet. Data and generated secrets live in one folder, so a
// second run reuses them; while it runs, that folder's stack.json tells the
// teller CLI where the stack is (see Stack). Production runs the three
// services separately.
//
// Its flags read only TELLER_DEV_<FLAG> variables (Env): a shell set up for
// the services or the CLI (TELLER_CLICKHOUSE_ADDR, ...) does not change it.
package devmode

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/teller-analytics/teller/internal/chlocal"
	"github.com/teller-analytics/teller/internal/demo"
	"github.com/teller-analytics/teller/pkg/account"
	"github.com/teller-analytics/teller/pkg/app"
	"github.com/teller-analytics/teller/pkg/bus"
	"github.com/teller-analytics/teller/pkg/config"
	"github.com/teller-analytics/teller/pkg/identity"
	"github.com/teller-analytics/teller/pkg/importer"
	"github.com/teller-analytics/teller/pkg/service"
	"github.com/teller-analytics/teller/pkg/sessionizer"
	"github.com/teller-analytics/teller/pkg/site"
	"github.com/teller-analytics/teller/pkg/store"
)

// Env is the dev mode's environment rule: flag -data-dir falls back to
// TELLER_DEV_DATA_DIR, -clickhouse-addr to TELLER_DEV_CLICKHOUSE_ADDR.
var Env = config.Prefixed("dev")

// Defaults of the dev mode's flags (README: "The dev mode").
const (
	DefaultDataDir         = ".teller-dev"
	DefaultDemoPort        = 8080
	DefaultCollectorPort   = 8081
	DefaultDashboardPort   = 8082
	DefaultSessionizerPort = 8083
	// DefaultImportSessionizerPort serves the health and metrics of the
	// second sessionizer, the one on the import topic (docs/import.md).
	DefaultImportSessionizerPort = 8084
	DefaultClickHousePort        = 19000
	DefaultClickHouseHTTP        = 18123
	DefaultKafkaPort             = 19092
	DefaultDashboardUser         = "admin"
)

// Config configures the dev mode.
type Config struct {
	DataDir           string
	Host              string
	DemoPort          int
	CollectorPort     int
	DashboardPort     int
	SessionizerPort   int
	ImportPort        int
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
	fs.StringVar(&c.DataDir, "data-dir", DefaultDataDir, "folder for ClickHouse and Kafka data and generated secrets (reused by the next run)")
	fs.StringVar(&c.Host, "host", "localhost", "host name in the printed URLs; services listen on 127.0.0.1")
	fs.IntVar(&c.DemoPort, "demo-port", DefaultDemoPort, "port of the demo site")
	fs.IntVar(&c.CollectorPort, "collector-port", DefaultCollectorPort, "port of the collector")
	fs.IntVar(&c.DashboardPort, "dashboard-port", DefaultDashboardPort, "port of the dashboard")
	fs.IntVar(&c.SessionizerPort, "sessionizer-port", DefaultSessionizerPort, "port of the sessionizer's health and metrics")
	fs.IntVar(&c.ImportPort, "import-sessionizer-port", DefaultImportSessionizerPort, "port of the health and metrics of the sessionizer that reads imported history (topic "+importer.DefaultTopic+")")
	fs.IntVar(&c.ClickHousePort, "clickhouse-port", DefaultClickHousePort, "native port of the local ClickHouse the dev mode starts")
	fs.IntVar(&c.ClickHouseHTTP, "clickhouse-http-port", DefaultClickHouseHTTP, "HTTP port of the local ClickHouse the dev mode starts")
	fs.IntVar(&c.KafkaPort, "kafka-port", DefaultKafkaPort, "port of the embedded Kafka-protocol broker")
	c.Store.RegisterFlags(fs)
	fs.Lookup("clickhouse-addr").DefValue = ""
	c.Store.Addr = ""
	fs.Lookup("clickhouse-addr").Usage = "use this ClickHouse instead of starting one (empty: start a local one)"
	c.Kafka.RegisterFlags(fs)
	c.Kafka.RegisterCreateFlags(fs)
	c.Kafka.Brokers = nil
	fs.Lookup("kafka-brokers").DefValue = ""
	fs.Lookup("kafka-brokers").Usage = "use these Kafka brokers instead of the embedded one (empty: start kfake)"
	fs.StringVar(&c.DashboardUser, "dashboard-user", app.DefaultDashboardUser, "dashboard login name")
	fs.StringVar(&c.DashboardPassword, "dashboard-password", "", "dashboard password (empty: generated once and kept in the data folder)")
	c.Sessionizer.RegisterFlags(fs)
	c.Log.RegisterFlags(fs)
}

// placeholderSecret stands in for secrets generated at start when Validate
// checks the services' configurations.
const placeholderSecret = "validate-placeholder-secret-0123456789"

// Validate reports, naming the flags, everything wrong with the
// configuration, including the services' configurations the dev mode will
// run. It does no I/O.
func (c *Config) Validate() error {
	var errs []error
	if c.DataDir == "" {
		errs = append(errs, errors.New("-data-dir: empty"))
	}
	if c.Host == "" {
		errs = append(errs, errors.New("-host: empty"))
	}
	for _, p := range []struct {
		flag string
		port int
	}{{"demo-port", c.DemoPort}, {"collector-port", c.CollectorPort}, {"dashboard-port", c.DashboardPort},
		{"sessionizer-port", c.SessionizerPort}, {"import-sessionizer-port", c.ImportPort}, {"clickhouse-port", c.ClickHousePort},
		{"clickhouse-http-port", c.ClickHouseHTTP}, {"kafka-port", c.KafkaPort}} {
		if p.port < 1 || p.port > 65535 {
			errs = append(errs, fmt.Errorf("-%s %d: not a port number", p.flag, p.port))
		}
	}
	chAddr, brokers := c.Store.Addr, c.Kafka.Brokers
	if chAddr == "" {
		chAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(max(c.ClickHousePort, 1)))
	}
	if len(brokers) == 0 {
		brokers = config.StringList{net.JoinHostPort("127.0.0.1", strconv.Itoa(max(c.KafkaPort, 1)))}
	}
	password := c.DashboardPassword
	if password == "" {
		password = placeholderSecret
	}
	svc := c.services(chAddr, brokers, secrets{CookieSecret: placeholderSecret, SessionSecret: placeholderSecret,
		DashboardPassword: password})
	for _, svc := range []interface{ Validate() error }{&svc.collector, &svc.sessionizer, &svc.importSessionizer, &svc.dashboard} {
		errs = append(errs, svc.Validate())
	}
	if c.DashboardUser == "" {
		errs = append(errs, errors.New("-dashboard-user: empty"))
	}
	return errors.Join(errs...)
}

// stackServices are the configurations the dev mode runs the services with.
type stackServices struct {
	collector                      app.CollectorConfig
	sessionizer, importSessionizer app.SessionizerConfig
	dashboard                      app.DashboardConfig
}

// services are the configurations of the stack: the collector with its
// import endpoint, the live sessionizer, a second sessionizer group on the
// import topic (as docs/import.md runs it beside the live one), the dashboard.
func (c *Config) services(chAddr string, brokers config.StringList, sec secrets) stackServices {
	listen := func(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }
	st := c.Store
	st.Addr = chAddr
	kafka := c.Kafka
	kafka.Brokers = brokers
	colKafka := kafka
	colKafka.DeadLetterTopic = bus.DefaultDeadLetterTopic
	// The dev mode applies the schema itself before starting them; -migrate
	// on each is what docker-compose does too. The collector spools in the
	// data folder, as production should (docs/durability.md).
	spool := app.SpoolConfig{Dir: filepath.Join(c.DataDir, "spool"), MaxBytes: app.DefaultSpoolMaxBytes,
		ReadyBytes: app.DefaultSpoolReadyBytes, Fsync: app.DefaultSpoolFsync}
	importKafka := kafka
	importKafka.Topic = importer.DefaultTopic
	importRules := c.Sessionizer
	importRules.Group = importer.DefaultGroup
	return stackServices{
		collector: app.CollectorConfig{Listen: listen(c.CollectorPort), Store: st, Kafka: colKafka,
			CookieSecrets: config.StringList{sec.CookieSecret}, CreateTopic: true, Migrate: true, Log: c.Log, Spool: spool,
			Import: app.ImportConfig{Topic: importer.DefaultTopic, Horizon: importer.DefaultHorizon}},
		sessionizer: app.SessionizerConfig{Listen: listen(c.SessionizerPort), Store: st, Kafka: kafka, Sessionizer: c.Sessionizer,
			Migrate: true, Log: c.Log},
		importSessionizer: app.SessionizerConfig{Listen: listen(c.ImportPort), Store: st, Kafka: importKafka, Sessionizer: importRules,
			Migrate: true, Log: c.Log},
		dashboard: app.DashboardConfig{Listen: listen(c.DashboardPort), Store: st, User: c.DashboardUser, Password: sec.DashboardPassword,
			LoginSecret: sec.SessionSecret, LoginIdleTimeout: account.DefaultIdleTimeout, LoginLifetime: account.DefaultLifetime,
			CollectorURL: "http://" + net.JoinHostPort(c.Host, strconv.Itoa(c.CollectorPort)), Migrate: true, Log: c.Log},
	}
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

// Stack is where a running dev mode's servers are. The dev mode writes it to
// DataDir/stack.json once everything serves and removes it when it stops;
// the teller CLI reads it (FindStack) so that its commands reach the dev
// ClickHouse without flags.
type Stack struct {
	// PID is the dev mode's process; the file counts only while it lives.
	PID            int      `json:"pid"`
	ClickHouseAddr string   `json:"clickhouse_addr"`
	Database       string   `json:"clickhouse_database"`
	KafkaBrokers   []string `json:"kafka_brokers"`
	CollectorURL   string   `json:"collector_url"`
	DashboardURL   string   `json:"dashboard_url"`
	DemoURL        string   `json:"demo_url"`
	DemoSiteID     string   `json:"demo_site_id"`
}

// StackFile is the stack file of the dev mode using dataDir.
func StackFile(dataDir string) string { return filepath.Join(dataDir, "stack.json") }

// FindStack reads the stack file in dataDir. ok is false when there is none
// or its process is gone (a dev mode that was killed leaves a stale file).
func FindStack(dataDir string) (st Stack, ok bool, err error) {
	b, err := os.ReadFile(StackFile(dataDir))
	if errors.Is(err, os.ErrNotExist) {
		return st, false, nil
	} else if err != nil {
		return st, false, fmt.Errorf("dev: read %s: %w", StackFile(dataDir), err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, false, fmt.Errorf("dev: read %s: %w", StackFile(dataDir), err)
	}
	return st, processAlive(st.PID), nil
}

func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

func writeStack(dataDir string, st Stack) error {
	b, _ := json.MarshalIndent(st, "", "  ")
	tmp := StackFile(dataDir) + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("dev: write %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, StackFile(dataDir)); err != nil {
		return fmt.Errorf("dev: write %s: %w", StackFile(dataDir), err)
	}
	return nil
}

// Run starts everything, prints the URLs to out and runs until ctx ends.
// cfg must have passed Validate.
func Run(ctx context.Context, cfg Config, log *slog.Logger, out io.Writer) error {
	started := time.Now()
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return fmt.Errorf("dev: create %s: %w", cfg.DataDir, err)
	}
	if st, ok, _ := FindStack(cfg.DataDir); ok {
		return fmt.Errorf("dev: a dev mode (process %d) already runs with data folder %s; stop it first, or use another -data-dir and ports",
			st.PID, cfg.DataDir)
	}
	sec, err := loadSecrets(cfg.DataDir)
	if err != nil {
		return err
	}
	if cfg.DashboardPassword == "" {
		cfg.DashboardPassword = sec.DashboardPassword
	}
	sec.DashboardPassword = cfg.DashboardPassword

	chAddr, chNote := cfg.Store.Addr, "configured"
	if chAddr == "" {
		srv, err := chlocal.Start(ctx, chlocal.Options{Dir: filepath.Join(cfg.DataDir, "clickhouse"),
			TCPPort: cfg.ClickHousePort, HTTPPort: cfg.ClickHouseHTTP, Logger: log})
		if err != nil {
			return fmt.Errorf("dev: %w", err)
		}
		defer func() {
			log.Info("stopping ClickHouse")
			_ = srv.Stop()
		}()
		chAddr, chNote = srv.Addr(), "local, data in "+srv.Dir()
	}
	brokers, kafkaNote := cfg.Kafka.Brokers, "configured"
	if len(brokers) == 0 {
		cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(cfg.KafkaPort),
			kfake.DataDir(filepath.Join(cfg.DataDir, "kafka")),
			kfake.SeedTopics(int32(cfg.Kafka.Partitions), cfg.Kafka.Topic, importer.DefaultTopic))
		if err != nil {
			return fmt.Errorf("dev: start embedded Kafka broker on port %d: %w", cfg.KafkaPort, err)
		}
		defer func() {
			log.Info("stopping embedded Kafka broker")
			cluster.Close()
		}()
		brokers = config.StringList(cluster.ListenAddrs())
		kafkaNote = "embedded kfake, data in " + filepath.Join(cfg.DataDir, "kafka")
	}
	svc := cfg.services(chAddr, brokers, sec)
	col := svc.collector

	db, err := store.Open(ctx, col.Store, log)
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

	url := func(port int) string { return "http://" + net.JoinHostPort(cfg.Host, strconv.Itoa(port)) }

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, 5)
	readyc := make(chan string, 5)
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
	start("collector", func(h app.Hooks) error { return app.RunCollector(ctx, col, log.With("service", "collector"), h) })
	start("sessionizer", func(h app.Hooks) error {
		return app.RunSessionizer(ctx, svc.sessionizer, log.With("service", "sessionizer"), h)
	})
	start("import sessionizer", func(h app.Hooks) error {
		return app.RunSessionizer(ctx, svc.importSessionizer, log.With("service", "sessionizer", "topic", importer.DefaultTopic), h)
	})
	start("dashboard", func(h app.Hooks) error {
		return app.RunDashboard(ctx, svc.dashboard, log.With("service", "dashboard"), h)
	})
	start("demo site", func(h app.Hooks) error {
		d := demo.Site{CollectorURL: url(cfg.CollectorPort), SiteID: DemoSiteID}
		return service.Serve(ctx, net.JoinHostPort("127.0.0.1", strconv.Itoa(cfg.DemoPort)), d, log, h.Ready)
	})

	for pending := 5; pending > 0; {
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
	st := Stack{PID: os.Getpid(), ClickHouseAddr: chAddr, Database: col.Store.Database, KafkaBrokers: brokers,
		CollectorURL: url(cfg.CollectorPort), DashboardURL: url(cfg.DashboardPort), DemoURL: url(cfg.DemoPort), DemoSiteID: DemoSiteID}
	if err := writeStack(cfg.DataDir, st); err != nil {
		cancel()
		wg.Wait()
		return err
	}
	defer os.Remove(StackFile(cfg.DataDir))
	fmt.Fprintf(out, `
Teller is running (started in %s). Ctrl-C stops everything.

  Demo site    %s/          site id %q: click around, pages embed the tracking snippet
  Dashboard    %s/          user %q, password %q
  Collector    %s/teller.js and POST /api/event; history: POST /api/import (docs/import.md)
  Sessionizer  %s/metrics; imported history: %s/metrics
  ClickHouse   %s (%s)
               clickhouse-client --port %s --database %s
  Kafka        %s (%s)

Sessions appear in the dashboard about a second after each click (the
dashboard hides bot sessions, and a headless browser counts as a bot).
In another terminal, teller commands find this stack by itself, e.g.
  go run ./cmd/teller site list
`, time.Since(started).Round(time.Millisecond), url(cfg.DemoPort), DemoSiteID, url(cfg.DashboardPort), cfg.DashboardUser, cfg.DashboardPassword,
		url(cfg.CollectorPort), url(cfg.SessionizerPort), url(cfg.ImportPort), chAddr, chNote, portOf(chAddr), col.Store.Database,
		brokers.String(), kafkaNote)

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
