package sessionizer

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/teller-analytics/teller/internal/testenv"
	"github.com/teller-analytics/teller/pkg/bus"
	"github.com/teller-analytics/teller/pkg/config"
	"github.com/teller-analytics/teller/pkg/store"
)

// inflightKillStore dies in the middle of a write: the kill-th insert of
// event rows reaches ClickHouse but does not return (the write is in
// flight, its checkpoint not saved) while the partition reads on into its
// other buffer; then every call fails, as after a kill -9. Before that, it
// checks every checkpoint against the rows written: all offsets before a
// checkpoint's must be in ClickHouse when it is saved.
type inflightKillStore struct {
	*store.DB
	kill int
	t    *testing.T

	mu       sync.Mutex
	inserts  int
	offsets  map[int32]map[int64]bool // written, by partition
	saved    int                      // checkpoints saved before the kill
	blocked  chan struct{}            // closed when the kill-th insert is in flight
	deadOnce sync.Once
	dead     chan struct{}
}

func (s *inflightKillStore) gone(ctx context.Context) error {
	select {
	case <-s.dead:
		<-ctx.Done()
		return fmt.Errorf("simulated kill -9 (%w)", ctx.Err())
	default:
		return nil
	}
}

func (s *inflightKillStore) record(partition int32, offset int64) {
	if s.offsets[partition] == nil {
		s.offsets[partition] = map[int64]bool{}
	}
	s.offsets[partition][offset] = true
}

func (s *inflightKillStore) WriteEvents(ctx context.Context, rows []store.EventRow) error {
	if err := s.gone(ctx); err != nil {
		return err
	}
	if err := s.DB.WriteEvents(ctx, rows); err != nil {
		return err
	}
	s.mu.Lock()
	for i := range rows {
		s.record(rows[i].KafkaPartition, rows[i].KafkaOffset)
	}
	s.inserts++
	killed := s.inserts == s.kill
	s.mu.Unlock()
	if killed {
		close(s.blocked)
		<-s.dead
		return s.gone(ctx)
	}
	return nil
}

func (s *inflightKillStore) WriteRejected(ctx context.Context, rows []store.Rejected) error {
	if err := s.gone(ctx); err != nil {
		return err
	}
	if err := s.DB.WriteRejected(ctx, rows); err != nil {
		return err
	}
	s.mu.Lock()
	for i := range rows {
		s.record(rows[i].Partition, rows[i].Offset)
	}
	s.mu.Unlock()
	return nil
}

func (s *inflightKillStore) WriteSessionVersions(ctx context.Context, rows []store.SessionVersion) error {
	if err := s.gone(ctx); err != nil {
		return err
	}
	return s.DB.WriteSessionVersions(ctx, rows)
}

func (s *inflightKillStore) SaveCheckpoint(ctx context.Context, cp store.Checkpoint) error {
	if err := s.gone(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	// publishHistory has no duplicates: every offset is an events or a
	// rejected_events row, from offset 0 on.
	for off := int64(0); off < cp.NextOffset; off++ {
		if !s.offsets[cp.Partition][off] {
			s.t.Errorf("checkpoint of partition %d at offset %d saved before offset %d was written", cp.Partition, cp.NextOffset, off)
			break
		}
	}
	s.mu.Unlock()
	if err := s.DB.SaveCheckpoint(ctx, cp); err != nil {
		return err
	}
	s.mu.Lock()
	s.saved++
	s.mu.Unlock()
	return nil
}

// Killed with a write in flight (its rows in ClickHouse, its checkpoint not
// saved, the next batch being read), a restart from the checkpoints saved
// before leaves every figure equal to an uninterrupted run: each checkpoint
// followed all its rows and held the state at its own offset.
func TestKillWithWriteInFlightEqualsCleanRun(t *testing.T) {
	srv := testenv.ClickHouse(t)
	brokers := testenv.Kafka(t, topic, 3)
	total := publishHistory(t, brokers)
	good := total - 1
	covered := func(db string) func() bool {
		return func() bool {
			return testenv.ClientQuery(t, srv, db, "SELECT sum(o) FROM (SELECT argMax(next_offset, written_ms) AS o FROM sessionizer_checkpoints GROUP BY partition)") == fmt.Sprint(total)
		}
	}
	clean := testenv.OpenStore(t, srv, "clean")
	runUntil(t, clean, siteRegistry(t, clean), brokers, "clean", covered("clean"))
	want := figures(t, srv, "clean")

	crashed := testenv.OpenStore(t, srv, "crashed")
	sites := siteRegistry(t, crashed)
	// Small batches and a checkpoint at every cut: many writes per
	// partition, each with its checkpoint, so the kill falls between one.
	const kill = 6
	victim := &inflightKillStore{DB: crashed, kill: kill, t: t, offsets: map[int32]map[int64]bool{},
		blocked: make(chan struct{}), dead: make(chan struct{})}
	cfg := testConfig("crashed", 20*time.Millisecond, time.Millisecond, time.Second)
	cfg.MaxBatch = 25
	s, err := New(Options{Config: cfg, Kafka: bus.Config{Brokers: config.StringList(brokers), Topic: topic},
		Store: victim, Sites: sites, Logger: testenv.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = s.Run(ctx) }()
	select {
	case <-victim.blocked:
	case <-time.After(60 * time.Second):
		t.Fatal("the sessionizer never made the insert the kill waits for")
	}
	// The partition reads on into its other buffer meanwhile.
	time.Sleep(300 * time.Millisecond)
	victim.deadOnce.Do(func() { close(victim.dead) })
	cancel()
	wg.Wait()
	victim.mu.Lock()
	saved := victim.saved
	victim.mu.Unlock()
	if saved == 0 {
		t.Fatal("no checkpoint saved before the kill: the restart would replay from the start and prove nothing about checkpoints")
	}

	restarted := &countingStore{DB: crashed}
	runUntil(t, restarted, sites, brokers, "crashed", covered("crashed"))
	if got := figures(t, srv, "crashed"); got != want {
		t.Fatalf("figures after a kill with a write in flight and a restart differ from a clean run:\n%s\nwant:\n%s", got, want)
	}
	checkViewAgainstEvents(t, srv, "crashed")
	if restarted.rows >= good {
		t.Fatalf("the restart wrote all %d rows again: it resumed from no checkpoint", restarted.rows)
	}
	if got := testenv.ClientQuery(t, srv, "crashed", "SELECT uniqExact(event_id) FROM events"); got != fmt.Sprint(good) {
		t.Fatalf("%s events after the restart, want %d", got, good)
	}
}
