package sessionizer

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/teller-analytics/teller/pkg/store"
)

// gatherWindow is how long a leader starting a write with no write under
// way waits for the member's other partitions to cut their batches too.
// Their flush clocks tick at the same instants (flushClock), so at live
// rates their cuts come within a few milliseconds of each other; without
// the wait the first one wrote alone and the others in a second cycle:
// two inserts per table per flush interval instead of one.
const gatherWindow = 25 * time.Millisecond

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
	// partitions is how many partition consumers of the member run;
	// gathering stops once each has a batch queued. arrived wakes a
	// gathering leader when a batch is queued.
	partitions int
	arrived    chan struct{}
	// window is the gathering's bound; 0 means gatherWindow (tests
	// lengthen it).
	window time.Duration

	// The leader's scratch for the joined rows.
	rows     []store.EventRow
	rejected []store.Rejected
	versions []store.SessionVersion
}

type pending struct {
	c *partitionConsumer
	b *batch
}

// joined and left count the member's running partition consumers.
func (k *combiner) joined() {
	k.mu.Lock()
	k.partitions++
	if k.arrived == nil {
		k.arrived = make(chan struct{}, 1)
	}
	k.mu.Unlock()
}

func (k *combiner) left() {
	k.mu.Lock()
	k.partitions--
	k.mu.Unlock()
	k.wake() // a gathering leader need not wait for it
}

func (k *combiner) wake() {
	select {
	case k.arrived <- struct{}{}:
	default:
	}
}

// submit writes b, joined with whatever else is queued, and reports the
// outcome on c.written.
func (k *combiner) submit(ctx context.Context, c *partitionConsumer, b *batch) {
	k.mu.Lock()
	k.queue = append(k.queue, pending{c: c, b: b})
	if k.writing {
		k.mu.Unlock()
		k.wake()
		return // the leader writes it
	}
	k.writing = true
	k.gather(ctx)
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

// gather waits, for at most gatherWindow, until every running partition
// has a batch queued. Called by the leader with k.mu held; no write is
// under way, so every other partition is free to cut. A partition with
// nothing to write does not cut, and the window bounds the wait for it.
func (k *combiner) gather(ctx context.Context) {
	if len(k.queue) >= k.partitions {
		return
	}
	window := k.window
	if window == 0 {
		window = gatherWindow
	}
	timer := time.NewTimer(window)
	defer timer.Stop()
	for len(k.queue) < k.partitions {
		k.mu.Unlock()
		select {
		case <-k.arrived:
			k.mu.Lock()
		case <-timer.C:
			k.mu.Lock()
			return
		case <-ctx.Done():
			k.mu.Lock()
			return
		}
	}
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
	// The scratch keeps no strings alive between writes, nor an array
	// sized for a burst (refit).
	clear(k.rows)
	clear(k.rejected)
	clear(k.versions)
	k.rows, k.rejected, k.versions = refit(k.rows), refit(k.rejected), refit(k.versions)
	for _, p := range group {
		perr := err
		if perr == nil {
			perr = p.c.saveCheckpoint(ctx, p.b.cp)
		}
		p.c.written <- writeResult{b: p.b, err: perr}
	}
}
