package resessionize

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/teller-analytics/teller/internal/testenv"
	"github.com/teller-analytics/teller/pkg/session"
	"github.com/teller-analytics/teller/pkg/sessionizer"
	"github.com/teller-analytics/teller/pkg/store"
)

// BenchmarkResessionize replays a stored history of
// TELLER_BENCH_RESESSIONIZE_EVENTS events (1,000,000 by default: 50,000
// visitors on 2 sites over two days of event time, 6 Kafka partitions,
// rows as the sessionizer writes them under the default rules) under rules
// B into a staging database and switches, timing Run alone. Metrics:
// events/s; the largest Go heap in use seen during the run (sampled every
// 50 ms), which stays that of one partition's open sessions and two
// batches whatever the history's length; and the CPU seconds per 100k
// events of ClickHouse and of this process.
func BenchmarkResessionize(b *testing.B) {
	n := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("TELLER_BENCH_RESESSIONIZE_EVENTS")); err == nil && v > 0 {
		n = v
	}
	ctx := context.Background()
	srv := testenv.ClickHouse(b)
	brokers := testenv.Kafka(b, topic, 1)
	live := openSite(b, srv, "bench")
	writeHistory(b, live, n)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		o := options(b, srv, live, brokers, "g-bench", rulesB())
		o.Staging, o.Out = fmt.Sprintf("bench_r%d", i), io.Discard
		var peak uint64
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			var ms runtime.MemStats
			for {
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapInuse)
				select {
				case <-stop:
					return
				case <-time.After(50 * time.Millisecond):
				}
			}
		}()
		start, chCPU, goCPU := time.Now(), srv.CPUTime(), testenv.SelfCPU()
		res, err := Run(ctx, live, o)
		elapsed := time.Since(start)
		chCPU, goCPU = srv.CPUTime()-chCPU, testenv.SelfCPU()-goCPU
		close(stop)
		wg.Wait()
		if err != nil {
			b.Fatal(err)
		}
		if res.Events != int64(n) {
			b.Fatalf("replayed %d events, want %d", res.Events, n)
		}
		b.ReportMetric(float64(n)/elapsed.Seconds(), "events/s")
		b.ReportMetric(float64(peak)/(1<<20), "peak_heap_MiB")
		// CPU per event says more than a rate on a shared machine.
		b.ReportMetric(chCPU.Seconds()*100_000/float64(n), "clickhouse_cpu_s/100k")
		b.ReportMetric(goCPU.Seconds()*100_000/float64(n), "go_cpu_s/100k")
	}
}

// writeHistory writes n events rows to db as a sessionizer with the
// default rules would have, partition by partition in offset order.
func writeHistory(b *testing.B, db *store.DB, n int) {
	b.Helper()
	ctx := context.Background()
	const parts, visitors = 6, 50_000
	rng := rand.New(rand.NewPCG(1, 2))
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	span := int64(48 * time.Hour / time.Millisecond)
	// Event times in order, each from a random visitor: a log.
	times := make([]int64, n)
	for i := range times {
		times[i] = base + span*int64(i)/int64(n)
	}
	states := make([]*session.Partition, parts)
	offsets := make([]int64, parts)
	for p := range states {
		states[p], _ = session.NewPartition(session.DefaultRules())
	}
	var rows []store.EventRow
	var versions []store.SessionVersion
	var facts session.Facts
	flush := func() {
		for p := range states {
			for _, f := range states[p].Changed(nil) {
				versions = append(versions, sessionizer.VersionRow(&f))
			}
		}
		if err := db.WriteSessionVersions(ctx, versions); err != nil {
			b.Fatal(err)
		}
		if err := db.WriteEvents(ctx, rows); err != nil {
			b.Fatal(err)
		}
		rows, versions = rows[:0], versions[:0]
	}
	seen := make([]bool, visitors)
	for i, at := range times {
		v := rng.IntN(visitors)
		visitor := uuid.NewSHA1(uuid.NameSpaceOID, []byte(strconv.Itoa(v)))
		p := int(visitor[0]) % parts
		st := sites[v%2]
		r := store.EventRow{EventID: uuid.NewSHA1(uuid.NameSpaceURL, []byte(strconv.Itoa(i))), SiteID: st.ID, VisitorID: visitor,
			TimeMs: at, Kind: "pageview", Name: "pageview", URL: fmt.Sprintf("https://%s/p%d", st.Domains[0], i%40),
			Hostname: st.Domains[0], Pathname: fmt.Sprintf("/p%d", i%40), Channel: "direct", Browser: "Firefox",
			BrowserVersion: "133", OS: "Linux", Device: "desktop", KafkaPartition: int32(p), KafkaOffset: offsets[p]}
		if i%7 == 0 {
			r.URL += "?utm_source=news&utm_campaign=c" + strconv.Itoa(i%3)
			r.UTMSource, r.UTMCampaign = "news", "c"+strconv.Itoa(i%3)
		}
		offsets[p]++
		a := states[p].Assign(sessionizer.SessionInput(&r, !seen[v], nil, session.SiteOptions{}, &facts))
		seen[v] = true
		sessionizer.WithSession(&r, a)
		rows = append(rows, r)
		if len(rows) == 50_000 {
			flush()
		}
	}
	flush()
	// Checkpoints at the end of each partition, as a stopped sessionizer
	// leaves them.
	for p := range states {
		state, _ := states[p].MarshalBinary()
		if err := db.SaveCheckpoint(ctx, store.Checkpoint{Group: "g-bench", Topic: topic, Partition: int32(p), NextOffset: offsets[p],
			ClockMs: states[p].Clock(), OpenSessions: uint32(states[p].OpenSessions()), State: state}); err != nil {
			b.Fatal(err)
		}
	}
}
