package sessionizer_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/teller-analytics/teller/internal/testenv"
	"github.com/teller-analytics/teller/pkg/bus"
	"github.com/teller-analytics/teller/pkg/config"
	"github.com/teller-analytics/teller/pkg/event"
	"github.com/teller-analytics/teller/pkg/gctune"
	"github.com/teller-analytics/teller/pkg/sessionizer"
	"github.com/teller-analytics/teller/pkg/site"
	"github.com/teller-analytics/teller/pkg/store"
)

// BenchmarkSessionizerThroughput measures the goal (docs/benchmarks.md) "100k events/s
// into ClickHouse on 2 cores": N events (default 200,000; set
// TELLER_BENCH_SESSIONIZER_EVENTS to change) are published to a kfake broker
// first, untimed; then the real sessionizer, with its production settings
// (the flags' defaults: 1 s flushes, 50,000-row batches, checkpoints every
// minute; 6 partitions), starts from an empty
// database and the clock runs until ClickHouse has acknowledged every row.
//
// Metrics: events/s over the whole run, events/s after the consumer group
// was joined, the join time, and CPU seconds per 100k events of this
// process (sessionizer and kfake broker) and of the ClickHouse server.
// TELLER_BENCH_SESSIONIZER_FLUSH=3s overrides -flush-interval;
// TELLER_BENCH_CLICKHOUSE_COMPRESSION=none -clickhouse-compression.
// TELLER_BENCH_CPUPROFILE=file writes a CPU profile of the timed part only
// (go test's -cpuprofile would include publishing the events).
func BenchmarkSessionizerThroughput(b *testing.B) {
	n := 200_000
	if v := os.Getenv("TELLER_BENCH_SESSIONIZER_EVENTS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n <= 0 {
			b.Fatalf("TELLER_BENCH_SESSIONIZER_EVENTS=%q is not a positive number", v)
		}
	}
	const topic, partitions = "bench.events", 6
	ch := testenv.ClickHouse(b)
	brokers := testenv.Kafka(b, topic, partitions)
	kafkaCfg := bus.Config{Brokers: config.StringList(brokers), Topic: topic}
	start := time.Now()
	bytesPublished := benchPublishEvents(b, kafkaCfg, n)
	b.Logf("published %d events (%.0f B each on average) in %s", n, float64(bytesPublished)/float64(n), time.Since(start).Round(time.Millisecond))

	var total, afterJoin, join time.Duration
	var goCPU, chCPU, flushBusy, blocked time.Duration
	var flushes uint64
	var versions float64
	b.ResetTimer()
	b.StopTimer()
	for i := 0; i < b.N; i++ {
		name := fmt.Sprintf("bench_sessionizer_%d", i)
		storeCfg := testenv.StoreConfig(ch, name)
		storeCfg.Compression = os.Getenv("TELLER_BENCH_CLICKHOUSE_COMPRESSION")
		if c := storeCfg.Compression; c != "" && c != store.CompressionLZ4 && c != store.CompressionNone {
			b.Fatalf("TELLER_BENCH_CLICKHOUSE_COMPRESSION=%q: want %s or %s", c, store.CompressionLZ4, store.CompressionNone)
		}
		db, err := store.Open(context.Background(), storeCfg, testenv.Logger(b))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { db.Close() })
		if err := db.Migrate(context.Background()); err != nil {
			b.Fatal(err)
		}
		if err := db.SaveSite(context.Background(), site.Site{ID: "bench", Domains: []string{"bench.example"}}); err != nil {
			b.Fatal(err)
		}
		sites := site.NewRegistry(db, time.Minute, testenv.Logger(b))
		if err := sites.Load(context.Background()); err != nil {
			b.Fatal(err)
		}
		st := &benchCountingStore{DB: db, want: int64(n), done: make(chan struct{})}
		// The production settings: the flags' defaults.
		var cfg sessionizer.Config
		cfg.RegisterFlags(flag.NewFlagSet("sessionizer", flag.ContinueOnError))
		cfg.Group = name
		if v := os.Getenv("TELLER_BENCH_SESSIONIZER_FLUSH"); v != "" {
			// Fewer, bigger inserts: what ClickHouse's CPU per event depends on.
			var err error
			if cfg.FlushInterval, err = time.ParseDuration(v); err != nil || cfg.FlushInterval <= 0 {
				b.Fatalf("TELLER_BENCH_SESSIONIZER_FLUSH=%q is not a positive duration", v)
			}
		}
		gctune.Apply(cfg.GC, nil) // as app.RunSessionizer does
		reg := prometheus.NewRegistry()
		s, err := sessionizer.New(sessionizer.Options{Config: cfg, Kafka: kafkaCfg,
			Store: st, Sites: sites, Logger: testenv.Logger(b), Registerer: reg})
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		stopProfile := benchStartProfile(b)
		goBefore, chBefore := testenv.SelfCPU(), ch.CPUTime()
		b.StartTimer()
		t0 := time.Now()
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { defer wg.Done(); _ = s.Run(ctx) }()
		joined := time.Time{}
		for joined.IsZero() {
			select {
			case <-st.done:
				joined = time.Now() // finished before we saw it join
			case <-time.After(10 * time.Millisecond):
				if s.Ready(ctx) == nil {
					joined = time.Now()
				}
			}
		}
		select {
		case <-st.done:
		case <-time.After(10 * time.Minute):
			b.Fatalf("only %d of %d rows written after 10 minutes", st.rows.Load(), n)
		}
		done := time.Now()
		b.StopTimer()
		goCPU += testenv.SelfCPU() - goBefore
		chCPU += ch.CPUTime() - chBefore
		stopProfile()
		flushSum, flushCount := benchHistogram(b, reg, "teller_sessionizer_flush_seconds")
		flushes += flushCount
		flushBusy += time.Duration(flushSum * float64(time.Second))
		versions += benchCounter(b, reg, "teller_sessionizer_session_versions_written_total")
		blocked += time.Duration(benchCounter(b, reg, "teller_sessionizer_write_wait_seconds_total") * float64(time.Second))
		total += done.Sub(t0)
		afterJoin += done.Sub(joined)
		join += joined.Sub(t0)
		cancel()
		wg.Wait()
		if got := testenv.ClientQuery(b, ch, name, "SELECT uniqExact(event_id) FROM events"); got != strconv.Itoa(n) {
			b.Fatalf("ClickHouse holds %s events, want %d", got, n)
		}
	}
	events := float64(n) * float64(b.N)
	b.ReportMetric(events/total.Seconds(), "events/s")
	b.ReportMetric(events/afterJoin.Seconds(), "events/s_after_join")
	b.ReportMetric(join.Seconds()/float64(b.N), "join_s")
	b.ReportMetric(goCPU.Seconds()/events*1e5, "go_cpu_s/100k")
	// The share of the time the partitions had a write to ClickHouse in
	// flight (reading goes on meanwhile), the share they stopped reading
	// because the next batch was full too, and the rows per write.
	b.ReportMetric(100*flushBusy.Seconds()/(partitions*total.Seconds()), "pct_partition_time_in_writes")
	b.ReportMetric(100*blocked.Seconds()/(partitions*total.Seconds()), "pct_partition_time_blocked_on_writes")
	// session_versions rows per event: one per session changed in a batch,
	// so bigger batches write fewer.
	b.ReportMetric(versions/events, "versions/event")
	if flushes > 0 {
		b.ReportMetric(events/float64(flushes), "rows/write")
	}
	if chCPU > 0 {
		b.ReportMetric(chCPU.Seconds()/events*1e5, "clickhouse_cpu_s/100k")
	}
}

// benchCountingStore signals when the wanted number of rows is written.
type benchCountingStore struct {
	*store.DB
	want int64
	rows atomic.Int64
	once sync.Once
	done chan struct{}
}

func (s *benchCountingStore) WriteEvents(ctx context.Context, rows []store.EventRow) error {
	err := s.DB.WriteEvents(ctx, rows)
	if err == nil && s.rows.Add(int64(len(rows))) >= s.want {
		s.once.Do(func() { close(s.done) })
	}
	return err
}

// benchPublishEvents publishes n events of a realistic mix (page views,
// custom events, engagement; browsers and bots; search, social, newsletter
// and internal referrers) in time order, n/8 visitors over about an hour.
func benchPublishEvents(b *testing.B, cfg bus.Config, n int) int64 {
	b.Helper()
	evs := sessionizer.BenchEvents(n)
	msgs := make([]bus.Message, n)
	var size int64
	for i := range evs {
		value, err := event.Marshal(&evs[i])
		if err != nil {
			b.Fatal(err)
		}
		size += int64(len(value))
		msgs[i] = bus.Message{Key: evs[i].Visitor[:], Value: value}
	}
	p := bus.NewProducer(cfg, testenv.Logger(b))
	defer p.Close()
	const chunk = 5000
	var wg sync.WaitGroup
	errs := make(chan error, (n+chunk-1)/chunk)
	sem := make(chan struct{}, 4)
	for lo := 0; lo < n; lo += chunk {
		wg.Add(1)
		sem <- struct{}{}
		go func(part []bus.Message) {
			defer func() { <-sem; wg.Done() }()
			errs <- p.Publish(context.Background(), part...)
		}(msgs[lo:min(lo+chunk, n)])
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			b.Fatal(err)
		}
	}
	return size
}

// benchStartProfile starts a CPU profile of the timed part when
// TELLER_BENCH_CPUPROFILE names a file; the returned func stops it.
func benchStartProfile(b *testing.B) func() {
	path := os.Getenv("TELLER_BENCH_CPUPROFILE")
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		b.Fatalf("CPU profile (drop go test's -cpuprofile when TELLER_BENCH_CPUPROFILE is set): %v", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }
}

// benchCounter is the value of a counter in reg.
func benchCounter(b *testing.B, reg *prometheus.Registry, name string) float64 {
	families, err := reg.Gather()
	if err != nil {
		b.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == name {
			var sum float64
			for _, m := range f.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
			return sum
		}
	}
	b.Fatalf("metric %s not found", name)
	return 0
}

// benchHistogram is the sum and count of a histogram in reg.
func benchHistogram(b *testing.B, reg *prometheus.Registry, name string) (float64, uint64) {
	families, err := reg.Gather()
	if err != nil {
		b.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		var sum float64
		var count uint64
		for _, m := range f.GetMetric() {
			sum += m.GetHistogram().GetSampleSum()
			count += m.GetHistogram().GetSampleCount()
		}
		return sum, count
	}
	b.Fatalf("metric %s not found", name)
	return 0, 0
}
