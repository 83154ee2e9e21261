// Command collectorbench serves one side of the collector benchmark
// (scripts/bench-collector.sh): `collectorbench collector ADDR` or
// `collectorbench bare ADDR`; `collectorbench cookie` prints the returning
// visitor's Cookie header value and `collectorbench body` the request body.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	_ "net/http/pprof" // -pprof ADDR: where the CPU goes
	"os"
	"os/signal"
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

func run(ctx context.Context, args []string) error {
	if len(args) == 1 && args[0] == "cookie" {
		fmt.Println(collectorbench.Cookie())
		return nil
	}
	if len(args) == 1 && args[0] == "body" {
		fmt.Println(collectorbench.Body)
		return nil
	}
	if len(args) < 2 {
		return fmt.Errorf("usage: collectorbench collector|bare ADDR [PPROF_ADDR] | cookie | body")
	}
	l, err := net.Listen("tcp", args[1])
	if err != nil {
		return err
	}
	if len(args) > 2 {
		go func() { _ = http.ListenAndServe(args[2], nil) }()
	}
	fmt.Println("listening", l.Addr())
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	switch args[0] {
	case "collector":
		return collectorbench.Collector(ctx, l, log)
	case "bare":
		return collectorbench.Bare(ctx, l)
	}
	return fmt.Errorf("unknown server %q: want collector or bare", args[0])
}
