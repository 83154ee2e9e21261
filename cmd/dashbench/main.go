// Command dashbench fills a ClickHouse with months of realistic traffic
// through Kafka and the real sessionizer, and measures the dashboard over
// HTTP from a separate process. docs/dashboard-speed.md records its runs.
//
//	dashbench fill  -data-dir /work/wt/.dashbench-data -events 10000000
//	dashbench serve -data-dir /work/wt/.dashbench-data          # ClickHouse for clickhouse-client
//	dashbench bench -data-dir /work/wt/.dashbench-data -days 30,90 -concurrency 1,4
//	dashbench sql   -data-dir /work/wt/.dashbench-data -queries docs/dashboard-speed/current.sql
//
// fill and bench start a ClickHouse of their own on the data folder unless
// -clickhouse-addr names a running one; bench builds and starts cmd/dashboard
// unless -url names a running dashboard. Every flag has an environment
// fallback, TELLER_<FLAG>.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/teller-analytics/teller/internal/chlocal"
	"github.com/teller-analytics/teller/internal/dashbench"
	"github.com/teller-analytics/teller/pkg/config"
	"github.com/teller-analytics/teller/pkg/store"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
	case errors.Is(err, errUsage):
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "dashbench:", err)
		os.Exit(1)
	}
}

var errUsage = errors.New("usage: dashbench fill|serve|bench|sql [flags] (-help for each)")

// common are the flags every subcommand has.
type common struct {
	dataDir  string
	chAddr   string
	database string
}

func (c *common) register(fs *flag.FlagSet) {
	fs.StringVar(&c.dataDir, "data-dir", "", "folder of the benchmark's ClickHouse (kept across runs; keep it outside the repository); required unless -clickhouse-addr")
	fs.StringVar(&c.chAddr, "clickhouse-addr", "", "use this running ClickHouse (native protocol, host:port) instead of starting one on -data-dir")
	fs.StringVar(&c.database, "database", "dashbench", "database of the data set")
}

// clickhouse returns the store configuration, starting a server on the
// data folder when no address was given; stop ends it.
func (c *common) clickhouse(ctx context.Context, log *slog.Logger) (cfg store.Config, stop func(), err error) {
	cfg = store.Config{Addr: c.chAddr, Database: c.database, User: "default", DialTimeout: 5 * time.Second}
	if c.chAddr != "" {
		return cfg, func() {}, nil
	}
	if c.dataDir == "" {
		return cfg, nil, fmt.Errorf("%w: -data-dir or -clickhouse-addr is required", errUsage)
	}
	srv, err := chlocal.Start(ctx, chlocal.Options{Dir: filepath.Join(c.dataDir, "clickhouse"), Logger: log})
	if err != nil {
		return cfg, nil, err
	}
	cfg.Addr = srv.Addr()
	return cfg, func() { _ = srv.Stop() }, nil
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errUsage
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	fs := flag.NewFlagSet("dashbench "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c common
	c.register(fs)
	parse := func() error {
		if err := config.Parse(fs, args[1:], getenv); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return err
			}
			return fmt.Errorf("%w: %w", errUsage, err)
		}
		if fs.NArg() > 0 {
			return fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
		}
		return nil
	}
	switch args[0] {
	case "fill":
		var t dashbench.Traffic
		var end string
		var partitions, backlog int
		fs.IntVar(&t.Events, "events", 200_000, "distinct events to write")
		fs.IntVar(&t.Sites, "sites", 50, "sites; the first holds -largest-share of the events")
		fs.Float64Var(&t.LargestShare, "largest-share", 0.2, "share of the events of the largest site")
		fs.IntVar(&t.Days, "days", 90, "days the events span, ending the day before -end")
		fs.StringVar(&end, "end", dashbench.DefaultEnd.Format(time.DateOnly), "day after the last day of data (UTC)")
		fs.Float64Var(&t.DuplicateShare, "duplicate-share", 0.002, "share of events published twice, as producer retries do")
		fs.Uint64Var(&t.Seed, "seed", 1, "seed of the data set")
		fs.IntVar(&partitions, "partitions", 6, "partitions of the events topic")
		fs.IntVar(&backlog, "backlog", 2_000_000, "most messages published ahead of the sessionizer")
		if err := parse(); err != nil {
			return err
		}
		var err error
		if t.End, err = time.Parse(time.DateOnly, end); err != nil {
			return fmt.Errorf("%w: -end: %w", errUsage, err)
		}
		if err := t.Validate(); err != nil {
			return fmt.Errorf("%w: %w", errUsage, err)
		}
		cfg, stop, err := c.clickhouse(ctx, log)
		if err != nil {
			return err
		}
		defer stop()
		res, err := dashbench.Fill(ctx, dashbench.FillOptions{Traffic: t, Store: cfg, Partitions: partitions,
			Backlog: backlog, Logger: log, Progress: 10 * time.Second})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "filled %s: %d events (%d messages with duplicates), published in %s, all written after %s: %.0f events/s (sessionizer defaults, %d partitions)\n",
			cfg.Database, res.Events, res.Messages, res.Published.Round(time.Millisecond), res.Elapsed.Round(time.Millisecond),
			res.EventsPerSecond(), partitions)
		return nil
	case "serve":
		if err := parse(); err != nil {
			return err
		}
		if c.chAddr != "" {
			return fmt.Errorf("%w: serve starts the server on -data-dir; -clickhouse-addr makes no sense here", errUsage)
		}
		cfg, stop, err := c.clickhouse(ctx, log)
		if err != nil {
			return err
		}
		defer stop()
		_, port, _ := strings.Cut(cfg.Addr, ":")
		fmt.Fprintf(stdout, "ClickHouse at %s: clickhouse-client --port %s --database %s\n", cfg.Addr, port, cfg.Database)
		<-ctx.Done()
		return nil
	case "sql":
		var file, siteID, end string
		var days, conc config.StringList
		var rounds, pid int
		var serial bool
		fs.BoolVar(&serial, "serial", false, "run a page's queries one after another (one user), to time each query alone and, with -clickhouse-pid, its server CPU")
		fs.IntVar(&pid, "clickhouse-pid", 0, "process id of the ClickHouse server, to report its CPU time per page (found by itself when dashbench starts the server)")
		fs.StringVar(&file, "queries", "", "query file: each query after a line \"-- query: name\" (see docs/dashboard-speed.md); required")
		fs.StringVar(&siteID, "site", dashbench.LargestSite, "site the queries are for")
		fs.StringVar(&end, "end", dashbench.DefaultEnd.Format(time.DateOnly), "day after the last day of the ranges")
		fs.Var(&days, "days", "comma-separated range lengths in days (default 30,90)")
		fs.Var(&conc, "concurrency", "comma-separated numbers of simultaneous users (default 1,4)")
		fs.IntVar(&rounds, "rounds", 10, "pages per user (after one warm-up)")
		if err := parse(); err != nil {
			return err
		}
		ranges, users, err := rangesAndUsers(end, days, conc)
		if err != nil {
			return err
		}
		text, err := os.ReadFile(file)
		if err != nil {
			return fmt.Errorf("%w: -queries: %w", errUsage, err)
		}
		queries, err := dashbench.ParseQueries(string(text))
		if err != nil {
			return err
		}
		cfg, stop, err := c.clickhouse(ctx, log)
		if err != nil {
			return err
		}
		defer stop()
		db, err := store.Open(ctx, cfg, log)
		if err != nil {
			return err
		}
		s, ok, err := db.GetSite(ctx, siteID)
		db.Close()
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("site %q is not registered in %s", siteID, cfg.Database)
		}
		for _, r := range ranges {
			var page []dashbench.NamedQuery
			for _, q := range queries {
				e, err := dashbench.Expand(q, siteID, r, s.Location())
				if err != nil {
					return err
				}
				page = append(page, e)
			}
			for _, n := range users {
				stats, err := dashbench.QueryBench(ctx, cfg, page, n, rounds, pid, serial)
				dashbench.FormatQueryStats(stdout, fmt.Sprintf("%s %s %s..%s", filepath.Base(file), r.Label, r.From, r.To), stats)
				fmt.Fprintln(stdout)
				if err != nil {
					return err
				}
				for _, st := range stats {
					if st.Errors > 0 {
						return fmt.Errorf("%s: %d failed runs: %s", st.Name, st.Errors, st.FirstError)
					}
				}
			}
		}
		return nil
	case "bench":
		o := dashbench.BenchOptions{User: "admin"}
		var days, conc, only config.StringList
		var bin, repo, end string
		fs.StringVar(&o.URL, "url", "", "base URL of a running dashboard (then -user and -password); default: build and start cmd/dashboard")
		fs.StringVar(&o.User, "user", "admin", "login name with -url")
		fs.StringVar(&o.Password, "password", "", "password with -url")
		fs.StringVar(&bin, "dashboard-bin", "", "dashboard binary to start (default: go build ./cmd/dashboard of -repo)")
		fs.StringVar(&repo, "repo", ".", "repository whose cmd/dashboard is built")
		fs.StringVar(&o.Site, "site", dashbench.LargestSite, "site whose pages are requested")
		fs.StringVar(&end, "end", dashbench.DefaultEnd.Format(time.DateOnly), "day after the last day of the ranges")
		fs.Var(&days, "days", "comma-separated range lengths in days (default 30,90)")
		fs.Var(&conc, "concurrency", "comma-separated numbers of simultaneous users (default 1,4)")
		fs.Var(&only, "only", "comma-separated endpoint names to measure (default all), e.g. \"site page\"")
		fs.IntVar(&o.Rounds, "rounds", 10, "requests per user per endpoint (after one warm-up)")
		fs.BoolVar(&o.Vary, "vary", false, "give each user a range of its own (user i's ends i days earlier), so that concurrent requests are different computations")
		fs.IntVar(&o.ClickHousePid, "clickhouse-pid", 0, "process id of the ClickHouse server, to report its CPU time per request (ch_cpu_ms)")
		if err := parse(); err != nil {
			return err
		}
		o.Only = only
		var err error
		if o.Ranges, o.Concurrency, err = rangesAndUsers(end, days, conc); err != nil {
			return err
		}
		if o.Rounds < 1 {
			return fmt.Errorf("%w: -rounds must be at least 1", errUsage)
		}
		if o.URL == "" {
			cfg, stop, err := c.clickhouse(ctx, log)
			if err != nil {
				return err
			}
			defer stop()
			if bin == "" {
				tmp, err := os.MkdirTemp("", "dashbench-")
				if err != nil {
					return err
				}
				defer os.RemoveAll(tmp)
				if bin, err = dashbench.BuildDashboard(ctx, repo, tmp); err != nil {
					return err
				}
			}
			d, err := dashbench.StartDashboard(ctx, bin, cfg, stderr)
			if err != nil {
				return err
			}
			defer d.Stop()
			o.URL, o.User, o.Password = d.URL, d.User, d.Password
		}
		_, err = dashbench.Bench(ctx, o, stdout)
		return err
	}
	return errUsage
}

// rangesAndUsers reads -end, -days and -concurrency.
func rangesAndUsers(end string, days, conc config.StringList) ([]dashbench.Range, []int, error) {
	if len(days) == 0 {
		days = config.StringList{"30", "90"}
	}
	if len(conc) == 0 {
		conc = config.StringList{"1", "4"}
	}
	endDay, err := time.Parse(time.DateOnly, end)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: -end: %w", errUsage, err)
	}
	var ranges []dashbench.Range
	var users []int
	for _, d := range days {
		n, err := strconv.Atoi(d)
		if err != nil || n < 1 {
			return nil, nil, fmt.Errorf("%w: -days: %q is not a number of days", errUsage, d)
		}
		ranges = append(ranges, dashbench.LastDays(endDay, n))
	}
	for _, s := range conc {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return nil, nil, fmt.Errorf("%w: -concurrency: %q is not a positive number", errUsage, s)
		}
		users = append(users, n)
	}
	return ranges, users, nil
}
