package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/teller-analytics/teller/pkg/config"
	"github.com/teller-analytics/teller/pkg/service"
)

// Service is a configuration that registers flags and runs.
type Service interface {
	RegisterFlags(fs *flag.FlagSet)
	LogConfig() service.LogConfig
	Run(ctx context.Context, log *slog.Logger, hooks Hooks) error
}

// Main is the whole main() of a service binary: flags with the TELLER_
// environment fallback, a logger, SIGINT/SIGTERM for a graceful stop, and an
// exit code.
func Main(name string, svc Service) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(Exit(os.Stderr, Run(ctx, name, svc, os.Args[1:], os.Getenv, os.Stderr)))
}

// Run parses args into svc's flags and runs it.
func Run(ctx context.Context, name string, svc Service, args []string, getenv func(string) string, stderr io.Writer) error {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	svc.RegisterFlags(fs)
	if err := config.Parse(fs, args, getenv); err != nil {
		return err
	}
	log, err := svc.LogConfig().Logger(stderr)
	if err != nil {
		return err
	}
	log = log.With("service", name)
	if err := svc.Run(ctx, log, Hooks{}); err != nil {
		log.Error("stopped with an error", "err", err)
		return err
	}
	log.Info("stopped")
	return nil
}

// Exit turns Run's error into an exit code: 0 for success and -help, 2 for
// bad flags, 1 otherwise.
func Exit(stderr io.Writer, err error) int {
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintln(stderr, err)
		return 2
	}
	return 1
}

var errUsage = errors.New("usage")

// LogConfig implements Service.
func (c *CollectorConfig) LogConfig() service.LogConfig { return c.Log }

// Run implements Service.
func (c *CollectorConfig) Run(ctx context.Context, log *slog.Logger, hooks Hooks) error {
	return RunCollector(ctx, *c, log, hooks)
}

// LogConfig implements Service.
func (c *SessionizerConfig) LogConfig() service.LogConfig { return c.Log }

// Run implements Service.
func (c *SessionizerConfig) Run(ctx context.Context, log *slog.Logger, hooks Hooks) error {
	return RunSessionizer(ctx, *c, log, hooks)
}
