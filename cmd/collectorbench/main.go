// Command collectorbench serves one side of the collector benchmark
// (scripts/bench-collector.sh), each in its own process:
//
//	collectorbench kafka ADDR                 kfake, the broker
//	collectorbench collector ADDR [flags]     the collector (see -h)
//	collectorbench bare ADDR                  the bare net/http handler
//	collectorbench cookie | body | origin     the request's parts
//
// A server prints "listening ADDR" once it accepts connections.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	_ "net/http/pprof" // -pprof ADDR: where the CPU goes
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/teller-analytics/teller/internal/collectorbench"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "collectorbench:", err)
		os.Exit(1)
	}
}

const usage = "usage: collectorbench kafka|collector|bare ADDR [flags] | cookie | body | origin | mix"

func run(ctx context.Context, args []string) error {
	if len(args) == 1 {
		switch args[0] {
		case "cookie":
			fmt.Println(collectorbench.Cookie())
			return nil
		case "body":
			fmt.Println(collectorbench.Body)
			return nil
		case "origin":
			fmt.Println(collectorbench.Origin)
			return nil
		case "mix": // a wrk script: the whole pipeline's traffic (scripts/bench-collector.sh's BENCH_MIX)
			fmt.Print(collectorbench.MixLua(collectorbench.Mix(4000, 1)))
			return nil
		}
	}
	if len(args) < 2 {
		return fmt.Errorf(usage)
	}
	mode, addr := args[0], args[1]
	fs := flag.NewFlagSet(mode, flag.ContinueOnError)
	brokers := fs.String("brokers", "", "collector: Kafka brokers, comma-separated (empty: kfake in this process)")
	spoolDir := fs.String("spool-dir", "", "collector: spool events on disk first (the collector's -spool-dir)")
	spoolLinger := fs.Duration("spool-linger", 0, "collector: the spool drainer's pause after a short batch (0: the product's default)")
	spoolFsync := fs.String("spool-fsync", "", "collector: the spool's fsync policy (empty: the product's default)")
	pprofAddr := fs.String("pprof", "", "serve net/http/pprof on this address")
	if err := fs.Parse(args[2:]); err != nil {
		return err
	}
	if *pprofAddr != "" {
		pl, err := net.Listen("tcp", *pprofAddr)
		if err != nil {
			return fmt.Errorf("-pprof: %w", err)
		}
		fmt.Println("pprof", pl.Addr())
		go func() { _ = http.Serve(pl, nil) }()
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if mode == "kafka" {
		_, p, err := net.SplitHostPort(addr)
		if err != nil {
			return fmt.Errorf("kafka ADDR %q: %w", addr, err)
		}
		port, err := strconv.Atoi(p)
		if err != nil {
			return fmt.Errorf("kafka ADDR %q: port: %w", addr, err)
		}
		return collectorbench.Kafka(ctx, port, func(a string) { fmt.Println("listening", a) })
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Println("listening", l.Addr())
	switch mode {
	case "collector":
		o := collectorbench.CollectorOptions{SpoolDir: *spoolDir, SpoolLinger: *spoolLinger, SpoolFsync: *spoolFsync}
		if *brokers != "" {
			o.Brokers = strings.Split(*brokers, ",")
		}
		return collectorbench.Collector(ctx, l, o, log)
	case "bare":
		return collectorbench.Bare(ctx, l)
	}
	return fmt.Errorf("unknown server %q: %s", mode, usage)
}
