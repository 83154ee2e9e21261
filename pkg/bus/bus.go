// Package bus owns Teller's use of Kafka through github.com/segmentio/kafka-go:
// the connection settings, the producer the collector publishes events with
// (keyed by visitor, hashing balancer, batched, acknowledged by all in-sync
// replicas), and topic creation. The sessionizer's consumer lives in
// pkg/sessionizer; nothing here knows the event format.
package bus

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"strconv"
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
)

// Config is how to reach the events topic.
type Config struct {
	// Brokers are bootstrap addresses, host:port.
	Brokers config.StringList
	// Topic carries the events.
	Topic string
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

// EnsureTopic creates the topic if it does not exist. An existing topic is
// left as it is, whatever its partition count.
func EnsureTopic(ctx context.Context, c Config) error {
	if err := c.ValidateCreate(); err != nil {
		return fmt.Errorf("kafka: create topic: %w", err)
	}
	var lastErr error
	for _, b := range c.Brokers {
		conn, err := (&kafka.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, "tcp", b)
		if err != nil {
			lastErr = err
			continue
		}
		defer conn.Close()
		parts, err := conn.ReadPartitions(c.Topic)
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
		err = cc.CreateTopics(kafka.TopicConfig{Topic: c.Topic, NumPartitions: c.Partitions, ReplicationFactor: c.ReplicationFactor})
		if err != nil && !errors.Is(err, kafka.TopicAlreadyExists) {
			return fmt.Errorf("kafka: create topic %s: %w", c.Topic, err)
		}
		return nil
	}
	return fmt.Errorf("kafka: no broker of %v answered: %w", c.Brokers, lastErr)
}

// Message is one record to publish.
type Message struct {
	Key   []byte
	Value []byte
}

// Producer publishes records to the events topic. WriteMessages calls from
// many requests are batched together; each returns once its batch is
// acknowledged by all in-sync replicas, so an accepted event is durable.
type Producer struct {
	w   *kafka.Writer
	log *slog.Logger
}

// NewProducer makes a producer; it connects lazily.
func NewProducer(c Config, log *slog.Logger) *Producer {
	return &Producer{log: log, w: &kafka.Writer{
		Addr:         kafka.TCP(c.Brokers...),
		Topic:        c.Topic,
		Balancer:     &kafka.Hash{}, // kafka-go's default ignores keys
		RequiredAcks: kafka.RequireAll,
		BatchSize:    1000,
		BatchBytes:   4 << 20,
		// Requests wait at most this long for companions in their batch.
		// With the key hash spreading requests over the partitions, a
		// partition's batch rarely fills, so every request waits this long:
		// at 5 ms the collector's 64 connections were latency-bound at
		// ~7,800 requests/s with the CPU 60% idle (scripts/bench-collector.sh).
		BatchTimeout: time.Millisecond,
		WriteTimeout: 10 * time.Second,
		MaxAttempts:  5,
		Compression:  kafka.Snappy,
	}}
}

// Publish writes msgs and returns when they are acknowledged.
func (p *Producer) Publish(ctx context.Context, msgs ...Message) error {
	km := make([]kafka.Message, len(msgs))
	for i, m := range msgs {
		km[i] = kafka.Message{Key: m.Key, Value: m.Value}
	}
	if err := p.w.WriteMessages(ctx, km...); err != nil {
		return fmt.Errorf("kafka: publish %d message(s) to %s: %w", len(msgs), p.w.Topic, err)
	}
	return nil
}

// Close flushes and closes the producer.
func (p *Producer) Close() error { return p.w.Close() }
