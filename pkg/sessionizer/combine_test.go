package sessionizer

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/teller-analytics/teller/internal/testenv"
	"github.com/teller-analytics/teller/pkg/bus"
	"github.com/teller-analytics/teller/pkg/config"
	"github.com/teller-analytics/teller/pkg/store"
)

// insertCounter is ClickHouse itself, counting the events inserts.
type insertCounter struct {
	*store.DB
	mu      sync.Mutex
	inserts int
}

func (s *insertCounter) WriteEvents(ctx context.Context, rows []store.EventRow) error {
	s.mu.Lock()
	s.inserts++
	s.mu.Unlock()
	return s.DB.WriteEvents(ctx, rows)
}

// The batches the member's partitions cut at one flush tick, a little
// apart as their loops wake, are written as one insert per table: the
// first waits for the others instead of writing alone (which made a write
// cycle per partition per flush at live rates), and a partition that ends
// meanwhile is not waited for.
func TestCombinerJoinsTheBatchesOfOneTick(t *testing.T) {
	srv := testenv.ClickHouse(t)
	db := testenv.OpenStore(t, srv, "combine")
	counted := &insertCounter{DB: db}
	s, err := New(Options{Config: testConfig("g", time.Second, time.Minute, time.Second),
		Kafka: bus.Config{Brokers: config.StringList{"127.0.0.1:9"}, Topic: topic}, Store: counted, Sites: siteRegistry(t, db),
		Logger: testenv.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	// Long enough that only every running partition being queued ends
	// the gathering in this test.
	s.combine.window = 30 * time.Second
	// A failing insert is retried until ctx ends: bounded, so a failure
	// shows as an error rather than a hang.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, tc := range []struct {
		name            string
		partitions, cut int // running, and cutting a batch (the others end instead)
	}{
		{"every partition cuts", 4, 4},
		{"one partition ends instead", 4, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			counted.mu.Lock()
			counted.inserts = 0
			counted.mu.Unlock()
			for range tc.partitions {
				s.combine.joined()
			}
			var consumers []*partitionConsumer
			for i := range tc.cut {
				c := &partitionConsumer{s: s, partition: i, written: make(chan writeResult, 1)}
				consumers = append(consumers, c)
				b := &batch{rows: []store.EventRow{{EventID: uuid.New(), SiteID: "s", Kind: "pageview", Name: "pageview", SessionStartReason: "first_visit", TimeMs: time.Now().UnixMilli(),
					KafkaPartition: int32(i), KafkaOffset: 1}}}
				go s.combine.submit(ctx, c, b)
				time.Sleep(5 * time.Millisecond)
			}
			for range tc.partitions - tc.cut {
				s.combine.left()
			}
			for _, c := range consumers {
				if res := <-c.written; res.err != nil {
					t.Fatal(res.err)
				}
			}
			for range tc.cut {
				s.combine.left()
			}
			counted.mu.Lock()
			defer counted.mu.Unlock()
			if counted.inserts != 1 {
				t.Errorf("%d partitions' batches of one tick took %d events inserts, want 1", tc.cut, counted.inserts)
			}
		})
	}
}

func TestUntilNextTick(t *testing.T) {
	base := time.Unix(1_764_000_000, 0) // on a whole second
	for _, tc := range []struct {
		now   time.Time
		every time.Duration
		want  time.Duration
	}{
		{base, time.Second, time.Second},
		{base.Add(1), time.Second, time.Second - 1},
		{base.Add(300 * time.Millisecond), time.Second, 700 * time.Millisecond},
		{base.Add(999 * time.Millisecond), time.Second, time.Millisecond},
		{base.Add(100 * time.Millisecond), 250 * time.Millisecond, 150 * time.Millisecond},
		{base.Add(1500 * time.Millisecond), 2 * time.Second, 500 * time.Millisecond},
	} {
		if got := untilNextTick(tc.now, tc.every); got != tc.want {
			t.Errorf("untilNextTick(%s, %s) = %s, want %s", tc.now.Format(time.StampMilli), tc.every, got, tc.want)
		}
	}
}
