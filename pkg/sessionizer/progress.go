package sessionizer

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
)

// progress is how far each partition this member owns has got: the next
// offset its rows reached in ClickHouse and the next offset its last
// checkpoint covers. Measured against the partition's end in Kafka it gives
// the consumer lag and the checkpoint age (metrics, readiness).
type progress struct {
	mu    sync.Mutex
	parts map[int32]*partitionProgress
}

type partitionProgress struct {
	// written is the offset after the last row written (events or
	// rejected); checkpointed the next offset of the last checkpoint loaded
	// or saved. -1: none yet.
	written, checkpointed int64
	// coveredAt is the last time the checkpoint was known to cover the
	// whole partition, or was written, or the partition was assigned:
	// anything uncovered has waited at most since then.
	coveredAt time.Time
	// The last measurement (measured: there was one).
	measured bool
	lag      int64
	age      time.Duration
}

func newProgress() *progress { return &progress{parts: map[int32]*partitionProgress{}} }

// assigned starts a partition's ownership from its checkpoint (-1: none).
func (p *progress) assigned(partition int32, checkpointed int64, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.parts[partition] = &partitionProgress{written: -1, checkpointed: checkpointed, coveredAt: now}
}

func (p *progress) get(partition int32) *partitionProgress {
	pp := p.parts[partition]
	if pp == nil {
		pp = &partitionProgress{written: -1, checkpointed: -1, coveredAt: time.Now()}
		p.parts[partition] = pp
	}
	return pp
}

func (p *progress) wrote(partition int32, offset int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if pp := p.get(partition); offset+1 > pp.written {
		pp.written = offset + 1
	}
}

func (p *progress) saved(partition int32, next int64, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pp := p.get(partition)
	pp.checkpointed, pp.coveredAt = next, now
}

// measure records a partition's lag and checkpoint age given its first and
// end offsets in Kafka (end: the offset the next message will get).
func (p *progress) measure(partition int32, first, end int64, now time.Time) (lag int64, age time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pp := p.get(partition)
	// Before any row or checkpoint the partition is read from its start.
	processed := max(pp.written, pp.checkpointed, first)
	lag = max(end-processed, 0)
	if max(pp.checkpointed, first) >= end {
		pp.coveredAt = now
	}
	age = now.Sub(pp.coveredAt)
	pp.measured, pp.lag, pp.age = true, lag, age
	return lag, age
}

// release forgets the partitions not in keep.
func (p *progress) release(keep map[int]bool) (released []int32) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for part := range p.parts {
		if !keep[int(part)] {
			delete(p.parts, part)
			released = append(released, part)
		}
	}
	return released
}

// stale is the partitions whose last measured checkpoint age exceeds
// limit, as "partition N: ..." descriptions in partition order.
func (p *progress) stale(limit time.Duration) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var parts []int
	for part, pp := range p.parts {
		if pp.measured && pp.age > limit {
			parts = append(parts, int(part))
		}
	}
	sort.Ints(parts)
	out := make([]string, 0, len(parts))
	for _, part := range parts {
		pp := p.parts[int32(part)]
		out = append(out, fmt.Sprintf("partition %d: nothing checkpointed for %s with %d messages behind", part, pp.age.Round(time.Second), pp.lag))
	}
	return out
}

// measureLag reads the first and end offsets of the assigned partitions in
// one bounded request and exports their lag and checkpoint age.
func (s *Sessionizer) measureLag(ctx context.Context, client *kafka.Client) error {
	parts := s.assignedPartitions()
	if len(parts) == 0 {
		return nil
	}
	reqs := make([]kafka.OffsetRequest, 0, 2*len(parts))
	for _, p := range parts {
		reqs = append(reqs, kafka.FirstOffsetOf(p), kafka.LastOffsetOf(p))
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.Config.KafkaTimeout)
	defer cancel()
	topic := s.opts.Kafka.Topic
	resp, err := client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: reqs}})
	if err != nil {
		return fmt.Errorf("read the offsets of topic %s: %w", topic, err)
	}
	now := time.Now()
	still := s.assignedSet()
	for _, po := range resp.Topics[topic] {
		if po.Error != nil {
			s.log.Debug("reading a partition's offsets failed", "partition", po.Partition, "err", po.Error)
			continue
		}
		if !still[po.Partition] { // released while we asked
			continue
		}
		lag, age := s.progress.measure(int32(po.Partition), po.FirstOffset, po.LastOffset, now)
		label := strconv.Itoa(po.Partition)
		s.metrics.lag.WithLabelValues(label).Set(float64(lag))
		s.metrics.checkpointAge.WithLabelValues(label).Set(age.Seconds())
	}
	return nil
}

// watchLag measures lag and checkpoint age every flush interval until ctx
// ends.
func (s *Sessionizer) watchLag(ctx context.Context) {
	client := &kafka.Client{Addr: kafka.TCP(s.opts.Kafka.Brokers...), Timeout: s.opts.Config.KafkaTimeout}
	t := time.NewTicker(s.opts.Config.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := s.measureLag(ctx, client); err != nil && ctx.Err() == nil {
			s.metrics.kafkaErrors.Inc()
			s.log.Warn("measuring consumer lag failed", "err", err)
		}
	}
}
