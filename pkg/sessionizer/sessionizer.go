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
	"maps"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"

	"github.com/teller-analytics/teller/pkg/bus"
	"github.com/teller-analytics/teller/pkg/gctune"
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
	// Ping tells whether ClickHouse answers (before rejoining the group).
	Ping(ctx context.Context) error
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
	// DefaultClickHouseTimeout bounds one ClickHouse call: far above a
	// healthy insert of DefaultMaxBatch rows (well under a second), far
	// below forever.
	DefaultClickHouseTimeout = 30 * time.Second
	// DefaultKafkaTimeout bounds one Kafka request of the group protocol
	// and of the lag measurement.
	DefaultKafkaTimeout = 10 * time.Second
	// DefaultStuckTimeout is how long ClickHouse may fail every call before
	// the member leaves the group, so Kafka gives its partitions to members
	// that can write.
	DefaultStuckTimeout = 2 * time.Minute
	// DefaultReadyCheckpointAge is the checkpoint age beyond which the
	// member reports not ready: several checkpoint intervals missed.
	DefaultReadyCheckpointAge = 5 * time.Minute
	// GCPercent is the garbage collector's target (-gc-percent). The heap
	// is mostly open sessions, which live for the session gap, so at Go's
	// default of 100 every collection marks them all again for little
	// garbage (10% of the CPU on a backlog, docs/benchmarks.md); the soft
	// memory limit beside it (-memory-limit-mib) bounds what the raised
	// target allows.
	GCPercent = 400
)

// rejoinBackoffMax caps the wait between ClickHouse probes after the member
// left the group.
const rejoinBackoffMax = 30 * time.Second

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
	flagClickHouseTimeout  = "clickhouse-timeout"
	flagKafkaTimeout       = "kafka-timeout"
	flagStuckTimeout       = "stuck-timeout"
	flagReadyCheckpointAge = "ready-checkpoint-age"
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
	// ClickHouseTimeout bounds every ClickHouse call (insert, checkpoint,
	// load, ping).
	ClickHouseTimeout time.Duration
	// KafkaTimeout bounds every Kafka request the sessionizer makes itself
	// (group protocol, offset commits, lag measurement).
	KafkaTimeout time.Duration
	// StuckTimeout is how long every ClickHouse call may fail before the
	// member leaves the consumer group; it rejoins once ClickHouse answers.
	StuckTimeout time.Duration
	// ReadyCheckpointAge is the checkpoint age (see docs/sessionizer.md)
	// beyond which the member is not ready.
	ReadyCheckpointAge time.Duration
	// GC is the process's garbage-collector target and soft memory limit;
	// the service applies it (gctune.Apply), never New.
	GC gctune.Config
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
		ClickHouseTimeout:  DefaultClickHouseTimeout,
		KafkaTimeout:       DefaultKafkaTimeout,
		StuckTimeout:       DefaultStuckTimeout,
		ReadyCheckpointAge: DefaultReadyCheckpointAge,
		GC:                 gctune.Config{Percent: GCPercent},
	}
}

// RegisterFlags adds the sessionizer's flags, with DefaultConfig's values.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	d := DefaultConfig()
	fs.StringVar(&c.Group, flagGroup, d.Group, "Kafka consumer group of the sessionizers")
	fs.DurationVar(&c.FlushInterval, flagFlushInterval, d.FlushInterval, "how often buffered rows are written to ClickHouse")
	fs.DurationVar(&c.CheckpointInterval, flagCheckpointInterval, d.CheckpointInterval, "how often position and open sessions are checkpointed (and the Kafka offset committed)")
	fs.IntVar(&c.MaxBatch, flagMaxBatch, d.MaxBatch, "rows buffered per partition before an early flush")
	RegisterRuleFlags(fs, &c.Rules)
	fs.DurationVar(&c.ShutdownTimeout, flagShutdownTimeout, d.ShutdownTimeout,
		fmt.Sprintf("time to flush and checkpoint on shutdown or partition revoke (keep under the group's rebalance timeout, %s)", rebalanceTimeout))
	fs.DurationVar(&c.ClickHouseTimeout, flagClickHouseTimeout, d.ClickHouseTimeout, "bound on each ClickHouse call (insert, checkpoint); a call past it fails and is retried")
	fs.DurationVar(&c.KafkaTimeout, flagKafkaTimeout, d.KafkaTimeout, "bound on each Kafka request of the consumer group and the lag measurement")
	fs.DurationVar(&c.StuckTimeout, flagStuckTimeout, d.StuckTimeout, "how long every ClickHouse call may fail before this member leaves the consumer group (its partitions go to other members); it rejoins once ClickHouse answers")
	fs.DurationVar(&c.ReadyCheckpointAge, flagReadyCheckpointAge, d.ReadyCheckpointAge, "not ready while a partition has had messages no checkpoint covers for longer than this")
	c.GC.RegisterFlags(fs, d.GC.Percent)
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
	if c.ClickHouseTimeout <= 0 {
		refuse(flagClickHouseTimeout, "> 0", c.ClickHouseTimeout)
	}
	if c.KafkaTimeout <= 0 {
		refuse(flagKafkaTimeout, "> 0", c.KafkaTimeout)
	}
	// A member must not leave before one call could even time out.
	if c.StuckTimeout <= c.ClickHouseTimeout {
		refuse(flagStuckTimeout, fmt.Sprintf("longer than -%s (%s)", flagClickHouseTimeout, c.ClickHouseTimeout), c.StuckTimeout)
	}
	// A healthy partition's checkpoint age reaches the checkpoint interval.
	if c.ReadyCheckpointAge <= c.CheckpointInterval {
		refuse(flagReadyCheckpointAge, fmt.Sprintf("longer than -%s (%s)", flagCheckpointInterval, c.CheckpointInterval), c.ReadyCheckpointAge)
	}
	if err := c.GC.Validate(); err != nil {
		errs = append(errs, unjoin(err)...)
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
	opts     Options
	rules    session.Rules
	log      *slog.Logger
	metrics  *metrics
	enrich   *enricher
	health   *clickhouseHealth
	progress *progress
	combine  combiner // joins the partitions' writes (combine.go)

	mu       sync.Mutex
	assigned map[int]bool
	joined   bool
	// left says why the member left the group, while it waits to rejoin.
	left string
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
	s := &Sessionizer{rules: o.Config.Rules, log: o.Logger, metrics: newMetrics(o.Registerer),
		assigned: map[int]bool{}, enrich: newEnricher(o.Sites), health: &clickhouseHealth{}, progress: newProgress()}
	// Every consumer reaches ClickHouse through the guard, so every call
	// is bounded and measured.
	o.Store = &guardedStore{next: o.Store, timeout: o.Config.ClickHouseTimeout, metrics: s.metrics, health: s.health, progress: s.progress}
	s.opts = o
	if o.Registerer != nil {
		o.Registerer.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "teller_sessionizer_clickhouse_failing_seconds",
			Help: "How long every ClickHouse call has failed (0 while calls succeed); at -stuck-timeout the member leaves its group."},
			func() float64 { return s.health.failingFor(time.Now()).Seconds() }))
	}
	return s, nil
}

// Group is the consumer group in use.
func (s *Sessionizer) Group() string { return s.opts.Config.Group }

// Ready reports whether the sessionizer is doing its work: a member of its
// consumer group (not one that left it because ClickHouse was stuck) whose
// partitions all have a recent checkpoint. A member with no partition (a
// group with more members than partitions) is a ready standby.
func (s *Sessionizer) Ready(context.Context) error {
	s.mu.Lock()
	joined, left := s.joined, s.left
	s.mu.Unlock()
	switch {
	case left != "":
		return fmt.Errorf("left (or leaving) the consumer group (%s); rejoining once ClickHouse answers", left)
	case !joined:
		return errors.New("not yet a member of the consumer group")
	}
	if stale := s.progress.stale(s.opts.Config.ReadyCheckpointAge); len(stale) > 0 {
		return fmt.Errorf("checkpoints older than -%s %s: %s", flagReadyCheckpointAge, s.opts.Config.ReadyCheckpointAge, strings.Join(stale, "; "))
	}
	return nil
}

// errStuck ends a membership whose ClickHouse failed every call for
// -stuck-timeout.
var errStuck = errors.New("ClickHouse is stuck")

// Run consumes until ctx ends, then flushes and checkpoints every partition.
// When ClickHouse fails every call for the stuck timeout, it leaves the
// group, so Kafka reassigns the partitions to members that can write, and
// rejoins once ClickHouse answers; the checkpoints make the new owners
// replay exactly what was not durable.
func (s *Sessionizer) Run(ctx context.Context) error {
	wctx, stopWatch := context.WithCancel(ctx)
	watched := make(chan struct{})
	go func() { defer close(watched); s.watchLag(wctx) }()
	defer func() { stopWatch(); <-watched }()
	for {
		err := s.member(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if !errors.Is(err, errStuck) {
			return err
		}
		if s.awaitClickHouse(ctx) != nil {
			return nil
		}
	}
}

// member is one membership of the consumer group: it joins, consumes each
// generation's partitions, and leaves when ctx ends or ClickHouse is stuck
// (errStuck).
func (s *Sessionizer) member(ctx context.Context) error {
	k, cfg := s.opts.Kafka, s.opts.Config
	cg, err := kafka.NewConsumerGroup(kafka.ConsumerGroupConfig{
		ID:                cfg.Group,
		Brokers:           k.Brokers,
		Topics:            []string{k.Topic},
		StartOffset:       kafka.FirstOffset,
		HeartbeatInterval: time.Second,
		SessionTimeout:    10 * time.Second,
		RebalanceTimeout:  rebalanceTimeout,
		JoinGroupBackoff:  time.Second,
		Timeout:           cfg.KafkaTimeout,
		Logger:            kafka.LoggerFunc(func(string, ...any) {}),
		ErrorLogger: kafka.LoggerFunc(func(f string, a ...any) {
			s.log.Debug("kafka consumer group", "msg", fmt.Sprintf(f, a...))
		}),
	})
	if err != nil {
		return fmt.Errorf("sessionizer: join consumer group %s: %w", cfg.Group, err)
	}
	mctx, leave := context.WithCancelCause(ctx)
	defer leave(nil)
	go s.watchClickHouse(mctx, leave)
	// Closing the group ends the generation: its partition consumers flush
	// and checkpoint what they can within -shutdown-timeout, then the
	// member sends LeaveGroup and Kafka reassigns the partitions at once.
	defer func() {
		began := time.Now()
		cg.Close()
		s.released(context.Cause(mctx))
		if errors.Is(context.Cause(mctx), errStuck) {
			s.log.Warn("left the consumer group", "group", cfg.Group, "took", time.Since(began).Round(time.Millisecond))
		}
	}()
	for {
		gen, err := cg.Next(mctx)
		if err != nil {
			if mctx.Err() != nil {
				return context.Cause(mctx)
			}
			s.log.Warn("consumer group generation failed; retrying", "err", err)
			if sleep(mctx, time.Second) != nil {
				return context.Cause(mctx)
			}
			continue
		}
		s.consume(gen)
	}
}

// consume starts one generation's partition consumers.
func (s *Sessionizer) consume(gen *kafka.Generation) {
	parts := gen.Assignments[s.opts.Kafka.Topic]
	ids := make([]int, 0, len(parts))
	for _, p := range parts {
		ids = append(ids, p.ID)
	}
	s.log.Info("partitions assigned", "generation", gen.ID, "member", gen.MemberID, "partitions", ids)
	s.mu.Lock()
	s.joined, s.left = true, ""
	s.assigned = map[int]bool{}
	for _, id := range ids {
		s.assigned[id] = true
	}
	keep := maps.Clone(s.assigned)
	s.mu.Unlock()
	s.forget(keep)
	s.metrics.member.Set(1)
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

// forget stops reporting the partitions not in keep: their next owner
// reports them.
func (s *Sessionizer) forget(keep map[int]bool) {
	for _, p := range s.progress.release(keep) {
		label := strconv.Itoa(int(p))
		s.metrics.lag.DeleteLabelValues(label)
		s.metrics.checkpointAge.DeleteLabelValues(label)
	}
}

// released records that the member is out of the group, and why.
func (s *Sessionizer) released(cause error) {
	s.mu.Lock()
	s.joined, s.assigned = false, map[int]bool{}
	if errors.Is(cause, errStuck) {
		s.left = cause.Error()
	}
	s.mu.Unlock()
	s.forget(nil)
	s.metrics.member.Set(0)
	s.metrics.assigned.Set(0)
}

// watchClickHouse ends the membership (leave) once every ClickHouse call
// has failed for the stuck timeout.
func (s *Sessionizer) watchClickHouse(ctx context.Context, leave context.CancelCauseFunc) {
	limit := s.opts.Config.StuckTimeout
	t := time.NewTicker(min(limit/10, time.Second))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		failing := s.health.failingFor(time.Now())
		if failing < limit {
			continue
		}
		s.metrics.groupLeaves.Inc()
		s.log.Error("ClickHouse has failed every call; leaving the consumer group so its partitions go to members that can write",
			"failing_for", failing.Round(time.Millisecond), "stuck_timeout", limit, "partitions", s.assignedPartitions())
		cause := fmt.Errorf("%w: every call failed for %s (-%s %s)", errStuck, failing.Round(time.Second), flagStuckTimeout, limit)
		// Not ready from now on, while the partitions are still being
		// released.
		s.mu.Lock()
		s.left = cause.Error()
		s.mu.Unlock()
		leave(cause)
		return
	}
}

// awaitClickHouse waits, with a growing backoff, until ClickHouse answers a
// ping: rejoining before would only take partitions it cannot write.
func (s *Sessionizer) awaitClickHouse(ctx context.Context) error {
	wait := time.Second
	for {
		if err := sleep(ctx, wait); err != nil {
			return err
		}
		err := s.opts.Store.Ping(ctx)
		if err == nil {
			s.log.Info("ClickHouse answers again; rejoining the consumer group", "group", s.opts.Config.Group)
			s.health.succeeded()
			s.mu.Lock()
			s.left = ""
			s.mu.Unlock()
			return nil
		}
		s.log.Warn("ClickHouse still not answering; staying out of the consumer group", "err", err, "next_try", wait)
		wait = min(2*wait, rejoinBackoffMax)
	}
}

// assignedPartitions is the partitions this member owns, in order.
func (s *Sessionizer) assignedPartitions() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]int, 0, len(s.assigned))
	for p := range s.assigned {
		out = append(out, p)
	}
	sort.Ints(out)
	return out
}

func (s *Sessionizer) assignedSet() map[int]bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.assigned)
}
