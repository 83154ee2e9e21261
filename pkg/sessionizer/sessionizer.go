// Package sessionizer owns the consuming side of the pipeline: it reads the
// events topic as a Kafka consumer group (kafka-go's ConsumerGroup and
// Generation, so partition revokes are handled), runs one pkg/session
// Partition per assigned partition, enriches each event and writes the rows to
// ClickHouse. Position and open-session state are checkpointed together in
// ClickHouse after the rows they cover, and only then is the Kafka offset
// committed: a crash replays from the last checkpoint, and deterministic
// session ids plus idempotent tables make the replay change nothing.
package sessionizer

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"

	"github.com/teller-analytics/teller/pkg/bus"
	"github.com/teller-analytics/teller/pkg/session"
	"github.com/teller-analytics/teller/pkg/site"
	"github.com/teller-analytics/teller/pkg/store"
)

// Store is what the sessionizer needs of ClickHouse (*store.DB).
type Store interface {
	WriteEvents(ctx context.Context, rows []store.EventRow) error
	WriteRejected(ctx context.Context, rows []store.Rejected) error
	WriteSessionVersions(ctx context.Context, rows []store.SessionVersion) error
	SaveCheckpoint(ctx context.Context, cp store.Checkpoint) error
	LoadCheckpoint(ctx context.Context, group, topic string, partition int32) (store.Checkpoint, bool, error)
}

// Sites finds a site's domains, time zone and session options
// (*site.Registry).
type Sites interface {
	Lookup(id string) (site.Site, bool)
	// Session is the site's time zone and split options as resolved when
	// the sites were loaded, and whether the site exists. It is on every
	// event's path, so it must not load the zone per call.
	Session(id string) (*time.Location, session.SiteOptions, bool)
}

// The sessionizer's defaults; the session rules' are session.DefaultGap,
// DefaultMaxLength and DefaultDisorder. DefaultConfig and the flags take
// them from here, and a test ties the README's table to the flags.
const (
	DefaultGroup              = "teller-sessionizer"
	DefaultFlushInterval      = time.Second
	DefaultCheckpointInterval = time.Minute
	DefaultMaxBatch           = 50_000
	DefaultShutdownTimeout    = 20 * time.Second
)

// rebalanceTimeout is how long the consumer group waits for members to
// release their partitions on a rebalance.
const rebalanceTimeout = 30 * time.Second

// The flags' names, for RegisterFlags and Validate's messages.
const (
	flagGroup              = "kafka-group"
	flagFlushInterval      = "flush-interval"
	flagCheckpointInterval = "checkpoint-interval"
	flagMaxBatch           = "max-batch"
	flagGap                = "session-gap"
	flagMaxLength          = "session-max-length"
	flagDisorder           = "allowed-disorder"
	flagSplitAtMidnight    = "split-at-midnight"
	flagSplitOnCampaign    = "split-on-campaign"
	flagShutdownTimeout    = "shutdown-timeout"
	flagMaxClockSkew       = "max-clock-skew"
	flagMaxOpenSessions    = "max-open-sessions"
	flagRememberIDs        = "remember-ids"
	flagMaxSiteGap         = "max-site-session-gap"
)

// ruleFlags names the flag of each session.RuleError field.
var ruleFlags = map[string]string{"Gap": flagGap, "MaxLength": flagMaxLength, "Disorder": flagDisorder,
	"MaxClockSkew": flagMaxClockSkew, "MaxOpenSessions": flagMaxOpenSessions, "RememberIDs": flagRememberIDs,
	"MaxSiteGap": flagMaxSiteGap}

// Config holds the sessionizer's own settings (flags). Start from
// DefaultConfig (RegisterFlags does): every value is honoured as set, so
// -allowed-disorder=0 means no disorder, and Validate refuses the impossible
// ones.
type Config struct {
	// Group is the Kafka consumer group of the sessionizers.
	Group string
	// FlushInterval is how often buffered rows are written to ClickHouse.
	FlushInterval time.Duration
	// CheckpointInterval is how often position and open sessions are
	// checkpointed; it is checked at each flush, so a shorter one means
	// every flush.
	CheckpointInterval time.Duration
	// MaxBatch is how many rows a partition buffers before an early flush.
	MaxBatch int
	// Rules are the session rules.
	Rules session.Rules
	// ShutdownTimeout bounds the final flush and checkpoint on shutdown or
	// partition revoke.
	ShutdownTimeout time.Duration
}

// DefaultConfig returns the defaults: the constants above and
// session.DefaultRules.
func DefaultConfig() Config {
	return Config{
		Group:              DefaultGroup,
		FlushInterval:      DefaultFlushInterval,
		CheckpointInterval: DefaultCheckpointInterval,
		MaxBatch:           DefaultMaxBatch,
		Rules:              session.DefaultRules(),
		ShutdownTimeout:    DefaultShutdownTimeout,
	}
}

// RegisterFlags adds the sessionizer's flags, with DefaultConfig's values.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	d := DefaultConfig()
	fs.StringVar(&c.Group, flagGroup, d.Group, "Kafka consumer group of the sessionizers")
	fs.DurationVar(&c.FlushInterval, flagFlushInterval, d.FlushInterval, "how often buffered rows are written to ClickHouse")
	fs.DurationVar(&c.CheckpointInterval, flagCheckpointInterval, d.CheckpointInterval, "how often position and open sessions are checkpointed (and the Kafka offset committed)")
	fs.IntVar(&c.MaxBatch, flagMaxBatch, d.MaxBatch, "rows buffered per partition before an early flush")
	fs.DurationVar(&c.Rules.Gap, flagGap, d.Rules.Gap, "inactivity that ends a session")
	fs.DurationVar(&c.Rules.MaxLength, flagMaxLength, d.Rules.MaxLength, "a session this old ends at its next event")
	fs.DurationVar(&c.Rules.Disorder, flagDisorder, d.Rules.Disorder, "how far behind its partition's clock an event may arrive before it is flagged late (0: any event behind it)")
	fs.BoolVar(&c.Rules.SplitAtMidnight, flagSplitAtMidnight, d.Rules.SplitAtMidnight, "start a new session at midnight in the site's time zone")
	fs.BoolVar(&c.Rules.SplitOnCampaign, flagSplitOnCampaign, d.Rules.SplitOnCampaign, "start a new session when the campaign parameters change")
	fs.DurationVar(&c.Rules.MaxClockSkew, flagMaxClockSkew, d.Rules.MaxClockSkew, "an event dated further ahead of its Kafka record's timestamp is quarantined in rejected_events")
	fs.IntVar(&c.Rules.MaxOpenSessions, flagMaxOpenSessions, d.Rules.MaxOpenSessions, "open sessions per partition; at the cap the least recently active sixteenth is closed early (0: no cap)")
	fs.IntVar(&c.Rules.RememberIDs, flagRememberIDs, d.Rules.RememberIDs, "event ids of closed sessions each partition remembers for a day, to count a redelivery once (0: none)")
	fs.DurationVar(&c.Rules.MaxSiteGap, flagMaxSiteGap, d.Rules.MaxSiteGap, "longest gap a site may set for itself (site edit -session-gap); sessions stay in memory for the longer of it and -session-gap (0: -session-gap, sites may only shorten it)")
	fs.DurationVar(&c.ShutdownTimeout, flagShutdownTimeout, d.ShutdownTimeout,
		fmt.Sprintf("time to flush and checkpoint on shutdown or partition revoke (keep under the group's rebalance timeout, %s)", rebalanceTimeout))
}

// Validate checks every setting without any I/O and names the flag of each
// value it refuses.
func (c Config) Validate() error {
	var errs []error
	refuse := func(flag, want string, got any) {
		errs = append(errs, fmt.Errorf("-%s must be %s, got %v", flag, want, got))
	}
	if c.Group == "" {
		refuse(flagGroup, "a consumer group name", `""`)
	}
	if c.FlushInterval <= 0 {
		refuse(flagFlushInterval, "> 0", c.FlushInterval)
	}
	if c.CheckpointInterval <= 0 {
		refuse(flagCheckpointInterval, "> 0", c.CheckpointInterval)
	}
	if c.MaxBatch <= 0 {
		refuse(flagMaxBatch, "> 0", c.MaxBatch)
	}
	if c.ShutdownTimeout <= 0 {
		refuse(flagShutdownTimeout, "> 0", c.ShutdownTimeout)
	}
	// The rules' limits are pkg/session's; only the flag names are ours.
	if err := c.Rules.Validate(); err != nil {
		for _, e := range unjoin(err) {
			var re *session.RuleError
			if errors.As(e, &re) && ruleFlags[re.Field] != "" {
				refuse(ruleFlags[re.Field], re.Want, re.Value)
			} else {
				errs = append(errs, e)
			}
		}
	}
	return errors.Join(errs...)
}

// unjoin returns the errors that errors.Join joined into err.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// Options wire a sessionizer.
type Options struct {
	Config Config
	Kafka  bus.Config
	Store  Store
	Sites  Sites
	Logger *slog.Logger
	// Registerer receives metrics; nil for none.
	Registerer prometheus.Registerer
}

// Sessionizer consumes the events topic.
type Sessionizer struct {
	opts    Options
	rules   session.Rules
	log     *slog.Logger
	metrics *metrics
	enrich  *enricher

	mu       sync.Mutex
	assigned map[int]bool
	joined   bool
}

// New checks the options.
func New(o Options) (*Sessionizer, error) {
	if o.Store == nil || o.Sites == nil {
		return nil, errors.New("sessionizer: Store and Sites are required")
	}
	if err := o.Kafka.Validate(); err != nil {
		return nil, err
	}
	if err := o.Config.Validate(); err != nil {
		return nil, fmt.Errorf("sessionizer: %w", err)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Sessionizer{opts: o, rules: o.Config.Rules, log: o.Logger, metrics: newMetrics(o.Registerer),
		assigned: map[int]bool{}, enrich: newEnricher(o.Sites)}, nil
}

// Group is the consumer group in use.
func (s *Sessionizer) Group() string { return s.opts.Config.Group }

// Ready reports whether the sessionizer has joined its consumer group.
func (s *Sessionizer) Ready(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.joined {
		return errors.New("not yet a member of the consumer group")
	}
	return nil
}

// Run consumes until ctx ends, then flushes and checkpoints every partition.
func (s *Sessionizer) Run(ctx context.Context) error {
	k := s.opts.Kafka
	cg, err := kafka.NewConsumerGroup(kafka.ConsumerGroupConfig{
		ID:                s.opts.Config.Group,
		Brokers:           k.Brokers,
		Topics:            []string{k.Topic},
		StartOffset:       kafka.FirstOffset,
		HeartbeatInterval: time.Second,
		SessionTimeout:    10 * time.Second,
		RebalanceTimeout:  rebalanceTimeout,
		JoinGroupBackoff:  time.Second,
		Logger:            kafka.LoggerFunc(func(string, ...any) {}),
		ErrorLogger: kafka.LoggerFunc(func(f string, a ...any) {
			s.log.Debug("kafka consumer group", "msg", fmt.Sprintf(f, a...))
		}),
	})
	if err != nil {
		return fmt.Errorf("sessionizer: join consumer group %s: %w", s.opts.Config.Group, err)
	}
	defer cg.Close()
	for {
		gen, err := cg.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			s.log.Warn("consumer group generation failed; retrying", "err", err)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(time.Second):
			}
			continue
		}
		parts := gen.Assignments[k.Topic]
		ids := make([]int, 0, len(parts))
		for _, p := range parts {
			ids = append(ids, p.ID)
		}
		s.log.Info("partitions assigned", "generation", gen.ID, "member", gen.MemberID, "partitions", ids)
		s.mu.Lock()
		s.joined = true
		s.assigned = map[int]bool{}
		for _, id := range ids {
			s.assigned[id] = true
		}
		s.mu.Unlock()
		s.metrics.assigned.Set(float64(len(ids)))
		for _, p := range parts {
			p := p
			gen.Start(func(gctx context.Context) {
				// A consumer that fails (a broker error while reading) has
				// flushed and checkpointed what it could; start again from
				// the checkpoint rather than leave the partition stalled
				// until the next rebalance.
				for attempt := 0; gctx.Err() == nil; attempt++ {
					c := &partitionConsumer{s: s, gen: gen, partition: p.ID}
					err := c.run(gctx)
					if err == nil || gctx.Err() != nil {
						return
					}
					s.metrics.restarts.Inc()
					s.log.Error("partition consumer failed; restarting from its checkpoint", "partition", p.ID, "err", err)
					if sleep(gctx, backoff(attempt)) != nil {
						return
					}
				}
			})
		}
	}
}
