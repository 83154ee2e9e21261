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
	SaveCheckpoint(ctx context.Context, cp store.Checkpoint) error
	LoadCheckpoint(ctx context.Context, group, topic string, partition int32) (store.Checkpoint, bool, error)
}

// Sites finds a site's domains and time zone.
type Sites interface {
	Lookup(id string) (site.Site, bool)
}

// Config holds the sessionizer's own settings (flags).
type Config struct {
	Group              string
	FlushInterval      time.Duration
	CheckpointInterval time.Duration
	MaxBatch           int
	Gap                time.Duration
	MaxLength          time.Duration
	Disorder           time.Duration
	SplitAtMidnight    bool
	SplitOnCampaign    bool
	ShutdownTimeout    time.Duration
}

// RegisterFlags adds the sessionizer's flags.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Group, "kafka-group", "teller-sessionizer", "Kafka consumer group of the sessionizers")
	fs.DurationVar(&c.FlushInterval, "flush-interval", time.Second, "how often buffered rows are written to ClickHouse")
	fs.DurationVar(&c.CheckpointInterval, "checkpoint-interval", time.Minute, "how often position and open sessions are checkpointed (and the Kafka offset committed)")
	fs.IntVar(&c.MaxBatch, "max-batch", 50000, "rows buffered per partition before an early flush")
	fs.DurationVar(&c.Gap, "session-gap", 30*time.Minute, "inactivity that ends a session")
	fs.DurationVar(&c.MaxLength, "session-max-length", 24*time.Hour, "a session this old ends at its next event")
	fs.DurationVar(&c.Disorder, "allowed-disorder", 2*time.Minute, "how far behind its partition's clock an event may arrive before it is flagged late")
	fs.BoolVar(&c.SplitAtMidnight, "split-at-midnight", false, "start a new session at midnight in the site's time zone")
	fs.BoolVar(&c.SplitOnCampaign, "split-on-campaign", false, "start a new session when the campaign parameters change")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", 20*time.Second, "time to flush and checkpoint on shutdown or partition revoke (keep under the group's rebalance timeout)")
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
	c := &o.Config
	if c.Group == "" {
		c.Group = "teller-sessionizer"
	}
	if c.FlushInterval <= 0 {
		c.FlushInterval = time.Second
	}
	if c.CheckpointInterval <= 0 {
		c.CheckpointInterval = time.Minute
	}
	if c.CheckpointInterval < c.FlushInterval {
		c.CheckpointInterval = c.FlushInterval
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = 20 * time.Second
	}
	if c.MaxBatch <= 0 {
		c.MaxBatch = 50000
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	s := &Sessionizer{opts: o, log: o.Logger, metrics: newMetrics(o.Registerer), assigned: map[int]bool{},
		enrich: newEnricher(o.Sites)}
	s.rules = session.Rules{
		Gap: c.Gap, MaxLength: c.MaxLength, Disorder: c.Disorder,
		SplitAtMidnight: c.SplitAtMidnight, SplitOnCampaign: c.SplitOnCampaign,
		Zone: func(id string) *time.Location {
			if st, ok := o.Sites.Lookup(id); ok {
				return st.Location()
			}
			return time.UTC
		},
	}.WithDefaults()
	return s, nil
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
		RebalanceTimeout:  30 * time.Second,
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
