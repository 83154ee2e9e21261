// Package bus owns Teller's use of Kafka through github.com/segmentio/kafka-go:
// the connection settings, the producer the collector publishes events with
// (keyed by visitor, hashing balancer, batched, acknowledged by all in-sync
// replicas), the dead-letter topic where refused input is kept
// (deadletter.go), and topic creation. The sessionizer's consumer lives in
// pkg/sessionizer; nothing here knows the event format.
package bus

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/teller-analytics/teller/pkg/config"
)

// Defaults of the Kafka flags.
const (
	DefaultBrokers           = "127.0.0.1:9092"
	DefaultTopic             = "teller.events"
	DefaultPartitions        = 6
	DefaultReplicationFactor = 1
	// DefaultDeadLetterTopic keeps the collector's refused input.
	DefaultDeadLetterTopic = "teller.events.invalid"
)

// Config is how to reach the events topic.
type Config struct {
	// Brokers are bootstrap addresses, host:port.
	Brokers config.StringList
	// Topic carries the events.
	Topic string
	// DeadLetterTopic keeps refused input (see DeadLetter); created with
	// the events topic.
	DeadLetterTopic string
	// Partitions is used when Teller creates the topic.
	Partitions int
	// ReplicationFactor is used when Teller creates the topic.
	ReplicationFactor int
}

// RegisterFlags adds the connection flags, -kafka-brokers and -kafka-topic,
// to fs.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	c.Brokers = config.StringList{DefaultBrokers}
	fs.Var(&c.Brokers, "kafka-brokers", "Kafka bootstrap brokers, comma-separated host:port")
	fs.StringVar(&c.Topic, "kafka-topic", DefaultTopic, "Kafka topic for events")
}

// RegisterDeadLetterFlags adds -kafka-dead-letter-topic, for the service that
// refuses input (the collector).
func (c *Config) RegisterDeadLetterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.DeadLetterTopic, "kafka-dead-letter-topic", DefaultDeadLetterTopic, "Kafka topic keeping refused events (raw payload, reason, time); read it with kcat -C -t <topic>")
}

// RegisterCreateFlags adds the flags EnsureTopic creates the topic with, for
// the service that creates it.
func (c *Config) RegisterCreateFlags(fs *flag.FlagSet) {
	fs.IntVar(&c.Partitions, "kafka-partitions", DefaultPartitions, "partitions when Teller creates the topic (a visitor's events stay in one partition)")
	fs.IntVar(&c.ReplicationFactor, "kafka-replication-factor", DefaultReplicationFactor, "replication factor when Teller creates the topic")
}

// Validate reports, naming the flag, what is wrong with the connection
// settings (brokers and topic). It does no I/O.
func (c *Config) Validate() error {
	var errs []error
	if len(c.Brokers) == 0 {
		errs = append(errs, errors.New("-kafka-brokers: no brokers configured (TELLER_KAFKA_BROKERS)"))
	}
	for _, b := range c.Brokers {
		if err := config.CheckHostPort("kafka-brokers", b, false); err != nil {
			errs = append(errs, err)
		}
	}
	if c.Topic == "" {
		errs = append(errs, errors.New("-kafka-topic: no topic configured (TELLER_KAFKA_TOPIC)"))
	}
	return errors.Join(errs...)
}

// ValidateCreate is Validate plus the settings EnsureTopic creates the topic
// with. Only the service that creates the topic (the collector) needs them.
func (c *Config) ValidateCreate() error {
	var errs []error
	if err := c.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.Partitions < 1 {
		errs = append(errs, fmt.Errorf("-kafka-partitions %d: a topic needs at least one partition", c.Partitions))
	}
	if c.ReplicationFactor < 1 {
		errs = append(errs, fmt.Errorf("-kafka-replication-factor %d: must be at least 1", c.ReplicationFactor))
	}
	return errors.Join(errs...)
}

// EnsureTopic creates the events topic, and the dead-letter topic when one
// is configured, if they do not exist. An existing topic is left as it is,
// whatever its partition count.
func EnsureTopic(ctx context.Context, c Config) error {
	if err := c.ValidateCreate(); err != nil {
		return fmt.Errorf("kafka: create topic: %w", err)
	}
	if err := ensureTopic(ctx, c, c.Topic); err != nil {
		return err
	}
	if c.DeadLetterTopic != "" && c.DeadLetterTopic != c.Topic {
		return ensureTopic(ctx, c, c.DeadLetterTopic)
	}
	return nil
}

func ensureTopic(ctx context.Context, c Config, topic string) error {
	var lastErr error
	for _, b := range c.Brokers {
		conn, err := (&kafka.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, "tcp", b)
		if err != nil {
			lastErr = err
			continue
		}
		defer conn.Close()
		parts, err := conn.ReadPartitions(topic)
		if err == nil && len(parts) > 0 {
			return nil
		}
		ctrl, err := conn.Controller()
		if err != nil {
			return fmt.Errorf("kafka: find controller via %s: %w", b, err)
		}
		cc, err := (&kafka.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, "tcp", net.JoinHostPort(ctrl.Host, strconv.Itoa(ctrl.Port)))
		if err != nil {
			return fmt.Errorf("kafka: dial controller %s:%d: %w", ctrl.Host, ctrl.Port, err)
		}
		defer cc.Close()
		err = cc.CreateTopics(kafka.TopicConfig{Topic: topic, NumPartitions: c.Partitions, ReplicationFactor: c.ReplicationFactor})
		if err != nil && !errors.Is(err, kafka.TopicAlreadyExists) {
			return fmt.Errorf("kafka: create topic %s: %w", topic, err)
		}
		return nil
	}
	return fmt.Errorf("kafka: no broker of %v answered: %w", c.Brokers, lastErr)
}

// Message is one record to publish.
type Message struct {
	// Topic is empty for the producer's events topic.
	Topic string
	Key   []byte
	Value []byte
}

// Producer publishes records to the events topic. Publish calls from many
// requests are gathered into rounds (a group commit): one goroutine hands
// each round to kafka-go's writer with a single WriteMessages, and every
// call returns once its own records are acknowledged by all in-sync
// replicas, so an accepted event is durable. A round forms while the one
// before it is in flight, so the rounds grow with the load and each record
// waits at most for the round ahead of it plus its own. One WriteMessages
// per round instead of per request halves the producer's CPU per event
// (docs/benchmarks.md), and records reach the writer in the order their
// calls were made.
type Producer struct {
	w     *kafka.Writer
	topic string
	log   *slog.Logger

	mu     sync.Mutex
	next   *round // the round Publish calls join
	closed bool
	// wake holds a token while next has records for the sender.
	wake chan struct{}
	stop chan struct{}
	sent chan struct{} // closed when the sender has returned
}

// round is one WriteMessages of the records of several Publish calls.
type round struct {
	msgs []kafka.Message
	err  error
	done chan struct{} // closed once err is set
}

func newRound() *round { return &round{done: make(chan struct{})} }

// NewProducer makes a producer; it connects lazily.
func NewProducer(c Config, log *slog.Logger) *Producer {
	p := &Producer{log: log, topic: c.Topic, w: &kafka.Writer{
		Addr: kafka.TCP(c.Brokers...),
		// No Writer.Topic: each message names its own (events or dead
		// letters), so one writer batches both.
		Balancer:     &kafka.Hash{}, // kafka-go's default ignores keys
		RequiredAcks: kafka.RequireAll,
		BatchSize:    1000,
		BatchBytes:   4 << 20,
		// How long kafka-go holds a partition's batch for more records. A
		// round hands over all of its records at once, so waiting gathers
		// nothing more and only delays every request: the requests wait for
		// Kafka, so with 64 connections the rate is at most 64 / latency
		// (at 5 ms, ~7,800 requests/s with the CPU 60% idle; see
		// docs/benchmarks.md for 1 ms against this).
		BatchTimeout: 100 * time.Microsecond,
		WriteTimeout: 10 * time.Second,
		MaxAttempts:  5,
		Compression:  kafka.Snappy,
	}, next: newRound(), wake: make(chan struct{}, 1), stop: make(chan struct{}), sent: make(chan struct{})}
	go p.send()
	return p
}

// ErrClosed is returned by Publish after Close.
var ErrClosed = errors.New("kafka: producer closed")

// Publish writes msgs and returns when they are acknowledged, or when ctx
// ends (the records may still be written then, as with any write whose
// answer was not awaited).
func (p *Producer) Publish(ctx context.Context, msgs ...Message) error {
	if len(msgs) == 0 {
		return nil // no round would carry it, so none would answer
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return ErrClosed
	}
	r := p.next
	off := len(r.msgs)
	for _, m := range msgs {
		topic := m.Topic
		if topic == "" {
			topic = p.topic
		}
		r.msgs = append(r.msgs, kafka.Message{Topic: topic, Key: m.Key, Value: m.Value})
	}
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default: // the sender is already told
	}
	select {
	case <-r.done:
	case <-ctx.Done():
		return fmt.Errorf("kafka: publish %d message(s) to %s: %w", len(msgs), p.topic, ctx.Err())
	}
	if err := r.errFor(off, len(msgs)); err != nil {
		return fmt.Errorf("kafka: publish %d message(s) to %s: %w", len(msgs), p.topic, err)
	}
	return nil
}

// errFor is the round's outcome for the n records from off: nil when Kafka
// acknowledged them all, those records' kafka.WriteErrors when it says which
// failed (so Unsent works on the caller's indexes), else the round's error.
func (r *round) errFor(off, n int) error {
	if r.err == nil {
		return nil
	}
	var we kafka.WriteErrors
	if errors.As(r.err, &we) && len(we) == len(r.msgs) {
		mine := we[off : off+n]
		for _, e := range mine {
			if e != nil {
				return slices.Clone(mine)
			}
		}
		return nil
	}
	return r.err
}

// send writes one round after another until Close, then what is left.
func (p *Producer) send() {
	defer close(p.sent)
	for {
		select {
		case <-p.wake:
			p.sendRound()
		case <-p.stop:
			p.sendRound()
			return
		}
	}
}

func (p *Producer) sendRound() {
	p.mu.Lock()
	r := p.next
	if len(r.msgs) == 0 {
		p.mu.Unlock()
		return
	}
	p.next = newRound()
	p.mu.Unlock()
	// Not bound to any caller's context: the records of callers that gave
	// up are written all the same, and kafka-go's WriteTimeout and
	// MaxAttempts bound the round.
	r.err = p.w.WriteMessages(context.Background(), r.msgs...)
	close(r.done)
}

// Unsent returns the indexes, among the n messages of a Publish that returned
// err, of those Kafka did not acknowledge: all of them unless the error says
// which ones failed. Re-sending only those avoids duplicating the others.
// Within a partition a batch fails as a whole, so re-sending the failed ones
// in their order keeps each key's order.
func Unsent(err error, n int) []int {
	var we kafka.WriteErrors
	if err == nil {
		return nil
	}
	idx := make([]int, 0, n)
	if errors.As(err, &we) && len(we) == n {
		for i, e := range we {
			if e != nil {
				idx = append(idx, i)
			}
		}
		return idx
	}
	for i := 0; i < n; i++ {
		idx = append(idx, i)
	}
	return idx
}

// Close writes what Publish calls handed over and closes the producer;
// Publish fails with ErrClosed afterwards.
func (p *Producer) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.mu.Unlock()
	close(p.stop)
	<-p.sent
	return p.w.Close()
}

// deliveredScan is how many records past the ones asked about Delivered
// reads per partition, for other producers' records interleaved with them.
const deliveredScan = 1000

// Delivered reports which of msgs Kafka already holds, by identical key and
// value among the latest records of their topics' partitions. A producer
// that lost its connection (or its process) while a batch was in flight
// cannot know whether Kafka wrote it; asking before re-sending avoids
// writing a second copy. It reads at most len(msgs)+1000 records per
// partition, so a record buried deeper (many other producers) reads as not
// delivered: the cost is a duplicate, never a loss.
func (p *Producer) Delivered(ctx context.Context, msgs []Message) ([]bool, error) {
	want := map[string][]int{} // topic -> indexes
	for i, m := range msgs {
		t := m.Topic
		if t == "" {
			t = p.topic
		}
		want[t] = append(want[t], i)
	}
	found := make([]bool, len(msgs))
	for topic, idx := range want {
		byContent := map[string][]int{}
		for _, i := range idx {
			k := string(msgs[i].Key) + "\x00" + string(msgs[i].Value)
			byContent[k] = append(byContent[k], i)
		}
		if err := p.scanTail(ctx, topic, int64(len(idx)+deliveredScan), func(key, value []byte) {
			k := string(key) + "\x00" + string(value)
			if is := byContent[k]; len(is) > 0 {
				found[is[0]] = true
				byContent[k] = is[1:]
			}
		}); err != nil {
			return nil, err
		}
	}
	return found, nil
}

// scanTail calls fn with the last n records of each partition of topic.
func (p *Producer) scanTail(ctx context.Context, topic string, n int64, fn func(key, value []byte)) error {
	addrs := p.w.Addr.String()
	var conn *kafka.Conn
	var err error
	for _, b := range strings.Split(addrs, ",") {
		if conn, err = (&kafka.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, "tcp", b); err == nil {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("kafka: dial to check delivered records: %w", err)
	}
	parts, err := conn.ReadPartitions(topic)
	conn.Close()
	if err != nil {
		return fmt.Errorf("kafka: partitions of %s: %w", topic, err)
	}
	for _, part := range parts {
		leader := net.JoinHostPort(part.Leader.Host, strconv.Itoa(part.Leader.Port))
		pc, err := (&kafka.Dialer{Timeout: 5 * time.Second}).DialLeader(ctx, "tcp", leader, topic, part.ID)
		if err != nil {
			return fmt.Errorf("kafka: dial leader of %s/%d: %w", topic, part.ID, err)
		}
		err = readRange(ctx, pc, n, fn)
		pc.Close()
		if err != nil {
			return fmt.Errorf("kafka: read the tail of %s/%d: %w", topic, part.ID, err)
		}
	}
	return nil
}

// readRange calls fn with the last n records of pc's partition, fetching
// until the high watermark it saw first.
func readRange(ctx context.Context, pc *kafka.Conn, n int64, fn func(key, value []byte)) error {
	first, last, err := pc.ReadOffsets()
	if err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = pc.SetReadDeadline(dl)
	}
	next := max(first, last-n)
	for next < last {
		if _, err := pc.Seek(next, kafka.SeekAbsolute); err != nil {
			return err
		}
		batch := pc.ReadBatch(1, 16<<20)
		progressed := false
		for next < last {
			m, err := batch.ReadMessage()
			if err != nil {
				break
			}
			if m.Offset >= next {
				fn(m.Key, m.Value)
				next, progressed = m.Offset+1, true
			}
		}
		if err := batch.Close(); err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		if !progressed {
			return fmt.Errorf("no record at offset %d of %d", next, last)
		}
	}
	return nil
}
