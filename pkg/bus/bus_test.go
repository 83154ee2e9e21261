package bus_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/teller-analytics/teller/internal/testenv"
	"github.com/teller-analytics/teller/pkg/bus"
	"github.com/teller-analytics/teller/pkg/config"
)

func TestNewDeadLetter(t *testing.T) {
	at := time.Date(2026, 12, 1, 10, 0, 0, 123456789, time.FixedZone("x", 3600))
	long := `{"site":"shop","ur":"` + strings.Repeat("é", bus.MaxDeadLetterPayload) + `"}`
	tests := []struct {
		name    string
		payload []byte
		want    bus.DeadLetter
	}{
		{"json with site", []byte(`{"site":"shop","kind":"nope"}`),
			bus.DeadLetter{Site: "shop", Payload: `{"site":"shop","kind":"nope"}`, Size: 29}},
		{"not json", []byte("{not json"), bus.DeadLetter{Payload: "{not json", Size: 9}},
		{"binary", []byte{0xff, 0xfe, 0}, bus.DeadLetter{PayloadBase64: base64.StdEncoding.EncodeToString([]byte{0xff, 0xfe, 0}), Size: 3}},
		{"too long, cut on a character", []byte(long),
			bus.DeadLetter{Site: "shop", Payload: long[:bus.MaxDeadLetterPayload-1], Size: len(long), Truncated: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := bus.NewDeadLetter(at, "json", tt.payload)
			tt.want.Time, tt.want.Reason = time.Date(2026, 12, 1, 9, 0, 0, 123000000, time.UTC), "json"
			if got != tt.want {
				t.Fatalf("got %+.80v (payload %d bytes)\nwant %+.80v (payload %d bytes)", got, len(got.Payload), tt.want, len(tt.want.Payload))
			}
			m := got.Message(bus.DefaultDeadLetterTopic)
			var back bus.DeadLetter
			if err := json.Unmarshal(m.Value, &back); err != nil || back != got {
				t.Fatalf("JSON round trip: %v %+v", err, back)
			}
			if m.Topic != bus.DefaultDeadLetterTopic || string(m.Key) != tt.want.Site {
				t.Fatalf("message topic %q key %q", m.Topic, m.Key)
			}
		})
	}
}

func TestUnsent(t *testing.T) {
	if got := bus.Unsent(nil, 3); len(got) != 0 {
		t.Fatalf("no error: %v", got)
	}
	if got := bus.Unsent(errors.New("down"), 3); len(got) != 3 {
		t.Fatalf("plain error: %v", got)
	}
	werr := kafka.WriteErrors{nil, errors.New("x"), nil, kafka.RequestTimedOut}
	if got := bus.Unsent(errors.Join(errors.New("wrapped"), werr), 4); len(got) != 2 || got[0] != 1 || got[1] != 3 {
		t.Fatalf("write errors: %v", got)
	}
}

// TestEnsureTopicAndPublishBoth creates the events and dead-letter topics on
// a broker that has neither, then publishes to both through one producer.
func TestEnsureTopicAndPublishBoth(t *testing.T) {
	brokers := testenv.Kafka(t, "unrelated", 1)
	c := bus.Config{Brokers: config.StringList(brokers), Topic: "ev", DeadLetterTopic: "ev.invalid", Partitions: 3, ReplicationFactor: 1}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := bus.EnsureTopic(ctx, c); err != nil {
		t.Fatal(err)
	}
	conn, err := kafka.DialContext(ctx, "tcp", brokers[0])
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for topic, want := range map[string]int{"ev": 3, "ev.invalid": 3} {
		parts, err := conn.ReadPartitions(topic)
		if err != nil || len(parts) != want {
			t.Fatalf("topic %s: %d partitions, %v", topic, len(parts), err)
		}
	}
	p := bus.NewProducer(c, testenv.Logger(t))
	defer p.Close()
	dl := bus.NewDeadLetter(time.Now(), "json", []byte("{bad")).Message(c.DeadLetterTopic)
	if err := p.Publish(ctx, bus.Message{Key: []byte("v"), Value: []byte("event")}, dl); err != nil {
		t.Fatal(err)
	}
	for topic, want := range map[string]string{"ev": "event", "ev.invalid": string(dl.Value)} {
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, Topic: topic, Partition: partitionOf(t, conn, topic), MaxWait: 100 * time.Millisecond})
		m, err := r.ReadMessage(ctx)
		r.Close()
		if err != nil || string(m.Value) != want {
			t.Fatalf("topic %s: %q, %v", topic, m.Value, err)
		}
	}
}

// partitionOf finds the partition holding the topic's one message.
func partitionOf(t *testing.T, conn *kafka.Conn, topic string) int {
	t.Helper()
	parts, _ := conn.ReadPartitions(topic)
	for _, p := range parts {
		pc, err := kafka.DialLeader(context.Background(), "tcp", conn.RemoteAddr().String(), topic, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		last, err := pc.ReadLastOffset()
		pc.Close()
		if err == nil && last > 0 {
			return p.ID
		}
	}
	t.Fatalf("topic %s has no message", topic)
	return 0
}

// Delivered finds records already in Kafka by identical key and value, one
// per copy: a record asked about twice with one copy in Kafka is found once.
func TestDelivered(t *testing.T) {
	brokers := testenv.Kafka(t, "ev", 3)
	p := bus.NewProducer(bus.Config{Brokers: config.StringList(brokers), Topic: "ev"}, testenv.Logger(t))
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a := bus.Message{Key: []byte("v1"), Value: []byte("a")}
	b := bus.Message{Key: []byte("v2"), Value: []byte("b")}
	if err := p.Publish(ctx, a, b); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		ask  []bus.Message
		want []bool
	}{
		{"both sent", []bus.Message{a, b}, []bool{true, true}},
		{"one copy only", []bus.Message{a, a}, []bool{true, false}},
		{"same value, other key", []bus.Message{{Key: []byte("v3"), Value: []byte("a")}}, []bool{false}},
		{"never sent", []bus.Message{{Key: []byte("v1"), Value: []byte("c")}}, []bool{false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := p.Delivered(ctx, tt.ask)
			if err != nil {
				t.Fatal(err)
			}
			for i := range tt.want {
				if got[i] != tt.want[i] {
					t.Fatalf("Delivered = %v, want %v", got, tt.want)
				}
			}
		})
	}
}

// Publish calls from many goroutines at once are gathered into rounds: every
// record lands exactly once, each caller's records in the order it sent
// them, and nothing is accepted after Close.
func TestPublishConcurrentCalls(t *testing.T) {
	brokers := testenv.Kafka(t, "ev", 3)
	p := bus.NewProducer(bus.Config{Brokers: config.StringList(brokers), Topic: "ev"}, testenv.Logger(t))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const callers, each = 64, 20
	errc := make(chan error, callers)
	for g := 0; g < callers; g++ {
		go func() {
			key := []byte(fmt.Sprintf("visitor-%02d", g))
			for i := 0; i < each; i += 2 { // two records per call
				a := bus.Message{Key: key, Value: []byte(fmt.Sprintf("%s/%03d", key, i))}
				b := bus.Message{Key: key, Value: []byte(fmt.Sprintf("%s/%03d", key, i+1))}
				if err := p.Publish(ctx, a, b); err != nil {
					errc <- err
					return
				}
			}
			errc <- nil
		}()
	}
	for g := 0; g < callers; g++ {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Publish(ctx, bus.Message{Value: []byte("late")}); !errors.Is(err, bus.ErrClosed) {
		t.Fatalf("Publish after Close: %v, want ErrClosed", err)
	}
	next := map[string]int{} // key -> next expected index
	total := 0
	conn, err := kafka.DialContext(ctx, "tcp", brokers[0])
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	parts, err := conn.ReadPartitions("ev")
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range parts {
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, Topic: "ev", Partition: part.ID, MaxWait: 100 * time.Millisecond})
		pc, err := kafka.DialLeader(ctx, "tcp", brokers[0], "ev", part.ID)
		if err != nil {
			t.Fatal(err)
		}
		last, err := pc.ReadLastOffset()
		pc.Close()
		if err != nil {
			t.Fatal(err)
		}
		for n := int64(0); n < last; n++ {
			m, err := r.ReadMessage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			key, idx, _ := strings.Cut(string(m.Value), "/")
			if key != string(m.Key) || idx != fmt.Sprintf("%03d", next[key]) {
				t.Fatalf("partition %d: %q (key %q) after %d records of that key", part.ID, m.Value, m.Key, next[key])
			}
			next[key]++
			total++
		}
		r.Close()
	}
	if total != callers*each {
		t.Fatalf("%d records in Kafka, want %d", total, callers*each)
	}
}
