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

// Service is a configuration that registers flags, validates them and runs.
type Service interface {
	RegisterFlags(fs *flag.FlagSet)
	// Validate reports, naming the flags, what is wrong; it does no I/O.
	Validate() error
	LogConfig() service.LogConfig
	Run(ctx context.Context, log *slog.Logger, hooks Hooks) error
}

// Main is the whole main() of a service binary: flags with the TELLER_
// environment fallback, a logger, SIGINT/SIGTERM for a graceful stop, and an
// exit code.
func Main(name string, svc Service) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(Exit(os.Stderr, Run(ctx, name, svc, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)))
}

// ServiceEnv is the services' environment rule: every flag falls back to
// TELLER_<FLAG>, except -check-config, which is asked for per call.
var ServiceEnv = config.Except(config.Service, "check-config")

// Run starts svc in stages: configure (args, then the TELLER_ environment),
// validate (every flag, before any I/O: a bad one is a usage error, exit
// status 2), then, unless -check-config only asks to print the effective
// configuration, connect and run until ctx ends.
func Run(ctx context.Context, name string, svc Service, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	svc.RegisterFlags(fs)
	check := fs.Bool("check-config", false, "validate the configuration, print it (secrets hidden) and exit: status 0 when valid, 2 when not")
	if err := config.ParseEnv(fs, args, getenv, ServiceEnv); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return config.Invalid(fmt.Errorf("%s: unexpected arguments %q (flags start with -)", name, fs.Args()))
	}
	if err := svc.Validate(); err != nil {
		return config.Invalid(fmt.Errorf("%s: %w", name, err))
	}
	if *check {
		config.PrintEffective(stdout, fs, ServiceEnv)
		fmt.Fprintf(stdout, "%s: configuration is valid\n", name)
		return nil
	}
	log, err := svc.LogConfig().Logger(stderr)
	if err != nil {
		return config.Invalid(err)
	}
	log = log.With("service", name)
	if err := svc.Run(ctx, log, Hooks{}); err != nil {
		log.Error("stopped with an error", "err", err)
		return err
	}
	log.Info("stopped")
	return nil
}

// Exit prints a configuration error to stderr (other errors are logged where
// they happen) and returns ExitCode(err).
func Exit(stderr io.Writer, err error) int {
	if errors.Is(err, config.ErrUsage) {
		fmt.Fprintln(stderr, err)
	}
	return ExitCode(err)
}

// ExitCode is the exit status for err: 0 for success and -help, 2 for
// configuration errors (config.ErrUsage), 1 otherwise.
func ExitCode(err error) int {
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, config.ErrUsage):
		return 2
	}
	return 1
}

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
