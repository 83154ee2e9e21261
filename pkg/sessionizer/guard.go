package sessionizer

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/teller-analytics/teller/pkg/store"
)

// guardedStore is the Store every partition consumer uses: it bounds each
// ClickHouse call by -clickhouse-timeout (a hung server then fails the call
// instead of holding a partition forever), measures it, and feeds what
// operations watch: whether ClickHouse takes calls at all (health, which
// makes the member leave its group when stuck) and how far each
// partition's rows and checkpoints have reached (progress: lag and
// checkpoint age).
type guardedStore struct {
	next     Store
	timeout  time.Duration
	metrics  *metrics
	health   *clickhouseHealth
	progress *progress
}

// call runs one ClickHouse call under the timeout and accounts for it.
func (g *guardedStore) call(ctx context.Context, name string, f func(context.Context) error) error {
	cctx, cancel := context.WithTimeout(ctx, g.timeout)
	defer cancel()
	start := time.Now()
	err := f(cctx)
	g.metrics.callSeconds.WithLabelValues(name).Observe(time.Since(start).Seconds())
	if err == nil {
		g.health.succeeded()
		return nil
	}
	if ctx.Err() != nil {
		// The caller gave up (revoke, shutdown): no verdict on ClickHouse.
		return err
	}
	g.metrics.callErrors.WithLabelValues(name).Inc()
	g.health.failed(start)
	if errors.Is(cctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%s: no answer from ClickHouse within -%s %s: %w", name, flagClickHouseTimeout, g.timeout, err)
	}
	return err
}

func (g *guardedStore) WriteEvents(ctx context.Context, rows []store.EventRow) error {
	if len(rows) == 0 {
		// No I/O, so no verdict on ClickHouse either way.
		return g.next.WriteEvents(ctx, rows)
	}
	if err := g.call(ctx, "write_events", func(ctx context.Context) error { return g.next.WriteEvents(ctx, rows) }); err != nil {
		return err
	}
	bridging := 0
	for i := range rows {
		if rows[i].IsBridging {
			bridging++
		}
	}
	g.metrics.bridging.Add(float64(bridging))
	// A batch is one partition's, in offset order: one progress update
	// per run of rows of one partition instead of a lock per row.
	for lo := 0; lo < len(rows); {
		p, last := rows[lo].KafkaPartition, rows[lo].KafkaOffset
		hi := lo + 1
		for ; hi < len(rows) && rows[hi].KafkaPartition == p; hi++ {
			last = max(last, rows[hi].KafkaOffset)
		}
		g.progress.wrote(p, last)
		lo = hi
	}
	return nil
}

func (g *guardedStore) WriteRejected(ctx context.Context, rows []store.Rejected) error {
	if len(rows) == 0 {
		return g.next.WriteRejected(ctx, rows)
	}
	if err := g.call(ctx, "write_rejected", func(ctx context.Context) error { return g.next.WriteRejected(ctx, rows) }); err != nil {
		return err
	}
	for i := range rows {
		g.progress.wrote(rows[i].Partition, rows[i].Offset)
	}
	return nil
}

func (g *guardedStore) WriteSessionVersions(ctx context.Context, rows []store.SessionVersion) error {
	if len(rows) == 0 {
		return g.next.WriteSessionVersions(ctx, rows)
	}
	return g.call(ctx, "write_session_versions", func(ctx context.Context) error { return g.next.WriteSessionVersions(ctx, rows) })
}

func (g *guardedStore) SaveCheckpoint(ctx context.Context, cp store.Checkpoint) error {
	if err := g.call(ctx, "save_checkpoint", func(ctx context.Context) error { return g.next.SaveCheckpoint(ctx, cp) }); err != nil {
		return err
	}
	g.progress.saved(cp.Partition, cp.NextOffset, time.Now())
	return nil
}

func (g *guardedStore) LoadCheckpoint(ctx context.Context, group, topic string, partition int32) (store.Checkpoint, bool, error) {
	var (
		cp store.Checkpoint
		ok bool
	)
	err := g.call(ctx, "load_checkpoint", func(ctx context.Context) (err error) {
		cp, ok, err = g.next.LoadCheckpoint(ctx, group, topic, partition)
		return err
	})
	if err != nil {
		return cp, ok, err
	}
	// Loading the checkpoint is where a partition's ownership starts.
	next := int64(-1)
	if ok {
		next = cp.NextOffset
	}
	g.progress.assigned(partition, next, time.Now())
	return cp, ok, nil
}

func (g *guardedStore) Ping(ctx context.Context) error {
	return g.call(ctx, "ping", g.next.Ping)
}

// clickhouseHealth tells how long ClickHouse has failed every call: the
// member-wide signal for leaving the group. Member-wide because what a
// member cannot fix by itself is its ClickHouse; one partition whose writes
// fail while others succeed would fail the same way on any member.
type clickhouseHealth struct {
	mu sync.Mutex
	// failingSince is when the oldest call of the current run of failures
	// started (a hung call counts from its start); zero while calls
	// succeed.
	failingSince time.Time
}

func (h *clickhouseHealth) failed(callStart time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.failingSince.IsZero() || callStart.Before(h.failingSince) {
		h.failingSince = callStart
	}
}

func (h *clickhouseHealth) succeeded() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.failingSince = time.Time{}
}

// failingFor is how long every call has failed at now; 0 while healthy.
func (h *clickhouseHealth) failingFor(now time.Time) time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.failingSince.IsZero() {
		return 0
	}
	return now.Sub(h.failingSince)
}
