package sessionizer

import (
	"context"
	"slices"
	"sync"

	"github.com/teller-analytics/teller/pkg/store"
)

// combiner joins the batches a member's partitions cut while a write is
// under way into one insert per table (group commit): ClickHouse 18.16's
// CPU goes by the number of inserts far more than by their rows
// (docs/benchmarks.md), and six partitions flushing every second would
// otherwise make six write cycles a second. The first batch to arrive
// with no write under way leads: it writes what is queued, then what
// queued meanwhile, until the queue is empty. Each partition still has at
// most one batch in flight, so a partition's batches are written in order,
// and a batch's checkpoint is saved only after the insert holding its rows.
type combiner struct {
	mu      sync.Mutex
	queue   []pending
	writing bool

	// The leader's scratch for the joined rows.
	rows     []store.EventRow
	rejected []store.Rejected
	versions []store.SessionVersion
}

type pending struct {
	c *partitionConsumer
	b *batch
}

// submit writes b, joined with whatever else is queued, and reports the
// outcome on c.written.
func (k *combiner) submit(ctx context.Context, c *partitionConsumer, b *batch) {
	k.mu.Lock()
	k.queue = append(k.queue, pending{c: c, b: b})
	if k.writing {
		k.mu.Unlock()
		return // the leader writes it
	}
	k.writing = true
	for len(k.queue) > 0 {
		group := k.queue
		k.queue = nil
		k.mu.Unlock()
		k.write(ctx, group)
		k.mu.Lock()
	}
	k.writing = false
	k.mu.Unlock()
}

// write writes one group and reports to each of its partitions. The
// leader's context bounds it: when the leader's partition gives up
// (revoke, shutdown, or its own read failing), the group fails and each
// partition writes its batch again on its own (finish), restarting from
// its checkpoint if its generation goes on: nothing is lost or reordered.
func (k *combiner) write(ctx context.Context, group []pending) {
	if len(group) == 1 {
		p := group[0]
		p.c.written <- writeResult{b: p.b, err: p.c.write(ctx, p.b)}
		return
	}
	k.rows, k.rejected, k.versions = k.rows[:0], k.rejected[:0], k.versions[:0]
	// Sized once: appending hundreds of thousands of rows to a slice that
	// grows by a quarter at a time copied them several times over.
	var rows, rejected, versions int
	for _, p := range group {
		rows, rejected, versions = rows+len(p.b.rows), rejected+len(p.b.rejected), versions+len(p.b.versions)
	}
	k.rows, k.rejected, k.versions = slices.Grow(k.rows, rows), slices.Grow(k.rejected, rejected), slices.Grow(k.versions, versions)
	for _, p := range group {
		k.rows = append(k.rows, p.b.rows...)
		k.rejected = append(k.rejected, p.b.rejected...)
		k.versions = append(k.versions, p.b.versions...)
	}
	err := writeRows(ctx, group[0].c.s, k.rows, k.rejected, k.versions)
	// The scratch keeps no strings alive between writes.
	clear(k.rows)
	clear(k.rejected)
	clear(k.versions)
	for _, p := range group {
		perr := err
		if perr == nil {
			perr = p.c.saveCheckpoint(ctx, p.b.cp)
		}
		p.c.written <- writeResult{b: p.b, err: perr}
	}
}
