// Command kafkalocal runs a local Kafka broker (internal/kafkalocal: kfake,
// in memory) until SIGINT or SIGTERM, and prints "listening ADDR" on stdout
// once it serves. For benchmarks and local experiments only.
//
//	go run ./internal/kafkalocal/cmd/kafkalocal -listen 127.0.0.1:0 -partitions 4 -topics teller.events
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/teller-analytics/teller/internal/kafkalocal"
)

func main() {
	fs := flag.NewFlagSet("kafkalocal", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:0", "address the broker listens on (port 0: a free one)")
	partitions := fs.Int("partitions", 4, "partitions of every topic")
	topics := fs.String("topics", "teller.events", "comma-separated topics to create")
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	if *partitions <= 0 || *partitions > 1024 || strings.TrimSpace(*topics) == "" || fs.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "kafkalocal: want -partitions 1..1024, at least one topic in -topics and no arguments")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	addr, closeBroker, err := kafkalocal.Start(ctx, *listen, int32(*partitions), strings.Split(*topics, ",")...)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer closeBroker()
	fmt.Printf("listening %s\n", addr)
	<-ctx.Done()
}
