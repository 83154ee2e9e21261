package collector_test

import (
	"context"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/teller-analytics/teller/internal/testenv"
	"github.com/teller-analytics/teller/pkg/bus"
	"github.com/teller-analytics/teller/pkg/collector"
	"github.com/teller-analytics/teller/pkg/config"
	"github.com/teller-analytics/teller/pkg/event"
	"github.com/teller-analytics/teller/pkg/spool"
)

// BenchmarkPublishDesigns compares the two ways to make an event durable
// before answering 202, with 64 requests in flight per core against kfake
// (6 partitions): waiting for Kafka's acknowledgement in every request, and
// appending to the spool (under each fsync policy) while one drainer sends to
// Kafka. The spool runs are timed until the spool is drained, so req/s is
// end-to-end into Kafka for both; p50/p99 are what a request waits. The
// _at_5k variants offer 5,000 requests/s (about the collector's HTTP rate on
// this machine) instead of as many as possible, for the latency at a load
// the collector actually sees.
func BenchmarkPublishDesigns(b *testing.B) {
	brokers := testenv.Kafka(b, durableTopic, durablePartition)
	cfg := bus.Config{Brokers: config.StringList(brokers), Topic: durableTopic}
	value := benchEventValue(b)
	run := func(b *testing.B, pub collector.Publisher, perSecond int, drained func()) {
		// Paced runs give request n the slot begin + n/perSecond; many
		// goroutines sleep at once, so sleep granularity does not cap the rate.
		var slot atomic.Int64
		begin := time.Now()
		var mu sync.Mutex
		var waits []time.Duration
		b.SetParallelism(64)
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			key := uuid.New()
			var mine []time.Duration
			for pb.Next() {
				if perSecond > 0 {
					time.Sleep(time.Until(begin.Add(time.Duration(slot.Add(1)) * time.Second / time.Duration(perSecond))))
				}
				start := time.Now()
				if err := pub.Publish(context.Background(), bus.Message{Key: key[:], Value: value}); err != nil {
					b.Error(err)
					return
				}
				mine = append(mine, time.Since(start))
			}
			mu.Lock()
			waits = append(waits, mine...)
			mu.Unlock()
		})
		if drained != nil {
			drained()
		}
		b.StopTimer()
		sort.Slice(waits, func(i, j int) bool { return waits[i] < waits[j] })
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
		if len(waits) > 0 {
			b.ReportMetric(float64(waits[len(waits)/2].Microseconds()), "p50_us")
			b.ReportMetric(float64(waits[len(waits)*99/100].Microseconds()), "p99_us")
		}
	}
	for _, rate := range []int{0, 5000} {
		suffix := ""
		if rate > 0 {
			suffix = "_at_5k"
		}
		b.Run("kafka_ack_per_request"+suffix, func(b *testing.B) {
			p := bus.NewProducer(cfg, testenv.Logger(b))
			defer p.Close()
			run(b, p, rate, nil)
		})
		for _, policy := range []spool.Fsync{spool.FsyncAlways, spool.FsyncEvery(100 * time.Millisecond), spool.FsyncNever} {
			b.Run("spool_first_fsync_"+policy.String()+suffix, func(b *testing.B) {
				sp, err := spool.Open(spool.Options{Dir: b.TempDir(), MaxBytes: 4 << 30, Fsync: policy, Logger: testenv.Logger(b)})
				if err != nil {
					b.Fatal(err)
				}
				defer sp.Close()
				p := bus.NewProducer(cfg, testenv.Logger(b))
				defer p.Close()
				pub := collector.NewSpoolPublisher(sp, p, collector.SpoolOptions{Logger: testenv.Logger(b)})
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan struct{})
				go func() { pub.Run(ctx); close(done) }()
				defer func() { cancel(); <-done }()
				run(b, pub, rate, func() {
					for sp.Pending() > 0 {
						time.Sleep(time.Millisecond)
					}
				})
			})
		}
	}
}

// benchEventValue is a snippet page view as the collector encodes it.
func benchEventValue(b *testing.B) []byte {
	ev := event.Event{V: event.Version, ID: uuid.New(), Site: "shop", Visitor: uuid.New(), ReceivedMs: time.Now().UnixMilli(),
		Kind: event.KindPageview, Name: "pageview", URL: "https://shop.example/products/blue-shoes?utm_source=news",
		Referrer: "https://www.google.com/", Title: "Blue shoes - Shop", ScreenWidth: 1920, ScreenHeight: 1080,
		UserAgent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Safari/537.36"}
	v, err := event.Marshal(&ev)
	if err != nil {
		b.Fatal(err)
	}
	return v
}
