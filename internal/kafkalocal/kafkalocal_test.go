package kafkalocal_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/teller-analytics/teller/internal/kafkalocal"
)

// The broker serves the Kafka protocol (as kafka-go, the product's client,
// speaks it) where it was asked to, with every topic's partitions, and
// stops listening when its context ends.
func TestStartServesTheTopicsUntilTheContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, closeBroker, err := kafkalocal.Start(ctx, "127.0.0.1:0", 3, "a", "b")
	if err != nil {
		t.Fatal(err)
	}
	defer closeBroker()
	if host, port, _ := net.SplitHostPort(addr); host != "127.0.0.1" || port == "0" {
		t.Fatalf("listening on %q, want 127.0.0.1 and a chosen port", addr)
	}
	conn, err := kafka.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	parts, err := conn.ReadPartitions("a", "b")
	conn.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) != 6 {
		t.Fatalf("%d partitions in topics a and b, want 3 each: %+v", len(parts), parts)
	}
	cancel()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("still listening 10 s after the context ended")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestStartRefusesNoTopicOrPartition(t *testing.T) {
	if _, _, err := kafkalocal.Start(context.Background(), "127.0.0.1:0", 0, "a"); err == nil {
		t.Error("no error for 0 partitions")
	}
	if _, _, err := kafkalocal.Start(context.Background(), "127.0.0.1:0", 1); err == nil {
		t.Error("no error without a topic")
	}
}
