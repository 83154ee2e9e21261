// Command teller is Teller's toolbox: the all-in-one dev mode, the site
// registry, the snippet, schema migrations and a health probe for
// containers. Run `teller help` for the commands; every flag has a TELLER_
// environment fallback.
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

	"github.com/teller-analytics/teller/pkg/app"
	"github.com/teller-analytics/teller/pkg/config"
	"github.com/teller-analytics/teller/internal/devmode"
	"github.com/teller-analytics/teller/pkg/service"
	"github.com/teller-analytics/teller/pkg/site"
	"github.com/teller-analytics/teller/pkg/snippet"
	"github.com/teller-analytics/teller/pkg/store"
)

const usage = `Usage: teller <command> [flags]

Commands:
  dev                 run the whole pipeline locally (ClickHouse, Kafka broker, services, demo site)
  site add            register a site (or change one) and print its snippet
  site list           list registered sites
  snippet             print the snippet tag for a site
  migrate             apply the ClickHouse schema
  user                list, add, remove dashboard users, set passwords, grant sites
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
	os.Exit(app.Exit(os.Stderr, err))
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-help" || args[0] == "--help" || args[0] == "-h" {
		fmt.Fprint(stdout, usage)
		return nil
	}
	cmd, rest := args[0], args[1:]
	if cmd == "site" && len(rest) > 0 {
		cmd, rest = "site "+rest[0], rest[1:]
	}
	switch cmd {
	case "dev":
		return runDev(ctx, rest, getenv, stdout, stderr)
	case "site add":
		return siteAdd(ctx, rest, getenv, stdout, stderr)
	case "site list":
		return siteList(ctx, rest, getenv, stdout, stderr)
	case "snippet":
		return printSnippet(rest, getenv, stdout, stderr)
	case "migrate":
		return migrate(ctx, rest, getenv, stdout, stderr)
	case "user":
		return userCommand(ctx, rest, getenv, os.Stdin, stdout, stderr)
	case "healthcheck":
		return healthcheck(ctx, rest, getenv, stderr)
	case "collector":
		return app.Run(ctx, cmd, &app.CollectorConfig{}, rest, getenv, stderr)
	case "sessionizer":
		return app.Run(ctx, cmd, &app.SessionizerConfig{}, rest, getenv, stderr)
	case "dashboard":
		return app.Run(ctx, cmd, &app.DashboardConfig{}, rest, getenv, stderr)
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", strings.Join(args[:min(2, len(args))], " "))
}

func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("teller "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

func runDev(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var cfg devmode.Config
	fs := newFlags("dev", stderr)
	cfg.RegisterFlags(fs)
	if err := config.Parse(fs, args, getenv); err != nil {
		return err
	}
	log, err := cfg.Log.Logger(stderr)
	if err != nil {
		return err
	}
	return devmode.Run(ctx, cfg, log, stdout)
}

func openStore(ctx context.Context, cfg store.Config, stderr io.Writer) (*store.DB, error) {
	log, _ := service.LogConfig{Level: "warn"}.Logger(stderr)
	db, err := store.Open(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func siteAdd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var cfg store.Config
	var s site.Site
	var domains config.StringList
	var collectorURL string
	fs := newFlags("site add", stderr)
	cfg.RegisterFlags(fs)
	fs.StringVar(&s.ID, "id", "", "site id, used in the snippet's data-site (required)")
	fs.Var(&domains, "domain", "comma-separated host names the site is served on (required)")
	fs.StringVar(&s.Name, "name", "", "display name (default: the first domain)")
	fs.StringVar(&s.Timezone, "timezone", "UTC", "IANA time zone for report days, e.g. Europe/Berlin")
	fs.StringVar(&collectorURL, "collector-url", "http://localhost:8081", "public URL of the collector, for the printed snippet")
	if err := config.Parse(fs, args, getenv); err != nil {
		return err
	}
	s.Domains = domains
	if err := s.Normalize(); err != nil {
		return err
	}
	db, err := openStore(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.SaveSite(ctx, s); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Site %q saved (domains %s, time zone %s). Paste this into every page, before </head>:\n\n%s\n",
		s.ID, strings.Join(s.Domains, ", "), s.Timezone, snippet.Tag(collectorURL, s.ID))
	return nil
}

// withStore is a command that only needs ClickHouse: it parses the store
// flags, opens and migrates the database and hands it to do.
func withStore(ctx context.Context, name string, args []string, getenv func(string) string, stderr io.Writer, do func(*store.DB) error) error {
	var cfg store.Config
	fs := newFlags(name, stderr)
	cfg.RegisterFlags(fs)
	if err := config.Parse(fs, args, getenv); err != nil {
		return err
	}
	db, err := openStore(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer db.Close()
	return do(db)
}

func siteList(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return withStore(ctx, "site list", args, getenv, stderr, func(db *store.DB) error {
		return listSites(ctx, db, stdout)
	})
}

func listSites(ctx context.Context, db *store.DB, stdout io.Writer) error {
	sites, err := db.ListSites(ctx)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tNAME\tDOMAINS\tTIME ZONE\tCREATED")
	for _, s := range sites {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", s.ID, s.Name, strings.Join(s.Domains, ","), s.Timezone, s.CreatedAt.UTC().Format(time.DateOnly))
	}
	return w.Flush()
}

func printSnippet(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var id, collectorURL string
	fs := newFlags("snippet", stderr)
	fs.StringVar(&id, "id", "", "site id (required)")
	fs.StringVar(&collectorURL, "collector-url", "http://localhost:8081", "public URL of the collector")
	if err := config.Parse(fs, args, getenv); err != nil {
		return err
	}
	if id == "" {
		return errors.New("snippet: -id is required")
	}
	fmt.Fprintln(stdout, snippet.Tag(collectorURL, id))
	return nil
}

func migrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return withStore(ctx, "migrate", args, getenv, stderr, func(db *store.DB) error {
		fmt.Fprintf(stdout, "schema of database %s is up to date (ClickHouse %s)\n", db.Database(), db.ServerVersion())
		return nil
	})
}

func healthcheck(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	var url string
	fs := newFlags("healthcheck", stderr)
	fs.StringVar(&url, "url", "http://127.0.0.1:8081/readyz", "URL that must answer 2xx")
	if err := config.Parse(fs, args, func(string) string { return "" }); err != nil {
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
