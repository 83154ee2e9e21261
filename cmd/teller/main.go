// Command teller is Teller's toolbox: the all-in-one dev mode, the site
// registry, the snippet, schema migrations and a health probe for
// containers. Run `teller help` for the commands. The -clickhouse-* flags
// fall back to the services' TELLER_CLICKHOUSE_* variables (and, when neither
// is set, to a running dev mode's ClickHouse); a command's own flags (-id,
// -domain, ...) have no variable; `teller dev` reads TELLER_DEV_<FLAG>.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/teller-analytics/teller/internal/devmode"
	"github.com/teller-analytics/teller/pkg/app"
	"github.com/teller-analytics/teller/pkg/config"
	"github.com/teller-analytics/teller/pkg/service"
	"github.com/teller-analytics/teller/pkg/site"
	"github.com/teller-analytics/teller/pkg/snippet"
	"github.com/teller-analytics/teller/pkg/store"
)

const usage = `Usage: teller <command> [flags]

Commands:
  dev                 run the whole pipeline locally (ClickHouse, Kafka broker, services, demo site)
  site add            register a site (or replace one) and print its snippet
  site edit           change some of a site's domains, name, time zone or settings
  site list           list registered sites
  snippet             print the snippet tag for a site
  migrate             apply the ClickHouse schema (services refuse to start while
                      migrations are pending, unless started with -migrate)
  user                list, add, remove dashboard users, set passwords, grant sites
  import              import history (access log, Umami export) into a site; import tokens
  resessionize        replay the history under new session rules and switch the reports to it
                      (-dry-run: print how the figures would change)
  healthcheck         exit 0 when a URL answers 2xx (for container health checks)
  collector | sessionizer | dashboard
                      run one service (same as its own binary)

Run "teller <command> -help" for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "teller:", err)
	}
	os.Exit(app.ExitCode(err))
}

const siteUsage = `Usage: teller site <command> [flags]

Commands:
  add     register a site (or replace one) and print its snippet
  edit    change some of a site's domains, name, time zone or settings
  list    list registered sites

Run "teller site <command> -help" for a command's flags.
`

func isHelp(arg string) bool {
	return arg == "help" || arg == "-help" || arg == "--help" || arg == "-h"
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || isHelp(args[0]) {
		fmt.Fprint(stdout, usage)
		return nil
	}
	cmd, rest := args[0], args[1:]
	if cmd == "site" {
		if len(rest) == 0 {
			fmt.Fprint(stderr, siteUsage)
			return config.Invalid(errors.New("site: name a command: add, edit or list"))
		}
		if isHelp(rest[0]) {
			fmt.Fprint(stdout, siteUsage)
			return nil
		}
		cmd, rest = "site "+rest[0], rest[1:]
	}
	switch cmd {
	case "dev":
		return runDev(ctx, rest, getenv, stdout, stderr)
	case "site add":
		return siteAdd(ctx, rest, getenv, stdout, stderr)
	case "site edit":
		return siteEdit(ctx, rest, getenv, stdout, stderr)
	case "site list":
		return siteList(ctx, rest, getenv, stdout, stderr)
	case "snippet":
		return printSnippet(ctx, rest, getenv, stdout, stderr)
	case "migrate":
		return migrate(ctx, rest, getenv, stdout, stderr)
	case "user":
		return userCommand(ctx, rest, getenv, os.Stdin, stdout, stderr)
	case "import":
		return importCommand(ctx, rest, getenv, stdout, stderr)
	case "resessionize":
		return resessionizeCommand(ctx, rest, getenv, stdout, stderr)
	case "healthcheck":
		return healthcheck(ctx, rest, stderr)
	case "collector":
		return app.Run(ctx, cmd, &app.CollectorConfig{}, rest, getenv, stdout, stderr)
	case "sessionizer":
		return app.Run(ctx, cmd, &app.SessionizerConfig{}, rest, getenv, stdout, stderr)
	case "dashboard":
		return app.Run(ctx, cmd, &app.DashboardConfig{}, rest, getenv, stdout, stderr)
	}
	fmt.Fprint(stderr, usage)
	return config.Invalid(fmt.Errorf("unknown command %q", strings.Join(args[:min(2, len(args))], " ")))
}

func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("teller "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parse parses a command's flags: the shared settings (-clickhouse-*) fall
// back to their TELLER_ variables, the command's own per-call flags (local:
// -id, -domain, ...) to none, so no vague TELLER_ID exists.
func parse(fs *flag.FlagSet, args []string, getenv func(string) string, local ...string) error {
	if err := config.ParseEnv(fs, args, getenv, config.Except(config.Service, local...)); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return config.Invalid(fmt.Errorf("%s: unexpected arguments %q (flags start with -)", fs.Name(), fs.Args()))
	}
	return nil
}

func runDev(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var cfg devmode.Config
	fs := newFlags("dev", stderr)
	cfg.RegisterFlags(fs)
	if err := config.ParseEnv(fs, args, getenv, devmode.Env); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return config.Invalid(fmt.Errorf("dev: unexpected arguments %q (flags start with -)", fs.Args()))
	}
	if err := cfg.Validate(); err != nil {
		return config.Invalid(fmt.Errorf("dev: %w", err))
	}
	log, err := cfg.Log.Logger(stderr)
	if err != nil {
		return config.Invalid(err)
	}
	return devmode.Run(ctx, cfg, log, stdout)
}

// storeCommand is a command that needs ClickHouse: its flags beside the
// -clickhouse-* ones, and what it does with the database.
type storeCommand struct {
	name string
	// flags registers the command's own flags and returns their names (they
	// have no environment variable) and a check of their values.
	flags func(fs *flag.FlagSet) (local []string, validate func() error)
	// migrate applies pending migrations; other commands refuse to run on
	// an outdated schema.
	migrate bool
	// config, if set, receives the ClickHouse settings in use.
	config *store.Config
	do     func(db *store.DB, dev *devmode.Stack) error
}

// runStore parses and validates the flags, finds the ClickHouse (the flags,
// else a running dev mode's), opens it, checks or migrates the schema, then
// runs the command.
func runStore(ctx context.Context, c storeCommand, args []string, getenv func(string) string, stderr io.Writer) error {
	var cfg store.Config
	fs := newFlags(c.name, stderr)
	cfg.RegisterFlags(fs)
	var local []string
	validate := func() error { return nil }
	if c.flags != nil {
		local, validate = c.flags(fs)
	}
	if err := parse(fs, args, getenv, local...); err != nil {
		return err
	}
	if err := errors.Join(validate(), cfg.Validate()); err != nil {
		return config.Invalid(fmt.Errorf("%s: %w", c.name, err))
	}
	dev, err := findDevStack(fs, &cfg, getenv, stderr)
	if err != nil {
		return err
	}
	log, _ := service.LogConfig{Level: "warn"}.Logger(stderr)
	db, err := store.Open(ctx, cfg, log)
	if err != nil {
		return withDevStackHint(err, cfg, getenv)
	}
	defer db.Close()
	if c.migrate {
		err = db.Migrate(ctx)
	} else {
		err = app.CheckSchema(ctx, db)
	}
	if err != nil {
		return err
	}
	if c.config != nil {
		*c.config = cfg
	}
	return c.do(db, dev)
}

// findDevStack points cfg at a running dev mode's ClickHouse when neither
// -clickhouse-addr nor TELLER_CLICKHOUSE_ADDR chose one, and says so.
func findDevStack(fs *flag.FlagSet, cfg *store.Config, getenv func(string) string, stderr io.Writer) (*devmode.Stack, error) {
	if config.Given(fs, "clickhouse-addr") {
		return nil, nil
	}
	dir := getenv(devmode.Env("data-dir"))
	if dir == "" {
		dir = devmode.DefaultDataDir
	}
	st, ok, err := devmode.FindStack(dir)
	if err != nil || !ok {
		return nil, err
	}
	cfg.Addr = st.ClickHouseAddr
	if !config.Given(fs, "clickhouse-database") {
		cfg.Database = st.Database
	}
	fmt.Fprintf(stderr, "teller: using the running dev mode's ClickHouse at %s, database %s (from %s; -clickhouse-addr or %s chooses another)\n",
		cfg.Addr, cfg.Database, devmode.StackFile(dir), config.EnvName("clickhouse-addr"))
	return &st, nil
}

// withDevStackHint adds to a connection failure that a dev mode is running
// elsewhere, when an explicit address (say an exported TELLER_CLICKHOUSE_ADDR)
// pointed past it.
func withDevStackHint(err error, cfg store.Config, getenv func(string) string) error {
	dir := getenv(devmode.Env("data-dir"))
	if dir == "" {
		dir = devmode.DefaultDataDir
	}
	if st, ok, _ := devmode.FindStack(dir); ok && st.ClickHouseAddr != cfg.Addr {
		return fmt.Errorf("%w\n(a dev mode is running with its ClickHouse at %s: drop -clickhouse-addr / unset %s to use it)",
			err, st.ClickHouseAddr, config.EnvName("clickhouse-addr"))
	}
	return err
}

// collectorURLFlag is -collector-url; its default is the dev mode's
// collector when one runs.
func collectorURLFlag(fs *flag.FlagSet, url *string) {
	fs.StringVar(url, "collector-url", "http://localhost"+app.DefaultCollectorListen, "public URL of the collector, for the printed snippet (default with a running dev mode: its collector)")
}

func collectorURL(fs *flag.FlagSet, url string, dev *devmode.Stack) string {
	if dev != nil && !config.Given(fs, "collector-url") {
		return dev.CollectorURL
	}
	return url
}

// siteSettingFlags adds a flag for every per-site setting
// (site.Fields); the values given are kept in given, by name, to be applied
// with Settings.Set (pkg/site parses and validates them).
func siteSettingFlags(fs *flag.FlagSet, given map[string]string) []string {
	for _, f := range site.Fields {
		fs.Func(f.Name, f.Usage, func(v string) error {
			given[f.Name] = v
			return nil
		})
	}
	return site.FieldNames()
}

// applySettings sets the given settings on s.
func applySettings(s *site.Site, given map[string]string) error {
	for _, f := range site.Fields {
		if v, ok := given[f.Name]; ok {
			if err := s.Settings.Set(f.Name, v); err != nil {
				return err
			}
		}
	}
	return nil
}

// printSaved confirms a save with the site's settings and its snippet.
func printSaved(stdout io.Writer, s site.Site, tag string) {
	settings := "the defaults"
	if c := s.Settings.Changed(); len(c) > 0 {
		settings = strings.Join(c, " ")
	}
	fmt.Fprintf(stdout, "Site %q saved (domains %s, time zone %s; settings: %s). Paste this into every page, before </head>:\n\n%s\n",
		s.ID, strings.Join(s.Domains, ", "), s.Timezone, settings, tag)
}

func siteAdd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var s site.Site
	var domains config.StringList
	var url string
	var fs *flag.FlagSet
	given := map[string]string{}
	return runStore(ctx, storeCommand{name: "site add",
		flags: func(f *flag.FlagSet) ([]string, func() error) {
			fs = f
			fs.StringVar(&s.ID, "id", "", "site id, used in the snippet's data-site (required)")
			fs.Var(&domains, "domain", "comma-separated host names the site is served on (required)")
			fs.StringVar(&s.Name, "name", "", "display name (default: the first domain)")
			fs.StringVar(&s.Timezone, "timezone", "UTC", "IANA time zone for report days, e.g. Europe/Berlin")
			collectorURLFlag(fs, &url)
			local := append([]string{"id", "domain", "name", "timezone", "collector-url"}, siteSettingFlags(fs, given)...)
			return local, func() error {
				s.Domains = domains
				if err := applySettings(&s, given); err != nil {
					return err
				}
				return s.Normalize()
			}
		},
		do: func(db *store.DB, dev *devmode.Stack) error {
			if err := db.SaveSite(ctx, s); err != nil {
				return err
			}
			printSaved(stdout, s, snippet.Tag(collectorURL(fs, url, dev), s.ID))
			localPagesHint(stderr, dev, false)
			return nil
		}}, args, getenv, stderr)
}

// localPagesHint tells a dev mode's user, whose pages are likely on
// localhost, that the tag skips them unless told.
func localPagesHint(stderr io.Writer, dev *devmode.Stack, allowed bool) {
	if dev != nil && !allowed {
		fmt.Fprintln(stderr, "teller: the snippet skips pages on localhost, 127.x.x.x and file:; for your own local pages, add data-allow-localhost to the tag (teller snippet -allow-localhost)")
	}
}

// siteEdit changes only what its flags name and keeps the rest of the site.
func siteEdit(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var id, name, timezone, url string
	var domains config.StringList
	var fs *flag.FlagSet
	given := map[string]string{}
	return runStore(ctx, storeCommand{name: "site edit",
		flags: func(f *flag.FlagSet) ([]string, func() error) {
			fs = f
			fs.StringVar(&id, "id", "", "id of the site to change (required)")
			fs.Var(&domains, "domain", "comma-separated host names the site is served on (replaces the list)")
			fs.StringVar(&name, "name", "", "display name")
			fs.StringVar(&timezone, "timezone", "", "IANA time zone for report days, e.g. Europe/Berlin")
			collectorURLFlag(fs, &url)
			local := append([]string{"id", "domain", "name", "timezone", "collector-url"}, siteSettingFlags(fs, given)...)
			return local, func() error {
				if id == "" {
					return errors.New("-id is required")
				}
				// Check what is given before any I/O, on a stand-in for
				// the stored site.
				probe := site.Site{ID: id, Domains: []string{"example.com"}}
				edit(&probe, fs, domains, name, timezone)
				if err := applySettings(&probe, given); err != nil {
					return err
				}
				return probe.Normalize()
			}
		},
		do: func(db *store.DB, dev *devmode.Stack) error {
			s, ok, err := db.GetSite(ctx, id)
			if err != nil {
				return err
			} else if !ok {
				return fmt.Errorf("site edit: no site %q in database %s (teller site list shows the sites, teller site add registers one)", id, db.Database())
			}
			edit(&s, fs, domains, name, timezone)
			if err := applySettings(&s, given); err != nil {
				return err
			}
			if err := db.SaveSite(ctx, s); err != nil {
				return err
			}
			printSaved(stdout, s, snippet.Tag(collectorURL(fs, url, dev), s.ID))
			localPagesHint(stderr, dev, false)
			return nil
		}}, args, getenv, stderr)
}

// edit sets the site's fields whose flags were given.
func edit(s *site.Site, fs *flag.FlagSet, domains []string, name, timezone string) {
	if config.Given(fs, "domain") {
		s.Domains = append([]string(nil), domains...)
	}
	if config.Given(fs, "name") {
		s.Name = name
	}
	if config.Given(fs, "timezone") {
		s.Timezone = timezone
	}
}

func siteList(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return runStore(ctx, storeCommand{name: "site list", do: func(db *store.DB, _ *devmode.Stack) error {
		return listSites(ctx, db, stdout)
	}}, args, getenv, stderr)
}

func listSites(ctx context.Context, db *store.DB, stdout io.Writer) error {
	sites, err := db.ListSites(ctx)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tNAME\tDOMAINS\tTIME ZONE\tCREATED\tSETTINGS")
	for _, s := range sites {
		settings := "defaults"
		if c := s.Settings.Changed(); len(c) > 0 {
			settings = strings.Join(c, " ")
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, s.Name, strings.Join(s.Domains, ","), s.Timezone, s.CreatedAt.UTC().Format(time.DateOnly), settings)
	}
	return w.Flush()
}

// printSnippet prints the tag of a registered site; it refuses ids that are
// not registered, since that tag's events would all be refused.
func printSnippet(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var id, url string
	var attrs snippet.Attrs
	var fs *flag.FlagSet
	return runStore(ctx, storeCommand{name: "snippet",
		flags: func(f *flag.FlagSet) ([]string, func() error) {
			fs = f
			fs.StringVar(&id, "id", "", "site id (required)")
			collectorURLFlag(fs, &url)
			fs.BoolVar(&attrs.RespectDNT, "respect-dnt", false, "the tag sends nothing when the browser asks not to be tracked (Do Not Track, Global Privacy Control)")
			fs.BoolVar(&attrs.Hash, "hash", false, "the tag counts a change of location.hash as a page view (apps that route by hash)")
			fs.BoolVar(&attrs.AllowLocalhost, "allow-localhost", false, "the tag counts pages on localhost, 127.x.x.x, [::1] and file: too (skipped otherwise)")
			return []string{"id", "collector-url", "respect-dnt", "hash", "allow-localhost"}, func() error {
				if id == "" {
					return errors.New("-id is required")
				}
				return nil
			}
		},
		do: func(db *store.DB, dev *devmode.Stack) error {
			if _, ok, err := db.GetSite(ctx, id); err != nil {
				return err
			} else if !ok {
				return fmt.Errorf("snippet: no site %q in database %s (teller site list shows the sites, teller site add registers one)", id, db.Database())
			}
			fmt.Fprintln(stdout, snippet.TagWith(collectorURL(fs, url, dev), id, attrs))
			localPagesHint(stderr, dev, attrs.AllowLocalhost)
			return nil
		}}, args, getenv, stderr)
}

func migrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return runStore(ctx, storeCommand{name: "migrate", migrate: true, do: func(db *store.DB, _ *devmode.Stack) error {
		fmt.Fprintf(stdout, "schema of database %s is up to date (ClickHouse %s)\n", db.Database(), db.ServerVersion())
		return nil
	}}, args, getenv, stderr)
}

func healthcheck(ctx context.Context, args []string, stderr io.Writer) error {
	var url string
	fs := newFlags("healthcheck", stderr)
	fs.StringVar(&url, "url", "http://"+app.DefaultCollectorAdminListen+"/readyz", "URL that must answer 2xx")
	if err := parse(fs, args, func(string) string { return "" }, "url"); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("healthcheck: %s answered %s", url, resp.Status)
	}
	return nil
}
