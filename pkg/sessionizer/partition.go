package sessionizer

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/teller-analytics/teller/pkg/event"
	"github.com/teller-analytics/teller/pkg/session"
	"github.com/teller-analytics/teller/pkg/store"
)

// partitionConsumer sessionizes one partition for one generation.
type partitionConsumer struct {
	s         *Sessionizer
	gen       *kafka.Generation
	partition int

	state      *session.Partition
	next       int64 // next offset to read; everything before is in rows or written
	durable    int64 // next offset covered by the last checkpoint
	rows       []store.EventRow
	rejected   []store.Rejected
	versions   []store.SessionVersion // taken from state, not yet written
	changed    []session.Figures
	lastCommit time.Time

	// The state's counters already added to the metrics, and up to which
	// value and when they were last logged (at most once a minute).
	closedEarly, forgottenIDs             uint64
	loggedClosedEarly, loggedForgottenIDs uint64
	lastCapLog                            time.Time
}

func (c *partitionConsumer) run(ctx context.Context) error {
	s := c.s
	topic := s.opts.Kafka.Topic
	log := s.log.With("partition", c.partition)
	state, err := session.NewPartition(s.rules)
	if err != nil {
		return fmt.Errorf("partition %d: %w", c.partition, err)
	}
	c.state = state
	// A released partition is reported by its next owner only.
	defer func() {
		label := strconv.Itoa(c.partition)
		s.metrics.openSessions.DeleteLabelValues(label)
		s.metrics.stateBytes.DeleteLabelValues(label)
		s.metrics.recentIDs.DeleteLabelValues(label)
		s.metrics.recentHorizon.DeleteLabelValues(label)
	}()

	cp, ok, err := c.loadCheckpoint(ctx)
	if err != nil {
		return err
	}
	// The checkpoint, not Kafka's committed offset, is the truth: without
	// one (a new or wiped database, a new rule set replaying history) the
	// partition is read from its first offset.
	start := kafka.FirstOffset
	if ok {
		if err := c.state.UnmarshalBinary(cp.State); err != nil {
			return fmt.Errorf("restore state of partition %d: %w", c.partition, err)
		}
		start = cp.NextOffset
	}
	start, err = c.clampOffset(ctx, start)
	if err != nil {
		return err
	}
	c.next, c.durable, c.lastCommit = start, start, time.Now()
	log.Info("consuming partition", "offset", start, "from_checkpoint", ok, "open_sessions", c.state.OpenSessions())

	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers: s.opts.Kafka.Brokers, Topic: topic, Partition: c.partition,
		MinBytes: 1, MaxBytes: 8 << 20, MaxWait: 250 * time.Millisecond,
		QueueCapacity: 1000,
	})
	defer r.Close()
	if err := r.SetOffset(start); err != nil {
		return fmt.Errorf("seek partition %d to %d: %w", c.partition, start, err)
	}

	// FetchMessage blocks, so a goroutine feeds a channel and the loop below
	// also wakes for flushes. The channel is unbuffered: when a flush is slow
	// (ClickHouse down) reading pauses instead of piling up memory.
	msgs := make(chan kafka.Message)
	fetchErr := make(chan error, 1)
	fctx, stopFetch := context.WithCancel(ctx)
	defer stopFetch()
	go func() {
		for {
			m, err := r.FetchMessage(fctx)
			if err != nil {
				fetchErr <- err
				return
			}
			select {
			case msgs <- m:
			case <-fctx.Done():
				return
			}
		}
	}()

	flush := time.NewTicker(s.opts.Config.FlushInterval)
	defer flush.Stop()
	for {
		select {
		case m := <-msgs:
			c.handle(m)
			if len(c.rows)+len(c.rejected) >= s.opts.Config.MaxBatch {
				if err := c.flush(ctx, false); err != nil {
					return c.finish(ctx, err)
				}
			}
		case <-flush.C:
			due := time.Since(c.lastCommit) >= s.opts.Config.CheckpointInterval
			if err := c.flush(ctx, due); err != nil {
				return c.finish(ctx, err)
			}
		case err := <-fetchErr:
			return c.finish(ctx, fmt.Errorf("read partition %d: %w", c.partition, err))
		case <-ctx.Done():
			return c.finish(ctx, nil)
		}
	}
}

// finish flushes and checkpoints on revoke or shutdown, with a fresh
// deadline because the generation's context has already ended. A cause
// that is only the generation ending (a flush interrupted by the revoke)
// is no error once the final flush succeeds.
func (c *partitionConsumer) finish(gctx context.Context, cause error) error {
	if gctx.Err() != nil {
		cause = nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.s.opts.Config.ShutdownTimeout)
	defer cancel()
	if err := c.flush(ctx, true); err != nil {
		return errors.Join(cause, err)
	}
	c.s.log.Info("partition released", "partition", c.partition, "offset", c.next, "open_sessions", c.state.OpenSessions())
	return cause
}

// loadCheckpoint retries while ClickHouse is unreachable.
func (c *partitionConsumer) loadCheckpoint(ctx context.Context) (store.Checkpoint, bool, error) {
	for attempt := 0; ; attempt++ {
		cp, ok, err := c.s.opts.Store.LoadCheckpoint(ctx, c.s.opts.Config.Group, c.s.opts.Kafka.Topic, int32(c.partition))
		if err == nil {
			return cp, ok, nil
		}
		c.s.metrics.clickhouseErrors.Inc()
		c.s.log.Warn("loading checkpoint failed; retrying", "partition", c.partition, "err", err)
		if err := sleep(ctx, backoff(attempt)); err != nil {
			return cp, false, err
		}
	}
}

// clampOffset resolves the special offsets and moves an offset outside the
// partition's log into it: past the end (the log was recreated, e.g. a dev
// broker restarted) starts over from the first offset; before the start
// (retention deleted data) starts at the first offset that still exists.
func (c *partitionConsumer) clampOffset(ctx context.Context, offset int64) (int64, error) {
	first, last, err := c.bounds(ctx)
	if err != nil {
		return 0, err
	}
	switch {
	case offset < 0: // kafka.FirstOffset: no checkpoint yet
		return first, nil
	case offset > last:
		c.s.log.Warn("checkpoint offset is past the end of the partition; the topic was recreated? starting from its first offset",
			"partition", c.partition, "checkpoint", offset, "end", last)
		c.s.metrics.offsetResets.Inc()
		return first, nil
	case offset < first:
		c.s.log.Warn("checkpoint offset was deleted by retention; events in between are lost",
			"partition", c.partition, "checkpoint", offset, "first", first)
		c.s.metrics.offsetResets.Inc()
		return first, nil
	}
	return offset, nil
}

func (c *partitionConsumer) bounds(ctx context.Context) (first, last int64, err error) {
	var lastErr error
	for _, b := range c.s.opts.Kafka.Brokers {
		conn, err := kafka.DialLeader(ctx, "tcp", b, c.s.opts.Kafka.Topic, c.partition)
		if err != nil {
			lastErr = err
			continue
		}
		first, last, err = conn.ReadOffsets()
		conn.Close()
		if err == nil {
			return first, last, nil
		}
		lastErr = err
	}
	return 0, 0, fmt.Errorf("read offsets of partition %d: %w", c.partition, lastErr)
}

// handle sessionizes one message into a row, or keeps it as rejected.
func (c *partitionConsumer) handle(m kafka.Message) {
	c.next = m.Offset + 1
	ev, err := event.Unmarshal(m.Value)
	var zone *time.Location
	var opts session.SiteOptions
	if err == nil {
		var known bool
		if zone, opts, known = c.s.opts.Sites.Session(ev.Site); !known {
			err = fmt.Errorf("%w: unknown site %q", event.ErrInvalid, ev.Site)
		}
	}
	if err != nil {
		c.s.metrics.rejected.Inc()
		c.s.log.Warn("rejecting message", "partition", c.partition, "offset", m.Offset, "err", err)
		c.rejected = append(c.rejected, store.Rejected{At: time.Now(), Topic: m.Topic, Partition: int32(m.Partition),
			Offset: m.Offset, Reason: err.Error(), Payload: m.Value})
		return
	}
	row := c.s.enrich.row(ev)
	var facts session.Facts
	row.KafkaTimeMs = recordMs(m)
	a := c.state.Assign(SessionInput(&row, ev.NewVisitor, zone, opts, &facts))
	if a.Quarantined {
		// Kept, with its payload, where refused messages go: nothing is
		// lost, and the clock stays where the log put it.
		reason := fmt.Sprintf("quarantined: event time %s is more than -max-clock-skew (%s) ahead of its Kafka record's timestamp %s",
			time.UnixMilli(ev.ReceivedMs).UTC().Format(time.RFC3339Nano), c.s.rules.MaxClockSkew, m.Time.UTC().Format(time.RFC3339Nano))
		c.s.metrics.quarantined.Inc()
		c.s.log.Warn("quarantining event", "partition", c.partition, "offset", m.Offset, "reason", reason)
		c.rejected = append(c.rejected, store.Rejected{At: time.Now(), Topic: m.Topic, Partition: int32(m.Partition),
			Offset: m.Offset, Reason: reason, Payload: m.Value})
		return
	}
	if a.Duplicate {
		// Its session, open or closed, holds it: the first delivery's row
		// (written or buffered) stands, and no figure changed.
		c.s.metrics.duplicates.Inc()
		return
	}
	withSession(&row, a)
	row.KafkaPartition, row.KafkaOffset = int32(m.Partition), m.Offset
	c.rows = append(c.rows, row)
	c.s.metrics.events.Inc()
	if a.Late {
		c.s.metrics.late.Inc()
	}
	if a.Opens {
		c.s.metrics.sessions.WithLabelValues(a.Reason.String()).Inc()
	}
}

// flush writes buffered rows, retrying until ClickHouse takes them (reading
// pauses meanwhile), then, if checkpoint, saves the checkpoint and commits.
func (c *partitionConsumer) flush(ctx context.Context, checkpoint bool) error {
	s := c.s
	// The versions of the sessions these rows changed go in the same write
	// cycle, before the checkpoint; kept until written, so a failed flush
	// retried later still writes them.
	c.changed = c.state.Changed(c.changed[:0])
	for i := range c.changed {
		c.versions = append(c.versions, versionRow(&c.changed[i]))
	}
	clear(c.changed)
	if len(c.rows) > 0 || len(c.rejected) > 0 || len(c.versions) > 0 {
		start := time.Now()
		for attempt := 0; ; attempt++ {
			// Versions first: once a batch's events are visible, so are
			// their sessions (tests and tools that wait for events rely on it).
			err := s.opts.Store.WriteSessionVersions(ctx, c.versions)
			if err == nil {
				err = s.opts.Store.WriteEvents(ctx, c.rows)
			}
			if err == nil {
				err = s.opts.Store.WriteRejected(ctx, c.rejected)
			}
			if err == nil {
				break
			}
			s.metrics.clickhouseErrors.Inc()
			s.log.Warn("writing to ClickHouse failed; consumption paused, retrying", "partition", c.partition, "rows", len(c.rows), "err", err)
			if err := sleep(ctx, backoff(attempt)); err != nil {
				return fmt.Errorf("flush of partition %d abandoned: %w", c.partition, err)
			}
		}
		done := time.Now()
		s.metrics.flushSeconds.Observe(done.Sub(start).Seconds())
		doneMs := done.UnixMilli()
		for i := range c.rows {
			s.metrics.freshness.Observe(float64(doneMs-c.rows[i].TimeMs) / 1e3)
		}
		s.metrics.written.Add(float64(len(c.rows)))
		s.metrics.versions.Add(float64(len(c.versions)))
		clear(c.versions)
		c.rows, c.rejected, c.versions = c.rows[:0], c.rejected[:0], c.versions[:0]
	}
	c.reportState()
	if !checkpoint || c.next == c.durable {
		if checkpoint {
			c.lastCommit = time.Now()
		}
		return nil
	}
	state, err := c.state.MarshalBinary()
	if err != nil {
		return fmt.Errorf("encode state of partition %d: %w", c.partition, err)
	}
	cp := store.Checkpoint{Group: s.opts.Config.Group, Topic: s.opts.Kafka.Topic, Partition: int32(c.partition),
		NextOffset: c.next, ClockMs: c.state.Clock(), OpenSessions: uint32(c.state.OpenSessions()), State: state}
	for attempt := 0; ; attempt++ {
		err := s.opts.Store.SaveCheckpoint(ctx, cp)
		if err == nil {
			break
		}
		s.metrics.clickhouseErrors.Inc()
		s.log.Warn("writing checkpoint failed; retrying", "partition", c.partition, "err", err)
		if err := sleep(ctx, backoff(attempt)); err != nil {
			return fmt.Errorf("checkpoint of partition %d abandoned: %w", c.partition, err)
		}
	}
	c.durable, c.lastCommit = c.next, time.Now()
	s.metrics.checkpoints.Inc()
	s.metrics.stateBytes.WithLabelValues(strconv.Itoa(c.partition)).Set(float64(len(state)))
	// The checkpoint is the truth; the Kafka commit only helps tools that
	// watch consumer lag. It fails after a revoke, which is fine.
	if err := c.gen.CommitOffsets(map[string]map[int]int64{s.opts.Kafka.Topic: {c.partition: c.next}}); err != nil {
		s.log.Debug("committing offset to Kafka failed (the ClickHouse checkpoint stands)", "partition", c.partition, "err", err)
	}
	return nil
}

// recordMs is the message's Kafka timestamp, Unix ms, or 0 when it has
// none (then the clock-skew check cannot apply).
func recordMs(m kafka.Message) int64 {
	if m.Time.IsZero() || m.Time.UnixMilli() <= 0 {
		return 0
	}
	return m.Time.UnixMilli()
}

// reportState sets the partition's gauges and adds the state's counters
// since the last call to the metrics; a record of ids that its bound cut
// below a day is logged, since redeliveries beyond it would count again.
func (c *partitionConsumer) reportState() {
	m, label := c.s.metrics, strconv.Itoa(c.partition)
	m.openSessions.WithLabelValues(label).Set(float64(c.state.OpenSessions()))
	m.recentIDs.WithLabelValues(label).Set(float64(c.state.RecentIDs()))
	m.recentHorizon.WithLabelValues(label).Set(c.state.RecentHorizon().Seconds())
	closed, forgotten := c.state.ClosedEarly(), c.state.ForgottenIDs()
	m.closedEarly.Add(float64(closed - c.closedEarly))
	m.forgottenIDs.Add(float64(forgotten - c.forgottenIDs))
	c.closedEarly, c.forgottenIDs = closed, forgotten
	if (closed == c.loggedClosedEarly && forgotten == c.loggedForgottenIDs) || time.Since(c.lastCapLog) < time.Minute {
		return
	}
	if closed != c.loggedClosedEarly {
		c.s.log.Warn("partition at its open-session cap: least recently active sessions closed early",
			"partition", c.partition, "closed", closed-c.loggedClosedEarly, "max_open_sessions", c.s.rules.MaxOpenSessions)
	}
	if forgotten != c.loggedForgottenIDs {
		c.s.log.Warn("record of closed sessions' event ids is full: it reaches less than a day back, so an older redelivery would count again",
			"partition", c.partition, "forgotten", forgotten-c.loggedForgottenIDs, "horizon", c.state.RecentHorizon(), "remember_ids", c.s.rules.RememberIDs)
	}
	c.loggedClosedEarly, c.loggedForgottenIDs, c.lastCapLog = closed, forgotten, time.Now()
}

func backoff(attempt int) time.Duration {
	d := 100 * time.Millisecond << min(attempt, 6)
	return min(d, 5*time.Second)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
