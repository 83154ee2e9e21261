package loadgen_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/teller-analytics/teller/internal/loadgen"
	"github.com/teller-analytics/teller/internal/pipebench"
	"github.com/teller-analytics/teller/internal/testenv"
	"github.com/teller-analytics/teller/pkg/sessionizer"
	"github.com/teller-analytics/teller/pkg/site"
)

// BenchmarkPipelineWithLoadgen measures the goal "the whole pipeline on one
// 2-core box" (docs/benchmarks.md): collector, kfake broker and sessionizer (production flag
// defaults) in this process, ClickHouse beside it, driven by cmd/loadgen in
// a child process at full speed (64 workers, no rate limit, 5,000 browsers)
// for TELLER_BENCH_PIPELINE_DURATION (default 10s). A run counts only if
// the load generator's verification passes: ClickHouse holds exactly the
// accepted events and visitors.
//
// Metrics: accepted events/s, latency percentiles, the time ClickHouse took
// to hold everything after the last answer (sessionizer lag), and CPU
// seconds per 100k events of the pipeline's Go process, of ClickHouse, and
// of the load generator (which a production box would not run); the peak
// resident memory of each process (the pipeline's Go process holds the
// collector, the sessionizer and kfake); the load average before and after.
func BenchmarkPipelineWithLoadgen(b *testing.B) {
	duration := 10 * time.Second
	if v := os.Getenv("TELLER_BENCH_PIPELINE_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 || d > 5*time.Minute {
			b.Fatalf("TELLER_BENCH_PIPELINE_DURATION=%q: want a duration up to 5m", v)
		}
		duration = d
	}
	bin := filepath.Join(b.TempDir(), "loadgen")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/teller-analytics/teller/cmd/loadgen").CombinedOutput(); err != nil {
		b.Fatalf("build cmd/loadgen: %v\n%s", err, out)
	}
	var scfg sessionizer.Config
	scfg.RegisterFlags(flag.NewFlagSet("sessionizer", flag.ContinueOnError))
	p := startPipeline(b, scfg, site.Site{ID: "bench", Domains: []string{"localhost"}})

	var accepted int64
	var elapsed, lag, p50, p99 time.Duration
	var goCPU, chCPU, genCPU time.Duration
	var genRSSKB int64
	loadBefore := pipebench.LoadAverage()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		goBefore, chBefore := testenv.SelfCPU(), p.ch.CPUTime()
		cmd := exec.Command(bin, "-collector", p.collector, "-site", "bench", "-page-origin", "http://localhost",
			"-visitors", "5000", "-duration", duration.String(), "-rate", "0", "-concurrency", "64", "-seed", strconv.Itoa(i+1),
			"-clickhouse-addr", p.ch.Addr(), "-clickhouse-database", database, "-verify-timeout", "2m",
			"-progress", "0", "-log-level", "warn", "-json")
		cmd.Env = []string{"PATH=" + os.Getenv("PATH")} // no TELLER_ variables from the caller
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		goCPU += testenv.SelfCPU() - goBefore
		chCPU += p.ch.CPUTime() - chBefore
		if err != nil {
			b.Fatalf("loadgen: %v\n%s\n%s", err, out, stderr.String())
		}
		genCPU += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			genRSSKB = max(genRSSKB, ru.Maxrss) // kB on Linux
		}
		var rep loadgen.Report
		if err := json.Unmarshal(out, &rep); err != nil {
			b.Fatalf("loadgen report: %v\n%s", err, out)
		}
		if rep.Verification == nil || !rep.Verification.Match {
			b.Fatalf("verification did not match:\n%s", out)
		}
		accepted += rep.Accepted
		elapsed += rep.Elapsed
		lag += rep.Verification.Waited
		p50, p99 = max(p50, rep.Latency.P50), max(p99, rep.Latency.P99)
	}
	b.StopTimer()
	per100k := func(d time.Duration) float64 { return d.Seconds() / float64(accepted) * 1e5 }
	b.ReportMetric(float64(accepted)/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(p50)/float64(time.Millisecond), "p50_ms")
	b.ReportMetric(float64(p99)/float64(time.Millisecond), "p99_ms")
	b.ReportMetric(lag.Seconds()/float64(b.N), "clickhouse_lag_s")
	b.ReportMetric(per100k(goCPU), "pipeline_cpu_s/100k")
	b.ReportMetric(per100k(genCPU), "loadgen_cpu_s/100k")
	if chCPU > 0 {
		b.ReportMetric(per100k(chCPU), "clickhouse_cpu_s/100k")
	}
	// Peak resident memory of each process, and the machine's load beside
	// the figures (it is shared).
	b.ReportMetric(float64(statusKB("self", "VmHWM"))/1024, "pipeline_peak_rss_MiB")
	if pid := clickhousePID(p.ch.Dir()); pid != "" {
		b.ReportMetric(float64(statusKB(pid, "VmHWM"))/1024, "clickhouse_peak_rss_MiB")
	}
	b.ReportMetric(float64(genRSSKB)/1024, "loadgen_peak_rss_MiB")
	b.ReportMetric(loadBefore, "load_avg_before")
	b.ReportMetric(pipebench.LoadAverage(), "load_avg_after")
}
