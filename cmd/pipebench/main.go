// Command pipebench runs the whole-pipeline benchmark (internal/pipebench):
// the broker, ClickHouse, cmd/collector, cmd/sessionizer and cmd/loadgen,
// each its own process on this machine, for -duration; it prints the
// figures and a go-test-style result line that scripts/bench.sh reads.
// Exit status 1 when the run failed or its verification did not match.
//
//	go run ./cmd/pipebench -duration 5m
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/teller-analytics/teller/internal/pipebench"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx))
}

func run(ctx context.Context) int {
	var cfg pipebench.Config
	fs := flag.NewFlagSet("pipebench", flag.ContinueOnError)
	fs.DurationVar(&cfg.Duration, "duration", 5*time.Minute, "how long the load generator sends")
	fs.IntVar(&cfg.Visitors, "visitors", 30000, "simulated browsers (with a 2 s gap a browser sends about one event per 1.0-1.14 s, sooner on a faster box: 30,000 offer 26,000-31,000 events/s)")
	fs.IntVar(&cfg.Concurrency, "concurrency", 128, "load generator workers, the most requests in flight")
	fs.Float64Var(&cfg.Rate, "rate", 0, "requests per second (0: as fast as answers come)")
	fs.DurationVar(&cfg.SessionGap, "session-gap", 2*time.Second, "compressed session gap of the load generator and the sessionizer")
	fs.BoolVar(&cfg.Capacity, "capacity", false, "browsers send without pauses (as fast as answers come): the most the box takes; counts verified, sessions not checked")
	fs.IntVar(&cfg.Partitions, "partitions", 4, "partitions of the events topic")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "seed of the simulated traffic")
	fs.StringVar(&cfg.WorkDir, "work-dir", filepath.Join(os.TempDir(), "teller-pipebench"), "binaries, ClickHouse data and the processes' logs (emptied first)")
	fs.StringVar(&cfg.CollectorProfile, "collector-profile", "", "write a CPU profile of the collector over the middle half of the run (10 s to 60 s) to this file")
	fs.StringVar(&cfg.SessionizerProfile, "sessionizer-profile", "", "write a CPU profile of the sessionizer over the middle half of the run (10 s to 60 s) to this file, and its heap at the end of the load to FILE.heap")
	fs.StringVar(&cfg.LoadgenProfile, "loadgen-profile", "", "write the load generator's CPU profile of its whole run to this file")
	collectorBinary := fs.String("collector-binary", "", "run this collector binary instead of the one built from this tree (paired before/after runs)")
	sessionizerBinary := fs.String("sessionizer-binary", "", "run this sessionizer binary instead of the one built from this tree (paired before/after runs)")
	loadgenBinary := fs.String("loadgen-binary", "", "run this load generator binary instead of the one built from this tree (paired before/after runs)")
	jsonOut := fs.Bool("json", false, "print the result as JSON instead of the summary")
	if err := fs.Parse(os.Args[1:]); err != nil {
		return 2
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintln(os.Stderr, "pipebench:", err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	cfg.Log = log
	if err := os.RemoveAll(cfg.WorkDir); err != nil {
		fmt.Fprintln(os.Stderr, "pipebench:", err)
		return 1
	}
	if err := os.MkdirAll(filepath.Join(cfg.WorkDir, "bin"), 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "pipebench:", err)
		return 1
	}
	log.Info("building binaries", "dir", filepath.Join(cfg.WorkDir, "bin"))
	if err := pipebench.Build(ctx, filepath.Join(cfg.WorkDir, "bin")); err != nil {
		fmt.Fprintln(os.Stderr, "pipebench:", err)
		return 1
	}
	for _, b := range []struct{ flag, path, name string }{
		{"-collector-binary", *collectorBinary, "collector"}, {"-sessionizer-binary", *sessionizerBinary, "sessionizer"},
		{"-loadgen-binary", *loadgenBinary, "loadgen"}} {
		if b.path == "" {
			continue
		}
		if err := copyFile(b.path, filepath.Join(cfg.WorkDir, "bin", b.name)); err != nil {
			fmt.Fprintln(os.Stderr, "pipebench: "+b.flag+":", err)
			return 1
		}
	}
	res, err := pipebench.Run(ctx, cfg)
	if res != nil {
		if *jsonOut {
			if err := res.WriteJSON(os.Stdout); err != nil {
				fmt.Fprintln(os.Stderr, "pipebench:", err)
			}
		} else {
			res.Print(os.Stdout)
			fmt.Println(res.BenchLine())
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "pipebench:", err)
		return 1
	}
	if !res.Matched() {
		fmt.Fprintln(os.Stderr, "pipebench: the verification did not match: something was lost, doubled or sessionized wrongly")
		return 1
	}
	return 0
}

// copyFile copies an executable from to to, replacing it.
func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o755)
}
