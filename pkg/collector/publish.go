package collector

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/teller-analytics/teller/pkg/bus"
	"github.com/teller-analytics/teller/pkg/spool"
)

// ErrSpoolFull is returned by SpoolPublisher.Publish when the spool has no
// room; the collector answers 503 and the client retries.
var ErrSpoolFull = errors.New("collector: event spool is full")

// Sender delivers messages to Kafka and returns once they are acknowledged
// (bus.Producer).
type Sender interface {
	Publish(ctx context.Context, msgs ...bus.Message) error
}

// DeliveredChecker is an optional Sender method (bus.Producer has it):
// which of msgs Kafka already holds. The drainer asks before re-sending a
// batch whose fate it does not know (in flight when the previous process
// died, or when a send failed without saying which records were written), so
// a restart or a lost answer does not write second copies.
type DeliveredChecker interface {
	Delivered(ctx context.Context, msgs []bus.Message) ([]bool, error)
}

// SpoolPublisher is the durable Publisher: every event is appended to the
// on-disk spool (the request is answered once it is there, per the spool's
// fsync policy) and one drainer sends the spool to Kafka in append order,
// recording in the spool what Kafka acknowledged. Because one drainer sends
// in order and re-sends a failed batch before anything after it, each
// visitor's events reach their partition in the order they were accepted,
// whether Kafka was up, slow or down; a restart drains what the previous
// process left. docs/benchmarks.md measures this against waiting for Kafka's
// acknowledgement in every request.
type SpoolPublisher struct {
	spool  *spool.Spool
	sender Sender
	o      SpoolOptions
	log    *slog.Logger
	m      *spoolMetrics

	// uncertain: the next batch may already be in Kafka (the previous
	// process may have died while sending it). Only the drainer uses it.
	uncertain bool

	mu      sync.Mutex
	lastErr error // the drainer's last delivery failure, nil once one succeeds
}

// SpoolOptions tune a SpoolPublisher.
type SpoolOptions struct {
	// ReadyBytes is the amount of undelivered spool past which Ready fails
	// (load balancers send traffic elsewhere); dead letters are not spooled
	// past it either, so refused input never crowds out events. Default:
	// 64 MiB.
	ReadyBytes int64
	// BatchRecords and BatchBytes bound one delivery to Kafka (defaults 1000
	// and 4 MiB, matching bus.Producer's batch).
	BatchRecords int
	BatchBytes   int64
	// Retry is the first pause after a failed delivery, doubled up to 5 s
	// (default 100 ms).
	Retry time.Duration
	// Linger is how long the drainer lets events gather after a batch
	// smaller than BatchRecords (default 10 ms): requests do not wait for
	// Kafka here, so a short pause turns many small produce requests into
	// few large ones, which costs the collector and the broker less per
	// event. It delays events on their way to Kafka, never a request.
	Linger time.Duration
	// Logger; default slog.Default().
	Logger *slog.Logger
	// Registerer receives the spool metrics; nil for none.
	Registerer prometheus.Registerer
}

// NewSpoolPublisher drains sp to sender once Run is called.
func NewSpoolPublisher(sp *spool.Spool, sender Sender, o SpoolOptions) *SpoolPublisher {
	if o.ReadyBytes <= 0 {
		o.ReadyBytes = 64 << 20
	}
	if o.BatchRecords <= 0 {
		o.BatchRecords = 1000
	}
	if o.BatchBytes <= 0 {
		o.BatchBytes = 4 << 20
	}
	if o.Retry <= 0 {
		o.Retry = 100 * time.Millisecond
	}
	if o.Linger <= 0 {
		o.Linger = DefaultSpoolLinger
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	p := &SpoolPublisher{spool: sp, sender: sender, o: o, log: o.Logger, uncertain: sp.Pending() > 0}
	p.m = newSpoolMetrics(o.Registerer, sp)
	return p
}

// Publish appends msgs to the spool. Dead letters (messages with a Topic)
// are skipped, and counted, while the spool is past ReadyBytes.
func (p *SpoolPublisher) Publish(ctx context.Context, msgs ...bus.Message) error {
	// The records are encoded into a reused buffer: Append copies them
	// into the segment and keeps none (two allocations less per request).
	sc := scratchPool.Get().(*publishScratch)
	defer sc.put()
	for _, m := range msgs {
		if m.Topic != "" && p.spool.Pending() > p.o.ReadyBytes {
			p.m.deadLettersDropped.Inc()
			continue
		}
		start := len(sc.buf)
		sc.buf = appendMessage(sc.buf, m)
		sc.recs = append(sc.recs, sc.buf[start:len(sc.buf):len(sc.buf)])
	}
	recs := sc.recs
	if len(recs) == 0 {
		return nil
	}
	err := p.spool.Append(ctx, recs...)
	if errors.Is(err, spool.ErrFull) {
		p.m.full.Inc()
		return fmt.Errorf("%w (%d bytes undelivered)", ErrSpoolFull, p.spool.Pending())
	}
	if err != nil {
		return fmt.Errorf("collector: spool %d message(s): %w", len(recs), err)
	}
	return nil
}

// WaitsOnContext is true when Publish can wait for something ctx bounds: the
// fsync of fsync always. Otherwise Append writes to the page cache and
// returns, and ctx is not consulted.
func (p *SpoolPublisher) WaitsOnContext() bool { return p.spool.WaitsForSync() }

// Ready fails while more than ReadyBytes wait for Kafka, naming the last
// delivery error.
func (p *SpoolPublisher) Ready(context.Context) error {
	pending := p.spool.Pending()
	if pending <= p.o.ReadyBytes {
		return nil
	}
	p.mu.Lock()
	last := p.lastErr
	p.mu.Unlock()
	if last != nil {
		return fmt.Errorf("spool holds %d bytes undelivered (threshold %d); last Kafka error: %v", pending, p.o.ReadyBytes, last)
	}
	return fmt.Errorf("spool holds %d bytes undelivered (threshold %d)", pending, p.o.ReadyBytes)
}

// DefaultSpoolLinger is SpoolOptions.Linger's default.
const DefaultSpoolLinger = 10 * time.Millisecond

// Run drains the spool to Kafka until ctx ends.
func (p *SpoolPublisher) Run(ctx context.Context) {
	linger := time.NewTimer(p.o.Linger)
	defer linger.Stop()
	for ctx.Err() == nil {
		n, err := p.deliverBatch(ctx)
		if err != nil {
			continue // deliverBatch waited before returning
		}
		if n > 0 && n < p.o.BatchRecords {
			linger.Reset(p.o.Linger)
			select {
			case <-ctx.Done():
			case <-linger.C:
			}
		}
		if n == 0 {
			select {
			case <-ctx.Done():
			case <-p.spool.Notify():
			case <-time.After(time.Second): // a missed notification costs at most this
			}
		}
	}
}

// Flush delivers what the spool holds until it is empty or ctx ends; what is
// left stays in the spool for the next start. Graceful shutdown calls it
// after the HTTP server stopped accepting.
func (p *SpoolPublisher) Flush(ctx context.Context) error {
	for {
		n, err := p.deliverBatch(ctx)
		if ctx.Err() != nil {
			return fmt.Errorf("collector: flush spool: %d bytes left for the next start: %w", p.spool.Pending(), ctx.Err())
		}
		if err == nil && n == 0 {
			return nil
		}
	}
}

// sendTimeout bounds one delivery attempt. Run's end does not cut a send
// short: a produce request abandoned mid-way may still be written by Kafka,
// and re-sending it would duplicate it.
const sendTimeout = 15 * time.Second

// deliverBatch sends one batch from the spool and acknowledges it. After a
// failure it re-sends only what Kafka did not acknowledge, in order, until
// all of the batch is delivered or ctx ends (checked between attempts).
func (p *SpoolPublisher) deliverBatch(ctx context.Context) (int, error) {
	recs, end, err := p.spool.Read(p.o.BatchRecords, p.o.BatchBytes)
	if err != nil {
		p.log.Error("spool read failed", "err", err)
		p.spool.Rewind()
		sleep(ctx, p.o.Retry)
		return 0, err
	}
	if len(recs) == 0 {
		return 0, nil
	}
	msgs := make([]bus.Message, 0, len(recs))
	for _, r := range recs {
		m, err := decodeMessage(r)
		if err != nil {
			// Checksummed, so only a bug writes this: skip it rather than
			// block every event behind it.
			p.log.Error("spool: undecodable record skipped", "err", err)
			continue
		}
		msgs = append(msgs, m)
	}
	wait := p.o.Retry
	for attempt := 0; len(msgs) > 0; attempt++ {
		if p.uncertain || attempt > 0 {
			msgs = p.dropDelivered(ctx, msgs)
			if len(msgs) == 0 {
				break
			}
		}
		deadline := time.Now().Add(sendTimeout)
		if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
			deadline = dl // Flush's bound still holds
		}
		sctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), deadline)
		err := p.sender.Publish(sctx, msgs...)
		cancel()
		if err == nil {
			break
		}
		unsent := bus.Unsent(err, len(msgs))
		// Unless Kafka said which records failed, some of those may have
		// been written: the next attempt asks first.
		p.uncertain = len(unsent) == len(msgs)
		p.m.resent.Add(float64(len(unsent)))
		p.mu.Lock()
		p.lastErr = err
		p.mu.Unlock()
		if attempt == 0 {
			p.log.Warn("Kafka delivery failed; events stay in the spool and are re-sent in order", "messages", len(msgs), "unsent", len(unsent), "err", err)
		}
		keep := msgs[:0:0]
		for _, i := range unsent {
			keep = append(keep, msgs[i])
		}
		msgs = keep
		if !sleep(ctx, wait) {
			p.spool.Rewind() // not acknowledged: read again by the next drainer run
			return 0, ctx.Err()
		}
		wait = min(2*wait, 5*time.Second)
	}
	p.uncertain = false
	p.mu.Lock()
	p.lastErr = nil
	p.mu.Unlock()
	if err := p.spool.Ack(end); err != nil {
		// Delivered but not recorded: a restart re-sends this batch.
		p.log.Error("spool: recording delivery failed", "err", err)
	}
	p.m.delivered.Add(float64(len(recs)))
	return len(recs), nil
}

// dropDelivered removes from msgs those Kafka already holds; when it cannot
// tell, it keeps them all (a possible duplicate rather than a loss).
func (p *SpoolPublisher) dropDelivered(ctx context.Context, msgs []bus.Message) []bus.Message {
	c, ok := p.sender.(DeliveredChecker)
	if !ok {
		return msgs
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sendTimeout)
	defer cancel()
	found, err := c.Delivered(cctx, msgs)
	if err != nil {
		p.log.Debug("could not check which spooled records Kafka holds; re-sending them all", "err", err)
		return msgs
	}
	keep := msgs[:0:0]
	for i, m := range msgs {
		if !found[i] {
			keep = append(keep, m)
		}
	}
	if n := len(msgs) - len(keep); n > 0 {
		p.m.alreadyDelivered.Add(float64(n))
		p.log.Info("spooled records already in Kafka were not sent again", "records", n)
	}
	return keep
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// publishScratch is what one Publish encodes its records into.
type publishScratch struct {
	buf  []byte
	recs [][]byte
}

var scratchPool = sync.Pool{New: func() any { return &publishScratch{buf: make([]byte, 0, 1024), recs: make([][]byte, 0, 1)} }}

// maxScratch bounds the buffer a scratch keeps for the next request: a rare
// large batch does not pin its memory in the pool.
const maxScratch = 64 << 10

func (sc *publishScratch) put() {
	if cap(sc.buf) > maxScratch || cap(sc.recs) > MaxBatch {
		return
	}
	clear(sc.recs) // no reference to this request's bytes stays reachable
	sc.buf, sc.recs = sc.buf[:0], sc.recs[:0]
	scratchPool.Put(sc)
}

// appendMessage appends a spooled message to b: uvarint topic length,
// topic, uvarint key length, key, value.
func appendMessage(b []byte, m bus.Message) []byte {
	b = binary.AppendUvarint(b, uint64(len(m.Topic)))
	b = append(b, m.Topic...)
	b = binary.AppendUvarint(b, uint64(len(m.Key)))
	b = append(b, m.Key...)
	return append(b, m.Value...)
}

func decodeMessage(b []byte) (bus.Message, error) {
	var m bus.Message
	field := func() ([]byte, error) {
		n, w := binary.Uvarint(b)
		if w <= 0 || n > uint64(len(b)-w) {
			return nil, errors.New("bad length")
		}
		f := b[w : w+int(n)]
		b = b[w+int(n):]
		return f, nil
	}
	topic, err := field()
	if err != nil {
		return m, fmt.Errorf("spooled message topic: %w", err)
	}
	key, err := field()
	if err != nil {
		return m, fmt.Errorf("spooled message key: %w", err)
	}
	m.Topic, m.Key, m.Value = string(topic), key, b
	return m, nil
}

type spoolMetrics struct {
	delivered, resent, full, deadLettersDropped, alreadyDelivered prometheus.Counter
}

func newSpoolMetrics(reg prometheus.Registerer, sp *spool.Spool) *spoolMetrics {
	m := &spoolMetrics{
		delivered: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "teller_collector_spool_delivered_total", Help: "Spooled messages Kafka acknowledged."}),
		resent: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "teller_collector_spool_resent_total", Help: "Messages sent again after Kafka refused or did not answer."}),
		full: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "teller_collector_spool_full_total", Help: "Publishes refused because the spool was full (answered 503)."}),
		alreadyDelivered: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "teller_collector_spool_already_delivered_total", Help: "Spooled messages found in Kafka before a re-send (in flight at a crash or a lost answer), so not sent twice."}),
		deadLettersDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "teller_collector_dead_letters_dropped_total", Help: "Dead letters not kept because the spool was past its readiness threshold."}),
	}
	if reg != nil {
		reg.MustRegister(m.delivered, m.resent, m.full, m.deadLettersDropped, m.alreadyDelivered,
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "teller_collector_spool_pending_bytes", Help: "Spooled bytes not yet acknowledged by Kafka."},
				func() float64 { return float64(sp.Pending()) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "teller_collector_spool_disk_bytes", Help: "Size of the spool's segment files."},
				func() float64 { return float64(sp.DiskBytes()) }))
	}
	return m
}
