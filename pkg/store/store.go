// Package store owns Teller's ClickHouse access: the connection, the schema
// migrations (from schema/), and the reads and writes of sites, events,
// session versions, checkpoints and rejected messages. Report queries live
// in pkg/report.
//
// Every INSERT names its columns and goes through PrepareBatch (or INSERT ...
// SELECT): on ClickHouse 18.16 a bare INSERT fails and Exec("INSERT ...
// VALUES") hangs.
//
// With Config.Cluster set, the same migrations are applied in their cluster
// form (cluster.go): sharded by visitor behind Distributed tables,
// replicated, ON CLUSTER; writes and reads go through the Distributed names,
// so nothing else here changes.
//
// Migrate and pkg/report run through Querier (query.go), not the driver, so
// that the tests apply the same schema and queries to 18.16 and to a current
// release in-process (internal/chtest).
package store

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/teller-analytics/teller/pkg/config"
)

// Defaults of the ClickHouse flags, also used when a Config built in code
// leaves a field empty.
const (
	DefaultAddr        = "127.0.0.1:9000"
	DefaultDatabase    = "teller"
	DefaultUser        = "default"
	DefaultDialTimeout = 5 * time.Second
	// DefaultMaxConns bounds a service's connections to ClickHouse. The
	// dashboard, whose site page runs its reports at once, sets its own
	// larger default (see pkg/app).
	DefaultMaxConns = 8
)

// Config is how to reach ClickHouse.
type Config struct {
	// Addr is the native-protocol address, host:port.
	Addr string
	// Database holds Teller's tables; it is created if missing.
	Database string
	// User and Password authenticate; empty user means "default".
	User     string
	Password string
	// DialTimeout bounds connecting.
	DialTimeout time.Duration
	// MaxConns bounds the open connections; a query waits for a free one
	// at most DialTimeout (clickhouse-go's rule), then fails.
	MaxConns int
	// Cluster names the ClickHouse cluster (the servers' remote_servers
	// entry) the schema is created on: Replicated tables behind Distributed
	// ones, ON CLUSTER (cluster.go). Empty: one server.
	Cluster string
	// Compression is how blocks travel to and from ClickHouse: "lz4"
	// (CompressionLZ4, the default) or "none" (CompressionNone), which
	// saves both sides the work where the link is not the bottleneck
	// (ClickHouse on the same host or a fast LAN). Empty means lz4.
	Compression string
}

// The values of Config.Compression.
const (
	CompressionLZ4  = "lz4"
	CompressionNone = "none"
)

// RegisterFlags adds the ClickHouse flags to fs with their defaults.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Addr, "clickhouse-addr", DefaultAddr, "ClickHouse native-protocol address, host:port")
	fs.StringVar(&c.Database, "clickhouse-database", DefaultDatabase, "ClickHouse database for Teller's tables (created if missing)")
	fs.StringVar(&c.User, "clickhouse-user", DefaultUser, "ClickHouse user")
	fs.StringVar(&c.Password, "clickhouse-password", "", "ClickHouse password")
	fs.DurationVar(&c.DialTimeout, "clickhouse-dial-timeout", DefaultDialTimeout, "timeout for connecting to ClickHouse, and for waiting for a free connection")
	def := c.MaxConns // a service may preset its own default before registering
	if def == 0 {
		def = DefaultMaxConns
	}
	fs.IntVar(&c.MaxConns, "clickhouse-max-conns", def, "most connections open to ClickHouse at once")
	fs.StringVar(&c.Cluster, "clickhouse-cluster", "", "ClickHouse cluster (remote_servers name) to create the schema on, sharded and replicated; empty for one server")
	fs.StringVar(&c.Compression, "clickhouse-compression", CompressionLZ4, "compression of the blocks sent to and read from ClickHouse: lz4, or none where ClickHouse is on the same host or a fast LAN (saves CPU on both sides)")
}

// Validate reports, naming the flag, what is wrong with the settings. It does
// no I/O.
func (c *Config) Validate() error {
	var errs []error
	if err := config.CheckHostPort("clickhouse-addr", c.Addr, false); err != nil {
		errs = append(errs, err)
	}
	if !ValidDatabaseName(c.Database) {
		errs = append(errs, fmt.Errorf("-clickhouse-database %q: want letters, digits and _, not starting with a digit", c.Database))
	}
	if c.DialTimeout <= 0 {
		errs = append(errs, fmt.Errorf("-clickhouse-dial-timeout %s: must be positive", c.DialTimeout))
	}
	if c.MaxConns < 1 {
		errs = append(errs, fmt.Errorf("-clickhouse-max-conns %d: must be at least 1", c.MaxConns))
	}
	if c.Compression != "" && c.Compression != CompressionLZ4 && c.Compression != CompressionNone {
		errs = append(errs, fmt.Errorf("-clickhouse-compression %q: want %s or %s", c.Compression, CompressionLZ4, CompressionNone))
	}
	if c.Cluster != "" && !validClusterName(c.Cluster) {
		errs = append(errs, fmt.Errorf("-clickhouse-cluster %q: want letters, digits, _, - and .", c.Cluster))
	}
	return errors.Join(errs...)
}

// ValidDatabaseName is a database name that needs no quoting anywhere
// (SQL, clickhouse-client --database, the README's examples).
func ValidDatabaseName(s string) bool {
	for i, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return s != ""
}

// DB is an open ClickHouse connection pool bound to Teller's database.
type DB struct {
	conn    driver.Conn
	cfg     Config
	version Version
	log     *slog.Logger
}

// Version is a ClickHouse server release.
type Version struct{ Major, Minor, Patch uint64 }

func (v Version) String() string { return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch) }

// AtLeast reports whether v is major.minor or newer.
func (v Version) AtLeast(major, minor uint64) bool {
	return v.Major > major || (v.Major == major && v.Minor >= minor)
}

func open(cfg Config, database string) (driver.Conn, error) {
	if cfg.DialTimeout == 0 {
		cfg.DialTimeout = DefaultDialTimeout
	}
	if cfg.MaxConns == 0 { // a Config built in Go rather than from flags
		cfg.MaxConns = DefaultMaxConns
	}
	var settings clickhouse.Settings
	if cfg.Cluster != "" {
		// An insert returns once a replica of every shard has it, so a
		// retried insert (to any replica) is the same block and replicated
		// deduplication drops it. (distributed_product_mode, a string, is
		// the server profile's: this driver sends 18.16 only numbers.)
		settings = clickhouse.Settings{"insert_distributed_sync": 1}
	}
	compression := &clickhouse.Compression{Method: clickhouse.CompressionLZ4}
	if cfg.Compression == CompressionNone {
		compression = nil
	}
	return clickhouse.Open(&clickhouse.Options{
		Settings:     settings,
		Addr:         []string{cfg.Addr},
		Auth:         clickhouse.Auth{Database: database, Username: cfg.User, Password: cfg.Password},
		DialTimeout:  cfg.DialTimeout,
		ReadTimeout:  60 * time.Second,
		Compression:  compression,
		MaxOpenConns: cfg.MaxConns,
	})
}

// Open connects, creates the database if it is missing and reads the server
// version. It does not migrate; call Migrate.
func Open(ctx context.Context, cfg Config, log *slog.Logger) (*DB, error) {
	if log == nil {
		log = slog.Default()
	}
	if cfg.Database == "" {
		return nil, errors.New("store: database name is empty")
	}
	exists, err := databaseExists(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: connect to ClickHouse at %s: %w", cfg.Addr, err)
	}
	if !exists {
		boot, err := open(cfg, "default")
		if err != nil {
			return nil, fmt.Errorf("store: connect to ClickHouse at %s: %w", cfg.Addr, err)
		}
		create := "CREATE DATABASE IF NOT EXISTS " + quoteIdent(cfg.Database)
		if cfg.Cluster != "" {
			create += " ON CLUSTER " + quoteString(cfg.Cluster)
		}
		err = boot.Exec(ctx, create)
		boot.Close()
		if err != nil {
			return nil, fmt.Errorf("store: create database %s on %s: %w", cfg.Database, cfg.Addr, err)
		}
	}
	conn, err := open(cfg, cfg.Database)
	if err != nil {
		return nil, fmt.Errorf("store: connect to ClickHouse at %s: %w", cfg.Addr, err)
	}
	sv, err := conn.ServerVersion()
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("store: read ClickHouse server version at %s: %w", cfg.Addr, err)
	}
	db := &DB{conn: conn, cfg: cfg, log: log,
		version: Version{Major: sv.Version.Major, Minor: sv.Version.Minor, Patch: sv.Version.Patch}}
	if cfg.Cluster != "" {
		if err := CheckCluster(ctx, db, cfg.Cluster); err != nil {
			conn.Close()
			return nil, err
		}
	}
	log.Debug("connected to ClickHouse", "addr", cfg.Addr, "database", cfg.Database, "version", db.version)
	return db, nil
}

// databaseExists reports whether cfg's database answers. A read-only user
// (readonly=1) may not run CREATE DATABASE even with IF NOT EXISTS, nor
// reach the "default" database, so the database is created only when it
// is missing. An error means the server itself did not answer (it is down,
// or the address is wrong), which no CREATE would mend.
func databaseExists(ctx context.Context, cfg Config) (bool, error) {
	conn, err := open(cfg, cfg.Database)
	if err != nil {
		return false, err
	}
	defer conn.Close()
	err = conn.Ping(ctx)
	var ex *clickhouse.Exception
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &ex):
		return false, nil // the server answered: e.g. unknown database
	}
	return false, err
}

// Close releases the connections.
func (db *DB) Close() error { return db.conn.Close() }

// ServerVersion is the connected server's release.
func (db *DB) ServerVersion() Version { return db.version }

// Database is the database name in use.
func (db *DB) Database() string { return db.cfg.Database }

// Conn exposes the driver for batched writes outside this package (tests);
// queries go through Query and Exec (Querier).
func (db *DB) Conn() driver.Conn { return db.conn }

// Ping checks that ClickHouse answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.conn.Ping(ctx); err != nil {
		return fmt.Errorf("store: ping ClickHouse at %s: %w", db.cfg.Addr, err)
	}
	return nil
}

func quoteIdent(s string) string {
	out := []byte{'`'}
	for i := 0; i < len(s); i++ {
		if s[i] == '`' || s[i] == '\\' {
			out = append(out, '\\')
		}
		out = append(out, s[i])
	}
	return string(append(out, '`'))
}
