package pipebench_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/teller-analytics/teller/internal/pipebench"
	"github.com/teller-analytics/teller/internal/testenv"
)

// A short run of the real thing: every part its own process, and the
// figures come from them: every accepted event in ClickHouse once, every
// visit one session, a freshness observation per event row, CPU and memory
// for each of the five processes.
func TestShortRunVerifiesAndMeasuresEveryProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("builds four binaries and runs the pipeline")
	}
	dir := t.TempDir()
	ctx := context.Background()
	if err := os.MkdirAll(filepath.Join(dir, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := pipebench.Build(ctx, filepath.Join(dir, "bin")); err != nil {
		t.Fatal(err)
	}
	res, err := pipebench.Run(ctx, pipebench.Config{Duration: 4 * time.Second, Visitors: 60, Concurrency: 8,
		SessionGap: 2 * time.Second, Partitions: 2, Seed: 5, WorkDir: dir, Log: testenv.Logger(t)})
	if res != nil {
		var out strings.Builder
		res.Print(&out)
		t.Log("\n" + out.String())
	}
	if err != nil {
		t.Fatal(err)
	}
	if !res.Matched() || res.Report.Accepted == 0 {
		t.Fatalf("run did not match or accepted nothing: %+v", res.Report)
	}
	if res.FreshnessEvents != float64(res.Report.Accepted) {
		t.Errorf("freshness observed for %v rows, want one per accepted event (%d)", res.FreshnessEvents, res.Report.Accepted)
	}
	if !(res.FreshnessP50 > 0 && res.FreshnessP50 <= res.FreshnessP99) {
		t.Errorf("freshness p50 %v, p99 %v: want 0 < p50 <= p99", res.FreshnessP50, res.FreshnessP99)
	}
	// Every accepted event is a row of events, and its session a row of
	// session_versions: two tables, so at least two inserts and more rows
	// than events.
	if c := res.ClickHouse; c.Inserts < 2 || c.InsertedRows <= int64(res.Report.Accepted) {
		t.Errorf("ClickHouse's work %+v: want at least 2 inserts and more than %d rows", c, res.Report.Accepted)
	}
	names := map[string]bool{}
	for _, p := range res.Processes {
		names[p.Name] = true
		if p.CPU <= 0 || p.PeakRSSKB <= 0 {
			t.Errorf("%s: CPU %s, peak RSS %d kB: want both measured", p.Name, p.CPU, p.PeakRSSKB)
		}
	}
	for _, want := range []string{"collector", "sessionizer", "kafka (kfake)", "clickhouse", "loadgen"} {
		if !names[want] {
			t.Errorf("no figures for %s (have %v)", want, names)
		}
	}
	if line := res.BenchLine(); !strings.HasPrefix(line, "BenchmarkPipelineProcesses 1\t") || !strings.Contains(line, " freshness_p99_s") {
		t.Errorf("bench line %q: want the go test -bench format with freshness_p99_s", line)
	}
}

func TestConfigValidateNamesTheFlags(t *testing.T) {
	err := pipebench.Config{Duration: -time.Second, Visitors: 0, Concurrency: 1, SessionGap: time.Millisecond, Partitions: 1, WorkDir: "x"}.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"-duration", "-visitors", "-session-gap"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}

func TestDisorderKeepsTheDefaultsProportion(t *testing.T) {
	// 2 min of disorder to a 30 min gap: a fifteenth.
	if got := pipebench.Disorder(2 * time.Second); got != 2*time.Second/15 {
		t.Errorf("Disorder(2s) = %s, want %s", got, 2*time.Second/15)
	}
}
