package sessionizer

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/teller-analytics/teller/pkg/event"
	"github.com/teller-analytics/teller/pkg/session"
	"github.com/teller-analytics/teller/pkg/store"
)

// partitionConsumer sessionizes one partition for one generation. Its loop
// reads, assigns and fills one batch while the previous batch is written
// (write.go): one write in flight, at most two batches in memory.
type partitionConsumer struct {
	s         *Sessionizer
	gen       *kafka.Generation
	partition int

	state *session.Partition
	next  int64 // next offset to read; everything before is in a batch or written
	// checkpointed is the next offset of the last checkpoint handed to a
	// write: saved once that write completes (or the partition ends and
	// its next owner replays from the one before).
	checkpointed int64
	fill         *batch // being filled by the loop
	spare        *batch // the other buffer, back from its write
	inflight     bool
	written      chan writeResult // the write in flight's outcome
	failed       *batch           // a write that gave up (revoke, shutdown): written again by finish
	changed      []session.Figures
	lastCommit   time.Time

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
	s.combine.joined()
	defer s.combine.left()
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
	c.next, c.checkpointed = start, start
	c.lastCommit = time.Now().Add(-checkpointPhase(c.partition, s.opts.Config.CheckpointInterval))
	c.fill, c.spare, c.written = &batch{}, &batch{}, make(chan writeResult, 1)
	log.Info("consuming partition", "offset", start, "from_checkpoint", ok, "open_sessions", c.state.OpenSessions())

	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers: s.opts.Kafka.Brokers, Topic: topic, Partition: c.partition,
		MinBytes: fetchMinBytes, MaxBytes: 8 << 20, MaxWait: fetchMaxWait,
		QueueCapacity: 1000,
	})
	defer r.Close()
	if err := r.SetOffset(start); err != nil {
		return fmt.Errorf("seek partition %d to %d: %w", c.partition, start, err)
	}

	// FetchMessage blocks, so a goroutine feeds a channel and the loop below
	// also wakes for flushes. The channel holds handOver messages: through an
	// unbuffered one, at live rates, each message cost both goroutines a
	// park and a wake-up; with a few in hand the loop takes a fetch's
	// messages in a row. When a flush is slow (ClickHouse down) reading
	// still pauses, with at most handOver messages more in memory beside
	// the reader's own queue (QueueCapacity).
	msgs := make(chan kafka.Message, handOver)
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

	// Writes run under their own context so that finish can let the one in
	// flight complete after the generation ends (or stop it at its timeout).
	wctx, stopWrites := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWrites()
	flush := newFlushClock(s.opts.Config.FlushInterval)
	defer flush.stop()
	// cutDue: a flush tick or a full batch came while a write was in
	// flight; the batch is cut as soon as that write completes, so writes
	// follow each other without a gap when ClickHouse is the bottleneck.
	cutDue := false
	var blockedSince time.Time
	for {
		in := msgs
		if c.full() && c.inflight {
			// Both buffers full: reading waits for the write in flight.
			in = nil
			if blockedSince.IsZero() {
				blockedSince = time.Now()
			}
		}
		select {
		case m := <-in:
			c.handle(m)
			if c.full() {
				cutDue = true
			}
		case <-flush.C():
			flush.rearm()
			cutDue = true
		case res := <-c.written:
			if !blockedSince.IsZero() {
				s.metrics.writeWaitSeconds.Add(time.Since(blockedSince).Seconds())
				blockedSince = time.Time{}
			}
			if err := c.completed(res); err != nil {
				return c.finish(ctx, wctx, stopWrites, err)
			}
		case err := <-fetchErr:
			return c.finish(ctx, wctx, stopWrites, fmt.Errorf("read partition %d: %w", c.partition, err))
		case <-ctx.Done():
			return c.finish(ctx, wctx, stopWrites, nil)
		}
		if cutDue && !c.inflight {
			cutDue = false
			if err := c.cut(wctx, time.Since(c.lastCommit) >= s.opts.Config.CheckpointInterval); err != nil {
				return c.finish(ctx, wctx, stopWrites, err)
			}
		}
	}
}

// A partition's fetches wait at the broker for fetchMinBytes of messages
// or fetchMaxWait, whichever comes first. With no minimum, a fetch came
// back with whatever one or two messages had arrived since the last one:
// at live rates every message paid its own fetch, wake-up and hand-over
// (docs/benchmarks.md, issue 5). fetchMaxWait bounds what the wait adds to
// an event's freshness, well within the flush interval; on a backlog the
// minimum is always there and nothing waits.
const (
	fetchMinBytes = 128 << 10
	fetchMaxWait  = 100 * time.Millisecond
)

// checkpointPhase is how far into its first checkpoint interval a
// partition starts, so that a member's partitions checkpoint at different
// moments: a checkpoint encodes the partition's id record (16 MiB when
// full) in its loop and inserts it, and all of them at once stalled every
// partition's events for seconds each interval (docs/benchmarks.md,
// issue 5). Golden-ratio steps spread any number of partitions evenly.
func checkpointPhase(partition int, interval time.Duration) time.Duration {
	const golden = 0.6180339887498949
	frac := math.Mod(float64(partition)*golden, 1)
	return time.Duration(frac * float64(interval))
}

// handOver is how many fetched messages wait for a partition's loop.
const handOver = 256

// full tells whether the batch being filled reached -max-batch.
func (c *partitionConsumer) full() bool {
	return len(c.fill.rows)+len(c.fill.rejected) >= c.s.opts.Config.MaxBatch
}

// finish writes what is left and checkpoints on revoke or shutdown, with a
// fresh deadline because the generation's context has already ended: the
// write in flight first (given until the deadline to complete, written
// again if it failed), then the rest. A cause that is only the generation
// ending (a write interrupted by the revoke) is no error once the final
// write succeeds.
func (c *partitionConsumer) finish(gctx, wctx context.Context, stopWrites context.CancelFunc, cause error) error {
	if gctx.Err() != nil {
		cause = nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.s.opts.Config.ShutdownTimeout)
	defer cancel()
	if c.inflight {
		var res writeResult
		select {
		case res = <-c.written:
		case <-ctx.Done():
			stopWrites()
			res = <-c.written
		}
		_ = c.completed(res) // a failure leaves the batch in c.failed
	}
	if c.failed != nil {
		// Written again from the start: rows and versions written twice
		// are harmless, and its checkpoint, if any, still follows all
		// its rows.
		if err := c.write(ctx, c.failed); err != nil {
			return errors.Join(cause, err)
		}
		c.failed.reset()
		c.spare, c.failed = c.failed, nil
	}
	b, err := c.take(true)
	if err != nil {
		return errors.Join(cause, err)
	}
	if b != nil {
		if err := c.write(ctx, b); err != nil {
			return errors.Join(cause, err)
		}
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
		c.fill.rejected = append(c.fill.rejected, store.Rejected{At: time.Now(), Topic: m.Topic, Partition: int32(m.Partition),
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
		c.fill.rejected = append(c.fill.rejected, store.Rejected{At: time.Now(), Topic: m.Topic, Partition: int32(m.Partition),
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
	c.fill.rows = append(growDoubling(c.fill.rows), row)
	c.s.metrics.events.Inc()
	if a.Late {
		c.s.metrics.late.Inc()
	}
	if a.Opens {
		c.s.metrics.sessions.WithLabelValues(a.Reason.String()).Inc()
	}
}

// growDoubling makes room for one more element by doubling a full slice:
// append grows a large one by a quarter at a time, so a batch of rows
// (about 560 B each) filled to tens of thousands was copied several times
// over, its buffers kept from one batch to the next or not.
func growDoubling[T any](s []T) []T {
	if len(s) < cap(s) {
		return s
	}
	return slices.Grow(s, max(len(s), 256))
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

// flushClock ticks at the multiples of the flush interval on the wall
// clock, the same instants in every partition of the member: their cuts
// come together, and the combiner joins them into one insert per table.
// A ticker per partition, started when the partition was assigned, made
// the cuts fall anywhere in the interval, so at live rates (every write
// done before the next cut) each partition wrote alone: a write cycle per
// partition per interval, and ClickHouse's CPU goes by inserts.
type flushClock struct {
	every time.Duration
	t     *time.Timer
}

func newFlushClock(every time.Duration) *flushClock {
	return &flushClock{every: every, t: time.NewTimer(untilNextTick(time.Now(), every))}
}

func (f *flushClock) C() <-chan time.Time { return f.t.C }

// rearm sets the timer to the next multiple after it fired.
func (f *flushClock) rearm() { f.t.Reset(untilNextTick(time.Now(), f.every)) }

func (f *flushClock) stop() { f.t.Stop() }

// untilNextTick is the time from now to the next multiple of every since
// the Unix epoch (a whole interval when now is on one).
func untilNextTick(now time.Time, every time.Duration) time.Duration {
	return every - time.Duration(now.UnixNano()%int64(every))
}
