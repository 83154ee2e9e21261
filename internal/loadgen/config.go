package loadgen

import (
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/teller-analytics/teller/pkg/config"
	"github.com/teller-analytics/teller/pkg/service"
)

// Config is one load-generation run. RegisterFlags sets the flags'
// defaults. In a Config built in code, a zero field means what its comment
// says (no rate limit, no bots, no progress lines, ...); the connection
// settings, Visitors, Concurrency, Timeout and Paths get the flags' defaults.
type Config struct {
	// Collector is the collector's base URL; events go to Collector + /api/event.
	Collector string
	// Site is the registered site id the events are for (data-site).
	Site string
	// PageOrigin is the origin of the simulated pages (scheme://host[:port]):
	// it is sent as the Origin header and is the origin of every event URL,
	// so its host must be one of the site's domains.
	PageOrigin string
	// Paths are the site's pages that visits walk through.
	Paths config.StringList
	// Visitors is how many simulated browsers there are, each with its own
	// visitor cookie and user agent; they come back for more visits while the
	// run lasts.
	Visitors int
	// Duration stops the run after this long (0: no time limit).
	Duration time.Duration
	// Requests stops the run after this many requests (0: no count limit).
	// At least one of Duration and Requests must be set.
	Requests int64
	// Rate is the most requests per second sent, across all workers
	// (0: as fast as the workers get answers).
	Rate float64
	// Concurrency is the number of workers, hence the most requests in flight.
	Concurrency int
	// Timeout bounds each request.
	Timeout time.Duration
	// BotShare is the fraction of simulated browsers that are bots (0..1).
	BotShare float64
	// Seed makes the simulated traffic reproducible (0: a random seed).
	Seed uint64
	// AllowErrors makes 4xx/5xx answers and transport errors no failure.
	AllowErrors bool
	// Progress is how often a progress line is logged (0: never).
	Progress time.Duration
	// SessionGap compresses time (schedule.go): the session gap the
	// pipeline's sessionizer runs with, shortened for the run; visits are
	// paced in proportion to it and, with Verify, every visit must come out
	// as exactly one session. 0: requests follow each other as fast as the
	// rate allows, and sessions are not checked.
	SessionGap time.Duration
	// Verify configures the check against ClickHouse; off when Addr is empty.
	Verify VerifyConfig
	// Log selects the log level and format of progress lines (stderr).
	Log service.LogConfig

	// tlsConfig replaces the default TLS configuration of an https
	// collector (tests: their server's certificate).
	tlsConfig *tls.Config
}

// VerifyConfig is how to reach the ClickHouse the sessionizer writes to.
type VerifyConfig struct {
	// Addr is the native-protocol address, host:port; empty turns the check off.
	Addr     string
	Database string
	User     string
	Password string
	// Timeout bounds the wait for the sessionizer to write every event.
	Timeout time.Duration
}

// DefaultPaths are the pages visits walk through unless -paths says otherwise.
var DefaultPaths = []string{"/", "/pricing", "/features", "/docs", "/docs/getting-started", "/blog",
	"/blog/launch", "/about", "/signup", "/contact"}

// RegisterFlags adds the load generator's flags to fs, with their defaults.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Collector, "collector", "http://localhost:8081", "collector base URL; events are posted to <collector>/api/event")
	fs.StringVar(&c.Site, "site", "demo", "site id the events are for (register it first: teller site add)")
	fs.StringVar(&c.PageOrigin, "page-origin", "http://localhost", "origin of the simulated pages: the Origin header and the events' URL origin; its host must be one of the site's domains")
	c.Paths = append(config.StringList{}, DefaultPaths...)
	fs.Var(&c.Paths, "paths", "comma-separated page paths that visits walk through")
	fs.IntVar(&c.Visitors, "visitors", 200, "simulated browsers, each with its own visitor cookie and user agent; they return for more visits while the run lasts")
	fs.DurationVar(&c.Duration, "duration", 30*time.Second, "stop after this long (0: no time limit; then -requests must be set)")
	fs.Int64Var(&c.Requests, "requests", 0, "stop after this many requests (0: no count limit)")
	fs.Float64Var(&c.Rate, "rate", 500, "requests per second across all workers (0: as fast as answers come)")
	fs.IntVar(&c.Concurrency, "concurrency", 16, "workers, i.e. the most requests in flight")
	fs.DurationVar(&c.Timeout, "timeout", 15*time.Second, "timeout of one request")
	fs.Float64Var(&c.BotShare, "bots", 0.03, "fraction of the browsers that are bots (crawlers, AI fetchers, headless Chrome)")
	fs.Uint64Var(&c.Seed, "seed", 0, "seed of the simulated traffic, for a reproducible mix (0: random)")
	fs.BoolVar(&c.AllowErrors, "allow-errors", false, "exit 0 even when some requests got 4xx/5xx or failed")
	fs.DurationVar(&c.Progress, "progress", 5*time.Second, "interval of progress lines on stderr (0: none)")
	fs.DurationVar(&c.SessionGap, "session-gap", 0, "compress time to the sessionizer's -session-gap (e.g. 2s, the sessionizer run with the same): think times of gap/60..gap/6, returns after gap*4/3..gap*3, and with -clickhouse-addr every visit is checked to be exactly one session (0: no pauses, no session check)")
	fs.StringVar(&c.Verify.Addr, "clickhouse-addr", "", "ClickHouse native-protocol address: when set, wait until the sessionizer wrote exactly what the collector accepted, and compare")
	fs.StringVar(&c.Verify.Database, "clickhouse-database", "teller", "ClickHouse database of Teller's tables")
	fs.StringVar(&c.Verify.User, "clickhouse-user", "default", "ClickHouse user")
	fs.StringVar(&c.Verify.Password, "clickhouse-password", "", "ClickHouse password")
	fs.DurationVar(&c.Verify.Timeout, "verify-timeout", time.Minute, "how long to wait for ClickHouse to hold every accepted event")
	c.Log.RegisterFlags(fs)
}

// Validate reports what is wrong with the configuration (wrapping
// ErrUsage), as Run would before sending anything.
func (c Config) Validate() error {
	if _, err := c.withDefaults(); err != nil {
		return fmt.Errorf("%w: %w", ErrUsage, err)
	}
	return nil
}

// withDefaults fills zero fields and reports what is wrong with the rest.
func (c Config) withDefaults() (Config, error) {
	if c.Collector == "" {
		c.Collector = "http://localhost:8081"
	}
	if c.PageOrigin == "" {
		c.PageOrigin = "http://localhost"
	}
	if len(c.Paths) == 0 {
		c.Paths = append(config.StringList{}, DefaultPaths...)
	}
	if c.Visitors <= 0 {
		c.Visitors = 200
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 16
	}
	if c.Timeout <= 0 {
		c.Timeout = 15 * time.Second
	}
	if c.Verify.Database == "" {
		c.Verify.Database = "teller"
	}
	if c.Verify.User == "" {
		c.Verify.User = "default"
	}
	if c.Verify.Timeout <= 0 {
		c.Verify.Timeout = time.Minute
	}
	var errs []error
	if c.Site == "" {
		errs = append(errs, errors.New("-site is required"))
	}
	if u, err := url.Parse(c.Collector); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("-collector %q is not an http(s) URL", c.Collector))
	}
	c.Collector = strings.TrimRight(c.Collector, "/")
	if u, err := url.Parse(c.PageOrigin); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
		errs = append(errs, fmt.Errorf("-page-origin %q is not an origin such as https://www.example.com", c.PageOrigin))
	}
	c.PageOrigin = strings.TrimRight(c.PageOrigin, "/")
	for _, p := range c.Paths {
		if !strings.HasPrefix(p, "/") {
			errs = append(errs, fmt.Errorf("-paths: %q does not start with /", p))
		}
		// Page URLs go into request headers (Referer) as they are.
		if strings.ContainsFunc(p, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
			errs = append(errs, fmt.Errorf("-paths: %q holds a space or a control character", p))
		}
	}
	if c.Duration <= 0 && c.Requests <= 0 {
		errs = append(errs, errors.New("set -duration or -requests (or both): a run must end by itself"))
	}
	if c.Duration < 0 || c.Requests < 0 || c.Rate < 0 {
		errs = append(errs, errors.New("-duration, -requests and -rate must not be negative"))
	}
	if c.SessionGap < 0 {
		errs = append(errs, fmt.Errorf("-session-gap %s is negative", c.SessionGap))
	}
	if c.BotShare < 0 || c.BotShare > 1 {
		errs = append(errs, fmt.Errorf("-bots %v is not a fraction between 0 and 1", c.BotShare))
	}
	return c, errors.Join(errs...)
}
