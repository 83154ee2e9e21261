package sessionizer

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/teller-analytics/teller/pkg/store"
)

// batch is one write: the rows read up to a cut, the versions of the
// sessions they changed, and, when one was due, the checkpoint at that cut
// (the state marshalled before any later event was assigned). Batches of a
// partition are written one after the other, so when a batch's checkpoint
// is saved every row before its offset is in ClickHouse.
type batch struct {
	rows     []store.EventRow
	rejected []store.Rejected
	versions []store.SessionVersion
	cp       *store.Checkpoint
}

func (b *batch) empty() bool {
	return len(b.rows) == 0 && len(b.rejected) == 0 && len(b.versions) == 0 && b.cp == nil
}

// reset empties b for refilling, keeping its arrays unless they outgrew
// what it held (refit).
func (b *batch) reset() {
	clear(b.versions) // their page lists
	b.rows, b.rejected, b.versions, b.cp = refit(b.rows), refit(b.rejected), refit(b.versions), nil
}

// keepRows is the capacity a buffer of rows keeps whatever it held: the
// batches of a partition at live rates.
const keepRows = 4096

// refit empties s for refilling. Its array is kept, so a steady stream of
// batches is not copied again as its buffers grow, unless it is past
// keepRows and more than four times what s held: a buffer grown once (the
// batch filled while a slow write held the other one, up to -max-batch)
// is then let go instead of staying live for good, where the garbage
// collector's target (-gc-percent 400) lets the heap grow to five times
// what is live.
func refit[T any](s []T) []T {
	if cap(s) > keepRows && cap(s) > 4*len(s) {
		return nil
	}
	return s[:0]
}

type writeResult struct {
	b   *batch
	err error
}

// cut ends the batch being filled and starts writing it while the loop
// goes on filling the other buffer. Only the loop calls it, and only with
// no write in flight.
func (c *partitionConsumer) cut(wctx context.Context, checkpoint bool) error {
	b, err := c.take(checkpoint)
	if err != nil || b == nil {
		return err
	}
	c.inflight = true
	go c.s.combine.submit(wctx, c, b)
	return nil
}

// take closes the batch being filled at the current offset, with the
// versions of the sessions changed since the last cut and, if checkpoint,
// the state as it is now; nil when there is nothing to write. The spare
// buffer becomes the one being filled.
func (c *partitionConsumer) take(checkpoint bool) (*batch, error) {
	s, b := c.s, c.fill
	c.changed = c.state.Changed(c.changed[:0])
	for i := range c.changed {
		b.versions = append(growDoubling(b.versions), versionRow(&c.changed[i]))
	}
	clear(c.changed)
	c.reportState()
	if checkpoint {
		c.lastCommit = time.Now()
		if c.next != c.checkpointed {
			state, err := c.state.MarshalBinary()
			if err != nil {
				return nil, fmt.Errorf("encode state of partition %d: %w", c.partition, err)
			}
			b.cp = &store.Checkpoint{Group: s.opts.Config.Group, Topic: s.opts.Kafka.Topic, Partition: int32(c.partition),
				NextOffset: c.next, ClockMs: c.state.Clock(), OpenSessions: uint32(c.state.OpenSessions()), State: state}
			c.checkpointed = c.next
		}
	}
	if b.empty() {
		return nil, nil
	}
	c.fill, c.spare = c.spare, nil
	return b, nil
}

// completed takes back the buffer of a finished write. A failed write's
// batch is kept for finish to write again.
func (c *partitionConsumer) completed(res writeResult) error {
	c.inflight = false
	if res.err != nil {
		c.failed = res.b
		return res.err
	}
	res.b.reset()
	c.spare = res.b
	return nil
}

// write writes b's rows, retrying until ClickHouse takes them, then its
// checkpoint if it has one, and commits that offset to Kafka. It touches
// neither the state nor the buffer being filled.
func (c *partitionConsumer) write(ctx context.Context, b *batch) error {
	if err := writeRows(ctx, c.s, b.rows, b.rejected, b.versions); err != nil {
		return fmt.Errorf("write of partition %d abandoned: %w", c.partition, err)
	}
	return c.saveCheckpoint(ctx, b.cp)
}

// writeRows writes rows, rejected and versions, retrying until ClickHouse
// takes them; it fails only when ctx ends.
func writeRows(ctx context.Context, s *Sessionizer, rows []store.EventRow, rejected []store.Rejected, versions []store.SessionVersion) error {
	if len(rows) == 0 && len(rejected) == 0 && len(versions) == 0 {
		return nil
	}
	start := time.Now()
	for attempt := 0; ; attempt++ {
		// Versions first: once a batch's events are visible, so are
		// their sessions (tests and tools that wait for events rely on it).
		err := s.opts.Store.WriteSessionVersions(ctx, versions)
		if err == nil {
			err = s.opts.Store.WriteEvents(ctx, rows)
		}
		if err == nil {
			err = s.opts.Store.WriteRejected(ctx, rejected)
		}
		if err == nil {
			break
		}
		s.metrics.clickhouseErrors.Inc()
		s.log.Warn("writing to ClickHouse failed; retrying (reading goes on until the next batch is full)",
			"rows", len(rows), "err", err)
		if err := sleep(ctx, backoff(attempt)); err != nil {
			return err
		}
	}
	done := time.Now()
	s.metrics.flushSeconds.Observe(done.Sub(start).Seconds())
	// Queryable from now on: each event's freshness, from the collector's
	// receive time to this insert returning.
	doneMs := done.UnixMilli()
	for i := range rows {
		s.metrics.freshness.Observe(float64(doneMs-rows[i].TimeMs) / 1e3)
	}
	s.metrics.written.Add(float64(len(rows)))
	s.metrics.versions.Add(float64(len(versions)))
	return nil
}

// saveCheckpoint saves cp (nothing when nil), retrying until ClickHouse
// takes it, and commits its offset to Kafka.
func (c *partitionConsumer) saveCheckpoint(ctx context.Context, cp *store.Checkpoint) error {
	if cp == nil {
		return nil
	}
	s := c.s
	for attempt := 0; ; attempt++ {
		err := s.opts.Store.SaveCheckpoint(ctx, *cp)
		if err == nil {
			break
		}
		s.metrics.clickhouseErrors.Inc()
		s.log.Warn("writing checkpoint failed; retrying", "partition", c.partition, "err", err)
		if err := sleep(ctx, backoff(attempt)); err != nil {
			return fmt.Errorf("checkpoint of partition %d abandoned: %w", c.partition, err)
		}
	}
	s.metrics.checkpoints.Inc()
	s.metrics.stateBytes.WithLabelValues(strconv.Itoa(c.partition)).Set(float64(len(cp.State)))
	// The checkpoint is the truth; the Kafka commit only helps tools that
	// watch consumer lag. It fails after a revoke, which is fine.
	if err := c.gen.CommitOffsets(map[string]map[int]int64{s.opts.Kafka.Topic: {c.partition: cp.NextOffset}}); err != nil {
		s.log.Debug("committing offset to Kafka failed (the ClickHouse checkpoint stands)", "partition", c.partition, "err", err)
	}
	return nil
}
