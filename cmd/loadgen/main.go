// Command loadgen sends realistic traffic to a Teller collector: simulated
// browsers, each with its own visitor cookie and user agent, making visits of
// 1-8 page views with custom and engagement events, exactly as the tracking
// snippet sends them, at a bounded rate. It prints what happened and, with
// -clickhouse-addr, checks that ClickHouse holds exactly what the collector
// accepted. Every flag has an environment fallback, TELLER_LOADGEN_<FLAG>
// (its own prefix: a shell set up for the services does not steer it); run
// it with -help for the list.
//
//	go run ./cmd/loadgen -collector http://localhost:8081 -site demo -visitors 200 -duration 30s -rate 500
//
// With -history (e.g. 90d) and -events (e.g. 10M) it sends that much
// history through the collector's POST /api/import instead (-import-token),
// visitors returning after real pauses, and with -clickhouse-addr checks
// that ClickHouse holds exactly the sessions it planned:
//
//	go run ./cmd/loadgen -history 90d -events 10M -site loadtest -import-token teller_import_... -clickhouse-addr 127.0.0.1:9000
//
// -cpuprofile FILE writes the run's CPU profile (go tool pprof FILE), to see
// where the load generator's own CPU goes (docs/benchmarks.md).
//
// Exit status: 0 when every request was accepted (or -allow-errors) and the
// verification, if asked for, matched; 1 otherwise; 2 for bad flags.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"github.com/teller-analytics/teller/internal/loadgen"
	"github.com/teller-analytics/teller/pkg/config"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop() // a second Ctrl-C kills at once; the first lets requests in flight finish
	}()
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(os.Stderr, err))
}

// env names the load generator's variables: -rate falls back to
// TELLER_LOADGEN_RATE.
var env = config.Prefixed("loadgen")

// run parses args (with the TELLER_LOADGEN_ environment fallback), runs the load and
// prints the summary to stdout; progress goes to stderr.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var cfg loadgen.Config
	var hist loadgen.HistoryConfig
	var asJSON bool
	var cpuProfile string
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg.RegisterFlags(fs)
	hist.RegisterFlags(fs)
	fs.BoolVar(&asJSON, "json", false, "print the report as JSON (for scripts) instead of the text summary")
	fs.StringVar(&cpuProfile, "cpuprofile", "", "write the run's CPU profile to this file (go tool pprof)")
	if err := config.ParseEnv(fs, args, getenv, env); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %w", loadgen.ErrUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected arguments %q", loadgen.ErrUsage, fs.Args())
	}
	log, err := cfg.Log.Logger(stderr)
	if err != nil {
		return fmt.Errorf("%w: %w", loadgen.ErrUsage, err)
	}
	history := hist.Span > 0 || hist.Events > 0
	if history {
		hist.Collector, hist.Site, hist.PageOrigin, hist.Paths = cfg.Collector, cfg.Site, cfg.PageOrigin, cfg.Paths
		hist.BotShare, hist.Seed, hist.Progress, hist.Verify = cfg.BotShare, cfg.Seed, cfg.Progress, cfg.Verify
		err = hist.Validate()
	} else {
		err = cfg.Validate()
	}
	if err != nil {
		return err
	}
	if cpuProfile != "" {
		stopProfile, err := startCPUProfile(cpuProfile)
		if err != nil {
			return err
		}
		defer stopProfile(stderr)
	}
	if history {
		return runHistory(ctx, hist, asJSON, log, stdout)
	}
	rep, err := loadgen.Run(ctx, cfg, log)
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		rep.Print(stdout)
	}
	return rep.Failure(cfg.AllowErrors)
}

// startCPUProfile starts writing the process's CPU profile to path; the
// returned func ends it (reporting a failure to write it on stderr).
func startCPUProfile(path string) (func(io.Writer), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("-cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("-cpuprofile %s: %w", path, err)
	}
	return func(stderr io.Writer) {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			fmt.Fprintln(stderr, "loadgen: -cpuprofile:", err)
		}
	}, nil
}

// runHistory sends -history through the import endpoint instead of live
// traffic; the shared flags (-collector, -site, -page-origin, -paths, -bots,
// -seed, -progress, -clickhouse-*) mean the same (copied into hist by run).
func runHistory(ctx context.Context, hist loadgen.HistoryConfig, asJSON bool, log *slog.Logger, stdout io.Writer) error {
	rep, err := loadgen.RunHistory(ctx, hist, log)
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		rep.Print(stdout)
	}
	return rep.Failure()
}

// exitCode is 0 for success and -help, 2 for bad flags, 1 otherwise.
func exitCode(stderr io.Writer, err error) int {
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, loadgen.ErrUsage):
		fmt.Fprintln(stderr, "loadgen:", err)
		return 2
	}
	fmt.Fprintln(stderr, "loadgen: FAILED:", err)
	return 1
}
