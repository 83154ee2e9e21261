package main

import (
	"context"
	"errors"
	"flag"
	"io"

	"github.com/teller-analytics/teller/internal/devmode"
	"github.com/teller-analytics/teller/pkg/bus"
	"github.com/teller-analytics/teller/pkg/config"
	"github.com/teller-analytics/teller/pkg/resessionize"
	"github.com/teller-analytics/teller/pkg/service"
	"github.com/teller-analytics/teller/pkg/sessionizer"
	"github.com/teller-analytics/teller/pkg/store"
)

// resessionizeCommand wires `teller resessionize` (pkg/resessionize): the
// session rules' flags are the sessionizer's, with their TELLER_ variables,
// and so are -kafka-brokers, -kafka-topic and -kafka-group, which name the
// group that must be stopped and whose checkpoints the run replaces.
func resessionizeCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var o resessionize.Options
	var k bus.Config
	var cfg store.Config
	var fs *flag.FlagSet
	var rollback bool
	return runStore(ctx, storeCommand{name: "resessionize", config: &cfg,
		flags: func(f *flag.FlagSet) ([]string, func() error) {
			fs = f
			sessionizer.RegisterRuleFlags(fs, &o.Rules)
			k.RegisterFlags(fs)
			fs.StringVar(&o.Group, "kafka-group", sessionizer.DefaultGroup, "Kafka consumer group of the sessionizers: it must be stopped, and its checkpoints are replaced")
			fs.BoolVar(&o.DryRun, "dry-run", false, "replay and print how sessions, bounce rate and average duration would change per site; switch nothing")
			fs.StringVar(&o.Staging, "staging-database", "", "database for the new tables, and after the switch the old ones (default <database>_resess_<UTC time>)")
			fs.BoolVar(&rollback, "rollback", false, "swap back the tables of the switch whose -staging-database is given")
			return []string{"dry-run", "staging-database", "rollback"}, func() error {
				o.Topic = k.Topic
				var errs []error
				if rollback && o.Staging == "" {
					errs = append(errs, errors.New("-rollback needs -staging-database, the database the switch printed"))
				}
				if rollback && o.DryRun {
					errs = append(errs, errors.New("-rollback and -dry-run exclude each other"))
				}
				return errors.Join(append(errs, o.Validate(), k.Validate())...)
			}
		},
		do: func(db *store.DB, dev *devmode.Stack) error {
			if dev != nil && !config.Given(fs, "kafka-brokers") && getenv(config.EnvName("kafka-brokers")) == "" {
				k.Brokers = dev.KafkaBrokers
			}
			log, _ := service.LogConfig{Level: "warn"}.Logger(stderr)
			o.ClickHouse, o.Members, o.Out, o.Progress, o.Logger = cfg, resessionize.KafkaGroup{Kafka: k, Group: o.Group}, stdout, stderr, log
			if rollback {
				return resessionize.Rollback(ctx, db, o)
			}
			_, err := resessionize.Run(ctx, db, o)
			return err
		}}, args, getenv, stderr)
}
