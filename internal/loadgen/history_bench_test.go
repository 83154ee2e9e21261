package loadgen_test

import (
	"context"
	"flag"
	"os"
	"testing"
	"time"

	"github.com/teller-analytics/teller/internal/loadgen"
	"github.com/teller-analytics/teller/internal/pipebench"
	"github.com/teller-analytics/teller/internal/testenv"
	"github.com/teller-analytics/teller/pkg/sessionizer"
)

// BenchmarkHistoryImport measures the import path: TELLER_BENCH_IMPORT_EVENTS
// (default 100,000) events of 30 days of history sent by the load
// generator's history mode through POST /api/import (batches of 5,000) to
// the collector, the import topic and a sessionizer group of its own
// (production flag defaults), until ClickHouse holds exactly the planned
// sessions. A run counts only if every planned session matches.
//
// Metrics: accepted events/s while sending, batch latency p50/p99, the time
// from the last accepted batch until every event and session was queryable,
// CPU seconds per 100k events of the pipeline process and of ClickHouse,
// and the load average before and after.
func BenchmarkHistoryImport(b *testing.B) {
	events := int64(100_000)
	if v := os.Getenv("TELLER_BENCH_IMPORT_EVENTS"); v != "" {
		n, err := loadgen.ParseCount(v)
		if err != nil || n <= 0 {
			b.Fatalf("TELLER_BENCH_IMPORT_EVENTS=%q: %v", v, err)
		}
		events = n
	}
	var scfg sessionizer.Config
	scfg.RegisterFlags(flag.NewFlagSet("sessionizer", flag.ContinueOnError))
	p := startImportPipeline(b, scfg)
	loadBefore := pipebench.LoadAverage()
	var accepted int64
	var sending, fresh, p50, p99 time.Duration
	var goCPU, chCPU time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		goBefore, chBefore := testenv.SelfCPU(), p.ch.CPUTime()
		rep, err := loadgen.RunHistory(context.Background(), loadgen.HistoryConfig{Collector: p.collector, Site: "shop",
			PageOrigin: "http://localhost", Token: p.token, Span: 30 * 24 * time.Hour, Events: events, BotShare: 0.03,
			Seed: uint64(i + 1), Verify: loadgen.VerifyConfig{Addr: p.ch.Addr(), Database: historyDB, Timeout: 5 * time.Minute}},
			testenv.Logger(b))
		goCPU += testenv.SelfCPU() - goBefore
		chCPU += p.ch.CPUTime() - chBefore
		if err != nil {
			b.Fatal(err)
		}
		if err := rep.Failure(); err != nil {
			b.Fatal(err)
		}
		accepted += rep.Accepted
		sending += rep.Elapsed
		fresh += rep.Check.Freshness
		p50, p99 = max(p50, rep.Latency.P50), max(p99, rep.Latency.P99)
	}
	b.StopTimer()
	per100k := func(d time.Duration) float64 { return d.Seconds() / float64(accepted) * 1e5 }
	b.ReportMetric(float64(accepted)/sending.Seconds(), "events/s")
	b.ReportMetric(float64(p50)/float64(time.Millisecond), "batch_p50_ms")
	b.ReportMetric(float64(p99)/float64(time.Millisecond), "batch_p99_ms")
	b.ReportMetric(fresh.Seconds()/float64(b.N), "queryable_after_s")
	b.ReportMetric(per100k(goCPU), "pipeline_and_loadgen_cpu_s/100k")
	if chCPU > 0 {
		b.ReportMetric(per100k(chCPU), "clickhouse_cpu_s/100k")
	}
	b.ReportMetric(float64(statusKB("self", "VmHWM"))/1024, "pipeline_peak_rss_MiB")
	if pid := clickhousePID(p.ch.Dir()); pid != "" {
		b.ReportMetric(float64(statusKB(pid, "VmHWM"))/1024, "clickhouse_peak_rss_MiB")
	}
	b.ReportMetric(loadBefore, "load_avg_before")
	b.ReportMetric(pipebench.LoadAverage(), "load_avg_after")
}
