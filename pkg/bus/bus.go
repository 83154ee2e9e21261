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

// RegisterFlags adds the Kafka flags to fs.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	c.Brokers = config.StringList{"127.0.0.1:9092"}
	fs.Var(&c.Brokers, "kafka-brokers", "Kafka bootstrap brokers, comma-separated host:port")
	fs.StringVar(&c.Topic, "kafka-topic", "teller.events", "Kafka topic for events")
	fs.IntVar(&c.Partitions, "kafka-partitions", 6, "partitions when Teller creates the topic (a visitor's events stay in one partition)")
	fs.IntVar(&c.ReplicationFactor, "kafka-replication-factor", 1, "replication factor when Teller creates the topic")
}

// Validate reports a missing broker or topic.
func (c *Config) Validate() error {
	if len(c.Brokers) == 0 {
		return errors.New("kafka: no brokers configured (-kafka-brokers / TELLER_KAFKA_BROKERS)")
	}
	if c.Topic == "" {
		return errors.New("kafka: no topic configured (-kafka-topic / TELLER_KAFKA_TOPIC)")
	}
	return nil
}

// EnsureTopic creates the topic if it does not exist. An existing topic is
// left as it is, whatever its partition count.
func EnsureTopic(ctx context.Context, c Config) error {
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
		err = cc.CreateTopics(kafka.TopicConfig{Topic: c.Topic, NumPartitions: max(c.Partitions, 1), ReplicationFactor: max(c.ReplicationFactor, 1)})
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
		BatchTimeout: 5 * time.Millisecond,
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
