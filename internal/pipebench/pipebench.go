// Package pipebench runs the whole-pipeline benchmark with every part in a
// process of its own, as a self-hoster runs Teller on one box: the broker
// (internal/kafkalocal's kfake, cmd kafkalocal), ClickHouse (internal/chlocal),
// the real cmd/collector and cmd/sessionizer binaries with production flags,
// and cmd/loadgen driving the collector over HTTP. It measures what issue 5
// asks of the pipeline: accepted events/s, the collector's latency
// percentiles, per-event freshness (from the sessionizer's
// teller_sessionizer_event_freshness_seconds, scraped before and after),
// nothing lost or doubled and every visit exactly one session (the load
// generator's verification with time compressed to -session-gap), and the
// CPU per event and resident memory of every process (from /proc).
//
// cmd/pipebench is its command line; scripts/bench.sh runs it and writes
// its figures into docs/benchmarks.md. Benchmarking tooling only: nothing
// in the product imports it.
package pipebench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/teller-analytics/teller/internal/chlocal"
	"github.com/teller-analytics/teller/internal/loadgen"
	"github.com/teller-analytics/teller/pkg/bus"
	"github.com/teller-analytics/teller/pkg/session"
	"github.com/teller-analytics/teller/pkg/site"
	"github.com/teller-analytics/teller/pkg/store"
)

// Config is one benchmark run.
type Config struct {
	// Duration is how long the load generator sends.
	Duration time.Duration
	// Visitors, Concurrency and Rate are the load generator's -visitors,
	// -concurrency and -rate (0: as fast as answers come).
	Visitors, Concurrency int
	Rate                  float64
	// SessionGap compresses time: the load generator and the sessionizer
	// both run with it, the sessionizer's -allowed-disorder scaled in the
	// same proportion as its defaults (2 min to 30 min).
	SessionGap time.Duration
	// Capacity runs the load generator without time compression (its
	// browsers send as fast as answers come): it measures the most the box
	// takes, with counts verified, but visits are not checked as sessions.
	Capacity bool
	// Partitions of the events topic.
	Partitions int
	// Seed of the simulated traffic.
	Seed uint64
	// WorkDir holds the binaries, ClickHouse's data and every process's log.
	WorkDir string
	// CollectorProfile, if set, is where a CPU profile of the collector
	// over the middle half of the run (10 s to 60 s), taken through its
	// -pprof, is written.
	CollectorProfile string
	// SessionizerProfile, if set, is where a CPU profile of the sessionizer
	// over the same middle of the run is written (its -pprof), and
	// SessionizerProfile+".heap" its heap profile when the load ends.
	SessionizerProfile string
	// LoadgenProfile, if set, is where the load generator writes the CPU
	// profile of its whole run (its -cpuprofile).
	LoadgenProfile string
	// Log receives progress lines.
	Log *slog.Logger
}

// Validate reports what is wrong with the configuration.
func (c Config) Validate() error {
	var errs []error
	if c.Duration <= 0 || c.Duration > 2*time.Hour {
		errs = append(errs, fmt.Errorf("-duration %s: want more than 0 and at most 2h", c.Duration))
	}
	if c.Visitors <= 0 || c.Visitors > 1_000_000 {
		errs = append(errs, fmt.Errorf("-visitors %d: want 1..1000000", c.Visitors))
	}
	if c.Concurrency <= 0 || c.Concurrency > 4096 {
		errs = append(errs, fmt.Errorf("-concurrency %d: want 1..4096", c.Concurrency))
	}
	if c.Rate < 0 {
		errs = append(errs, fmt.Errorf("-rate %v: want 0 (unlimited) or more", c.Rate))
	}
	if c.SessionGap < 300*time.Millisecond {
		errs = append(errs, fmt.Errorf("-session-gap %s: want at least 300ms (think times are a sixtieth of it)", c.SessionGap))
	}
	if c.Partitions <= 0 || c.Partitions > 256 {
		errs = append(errs, fmt.Errorf("-partitions %d: want 1..256", c.Partitions))
	}
	if c.WorkDir == "" {
		errs = append(errs, errors.New("-work-dir is required"))
	}
	return errors.Join(errs...)
}

// OfferedRate is about how many events per second the browsers' schedule
// asks for with time compressed (docs/benchmarks.md, Time compression): a
// browser sends about one event per 0.57 gaps (a visit averages 5.5 events
// in 5 requests, and one return pause; measured: 31,000 browsers sent
// 27,332 events/s at a 2 s gap, every visit on time), unless Rate caps its
// requests (1.09 events each).
func (c Config) OfferedRate() float64 {
	r := float64(c.Visitors) / (0.57 * c.SessionGap.Seconds())
	if c.Rate > 0 {
		r = min(r, 1.09*c.Rate)
	}
	return r
}

// Disorder is the sessionizer's -allowed-disorder for a compressed gap:
// the defaults' proportion (session.DefaultDisorder to session.DefaultGap).
func Disorder(gap time.Duration) time.Duration {
	return time.Duration(float64(gap) * float64(session.DefaultDisorder) / float64(session.DefaultGap))
}

// Process is what one process cost during the run.
type Process struct {
	Name string
	// CPU is its user plus system time while the load ran and until
	// ClickHouse held everything.
	CPU time.Duration
	// VerifyCPU is its CPU after that, while the load generator checked
	// the sessions (ClickHouse answering the checks' reads).
	VerifyCPU time.Duration
	// CPUPerEvent is CPU over the accepted events, in microseconds.
	CPUPerEvent float64
	// PeakRSSKB and EndRSSKB are its peak (VmHWM) and final (VmRSS)
	// resident memory in kB.
	PeakRSSKB, EndRSSKB int64
}

// Result is a run's figures.
type Result struct {
	Config Config `json:"-"`
	// Report is the load generator's own report (its -json).
	Report loadgen.Report
	// EventsPerSecond is accepted events over the sending time.
	EventsPerSecond float64
	// FreshnessP50 and FreshnessP99 are per-event freshness quantiles in
	// seconds, from the sessionizer's histogram; FreshnessEvents is how
	// many rows it observed during the run.
	FreshnessP50, FreshnessP99 float64
	FreshnessEvents            float64
	// QueryableAfter is the load generator's time from its last answer
	// until ClickHouse held every accepted event.
	QueryableAfter time.Duration
	Processes      []Process
	// LoadBefore and LoadAfter are the machine's 1-minute load average.
	LoadBefore, LoadAfter float64
	// Started is when the load began.
	Started time.Time
	// ClickHouse is what ClickHouse counted of its own work from the load's
	// start until the load generator returned (system.events): its CPU goes
	// by the parts the inserts make and the merges that rewrite them.
	ClickHouse ClickHouseWork
}

// ClickHouseWork is the difference of ClickHouse's system.events counters
// over a run.
type ClickHouseWork struct {
	Inserts      int64 // InsertQuery: INSERT statements, each a part per table partition
	InsertedRows int64 // InsertedRows
	MergedRows   int64 // MergedRows: rows read by background merges
}

// counters names each field by its system.events counter: the one list the
// query and the parse both read.
func (w *ClickHouseWork) counters() map[string]*int64 {
	return map[string]*int64{"InsertQuery": &w.Inserts, "InsertedRows": &w.InsertedRows, "MergedRows": &w.MergedRows}
}

// readClickHouseWork reads ClickHouse's counters of ClickHouseWork.
func readClickHouseWork(ctx context.Context, ch *chlocal.Server) (ClickHouseWork, error) {
	names := slices.Sorted(maps.Keys((&ClickHouseWork{}).counters()))
	out, err := ch.Query(ctx, "SELECT event, value FROM system.events WHERE event IN ('"+
		strings.Join(names, "','")+"') FORMAT TabSeparated")
	if err != nil {
		return ClickHouseWork{}, fmt.Errorf("read ClickHouse's system.events: %w", err)
	}
	return parseClickHouseWork(out)
}

// parseClickHouseWork reads the TabSeparated answer of readClickHouseWork's
// query; a counter ClickHouse has not counted yet is absent, so zero.
func parseClickHouseWork(out string) (ClickHouseWork, error) {
	var w ClickHouseWork
	fields := w.counters()
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		name, value, ok := strings.Cut(line, "\t")
		if !ok {
			return ClickHouseWork{}, fmt.Errorf("system.events: unexpected line %q", line)
		}
		n, err := strconv.ParseInt(value, 10, 64)
		if err != nil {
			return ClickHouseWork{}, fmt.Errorf("system.events %s: %w", name, err)
		}
		if f, ok := fields[name]; ok {
			*f = n
		}
	}
	return w, nil
}

func (w ClickHouseWork) minus(o ClickHouseWork) ClickHouseWork {
	return ClickHouseWork{Inserts: w.Inserts - o.Inserts, InsertedRows: w.InsertedRows - o.InsertedRows,
		MergedRows: w.MergedRows - o.MergedRows}
}

// Matched is true when nothing was lost or doubled and every visit was
// exactly one session.
func (r *Result) Matched() bool {
	v, s := r.Report.Verification, r.Report.Sessions
	return v != nil && v.Match && (r.Config.Capacity || (s != nil && s.Match)) && r.Report.Failed() == 0
}

const (
	database = "teller_pipebench"
	siteID   = "bench"
	// freshnessMetric is the sessionizer's histogram (pkg/sessionizer/metrics.go).
	freshnessMetric = "teller_sessionizer_event_freshness_seconds"
)

// binaries are the commands the benchmark runs, by package.
var binaries = map[string]string{
	"collector":   "github.com/teller-analytics/teller/cmd/collector",
	"sessionizer": "github.com/teller-analytics/teller/cmd/sessionizer",
	"loadgen":     "github.com/teller-analytics/teller/cmd/loadgen",
	"kafkalocal":  "github.com/teller-analytics/teller/internal/kafkalocal/cmd/kafkalocal",
}

// Build compiles the binaries into dir with the go command.
func Build(ctx context.Context, dir string) error {
	args := []string{"build", "-o", dir + string(filepath.Separator)}
	for _, pkg := range binaries {
		args = append(args, pkg)
	}
	out, err := exec.CommandContext(ctx, "go", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("build the benchmark's binaries: %w\n%s", err, out)
	}
	return nil
}

// child is a started process with its log file.
type child struct {
	name string
	cmd  *exec.Cmd
	log  *os.File
	// done is closed once the process has exited, with its Wait error in
	// exitErr: closed, not sent, so every waiter sees it (a child that died
	// before it was ready is waited for again by its deferred stop).
	done    chan struct{}
	exitErr error
}

// start runs a binary of dir with args, its output in dir/<name>.log and
// only PATH in its environment (no TELLER_ variable of the caller steers it).
func start(dir, name string, stdout io.Writer, args ...string) (*child, error) {
	logf, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		return nil, fmt.Errorf("log of %s: %w", name, err)
	}
	cmd := exec.Command(filepath.Join(dir, "bin", name), args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	cmd.Stdout, cmd.Stderr = logf, logf
	if stdout != nil {
		cmd.Stdout = stdout
	}
	// Pdeathsig: a benchmark killed mid-run leaves no service behind.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	c := &child{name: name, cmd: cmd, log: logf, done: make(chan struct{})}
	go func() {
		err := cmd.Wait()
		logf.Close()
		if cl, ok := stdout.(io.Closer); ok {
			cl.Close() // a pipe's reader sees the end
		}
		c.exitErr = err
		close(c.done)
	}()
	return c, nil
}

// stop ends the process with SIGTERM (a graceful stop), SIGKILL after 30 s.
func (c *child) stop() {
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(30 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}

// freePort is a loopback port free at the time of asking.
func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// Run runs the benchmark once: servers up, load, verification, figures.
// The binaries must be in cfg.WorkDir/bin (Build).
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := cfg.Log
	if log == nil {
		log = slog.Default()
	}
	dir := cfg.WorkDir
	ch, err := chlocal.Start(ctx, chlocal.Options{Dir: filepath.Join(dir, "clickhouse"), Logger: log})
	if err != nil {
		return nil, err
	}
	defer ch.Stop()
	storeCfg := store.Config{Addr: ch.Addr(), Database: database, User: "default", DialTimeout: 5 * time.Second}
	if err := prepareDatabase(ctx, storeCfg, log); err != nil {
		return nil, err
	}

	var brokerOut strings.Builder
	pr, pw := io.Pipe()
	broker, err := start(dir, "kafkalocal", pw, "-listen", "127.0.0.1:0", "-partitions", strconv.Itoa(cfg.Partitions),
		"-topics", bus.DefaultTopic+","+bus.DefaultDeadLetterTopic)
	if err != nil {
		return nil, err
	}
	defer broker.stop()
	brokerAddr, err := readListening(pr, &brokerOut)
	if err != nil {
		return nil, fmt.Errorf("kafkalocal: %w", err)
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()

	collectorAddr, collectorAdmin, sessionizerAddr, err := ports3()
	if err != nil {
		return nil, err
	}
	common := []string{"-clickhouse-addr", ch.Addr(), "-clickhouse-database", database, "-kafka-brokers", brokerAddr, "-log-level", "warn"}
	// Production flags, except the per-address rate limits: every simulated
	// browser comes from 127.0.0.1, which the defaults would throttle as one
	// office behind a NAT, and the spool, which is the default's but in the
	// run's own directory (another collector may hold /var/lib/teller/spool).
	colArgs := []string{"-listen", collectorAddr, "-admin-listen", collectorAdmin,
		"-spool-dir", filepath.Join(dir, "spool"),
		"-cookie-secret", "pipebench-cookie-secret-0123456789", "-rate-client", "0", "-rate-browser", "0",
		"-kafka-partitions", strconv.Itoa(cfg.Partitions)}
	colArgs, pprofAddr, err := withPprof(colArgs, cfg.CollectorProfile)
	if err != nil {
		return nil, err
	}
	col, err := start(dir, "collector", nil, append(colArgs, common...)...)
	if err != nil {
		return nil, err
	}
	defer col.stop()
	sesArgs := []string{"-listen", sessionizerAddr,
		"-session-gap", cfg.SessionGap.String(), "-allowed-disorder", Disorder(cfg.SessionGap).String()}
	sesArgs, sesPprofAddr, err := withPprof(sesArgs, cfg.SessionizerProfile)
	if err != nil {
		return nil, err
	}
	ses, err := start(dir, "sessionizer", nil, append(sesArgs, common...)...)
	if err != nil {
		return nil, err
	}
	// Stopped before the broker and ClickHouse (defers run last first), so
	// its final flush and checkpoint find them.
	defer ses.stop()
	for _, w := range []struct {
		c    *child
		addr string
	}{{col, collectorAdmin}, {ses, sessionizerAddr}} {
		if err := waitReady(ctx, w.c, w.addr); err != nil {
			return nil, err
		}
	}
	log.Info("pipeline up", "clickhouse", ch.Addr(), "kafka", brokerAddr, "collector", collectorAddr, "sessionizer", sessionizerAddr)

	type measured struct {
		name string
		pid  int
	}
	procs := []measured{{"collector", col.cmd.Process.Pid}, {"sessionizer", ses.cmd.Process.Pid},
		{"kafka (kfake)", broker.cmd.Process.Pid}, {"clickhouse", ch.PID()}}
	cpuBefore := make([]time.Duration, len(procs))
	for i, p := range procs {
		if cpuBefore[i], err = procCPU(p.pid); err != nil {
			return nil, err
		}
	}
	// The CPU window ends when ClickHouse held every accepted event: the
	// load generator's session checks that follow are heavy reads of its
	// own (minutes on a loaded machine), not the pipeline's work, so they
	// are sampled apart and reported as Process.VerifyCPU.
	pids := make([]int, len(procs))
	for i, p := range procs {
		pids[i] = p.pid
	}
	samples := sampleCPU(pids, 250*time.Millisecond)
	freshBefore, err := scrapeHistogram(ctx, sessionizerAddr, freshnessMetric)
	if err != nil {
		return nil, err
	}
	chBefore, err := readClickHouseWork(ctx, ch)
	if err != nil {
		return nil, err
	}
	res := &Result{Config: cfg, LoadBefore: LoadAverage(), Started: time.Now()}

	genGap := cfg.SessionGap
	if cfg.Capacity {
		genGap = 0
	}
	var out strings.Builder
	genArgs := []string{"-collector", "http://" + collectorAddr, "-site", siteID, "-page-origin", "http://localhost",
		"-visitors", strconv.Itoa(cfg.Visitors), "-duration", cfg.Duration.String(), "-rate", strconv.FormatFloat(cfg.Rate, 'f', -1, 64),
		"-concurrency", strconv.Itoa(cfg.Concurrency), "-seed", strconv.FormatUint(cfg.Seed, 10), "-session-gap", genGap.String(),
		"-clickhouse-addr", ch.Addr(), "-clickhouse-database", database, "-verify-timeout", "2m",
		"-progress", "10s", "-json"}
	if cfg.LoadgenProfile != "" {
		genArgs = append(genArgs, "-cpuprofile", cfg.LoadgenProfile)
	}
	gen, err := start(dir, "loadgen", &out, genArgs...)
	if err != nil {
		return nil, err
	}
	profiled := make(chan error, 2)
	for _, p := range []struct{ name, addr, path string }{
		{"collector", pprofAddr, cfg.CollectorProfile}, {"sessionizer", sesPprofAddr, cfg.SessionizerProfile}} {
		if p.addr == "" {
			profiled <- nil
			continue
		}
		go func() {
			err := saveProfile(ctx, p.name, p.addr, cfg.Duration, p.path)
			if err == nil && p.name == "sessionizer" {
				err = saveHeapProfile(ctx, p.name, p.addr, cfg.Duration, p.path+".heap")
			}
			profiled <- err
		}()
	}
	<-gen.done
	genErr := gen.exitErr
	chAfter, err := readClickHouseWork(ctx, ch)
	if err != nil {
		return nil, err
	}
	res.ClickHouse = chAfter.minus(chBefore)
	for range 2 {
		if err := <-profiled; err != nil {
			log.Warn("profile not saved", "err", err)
		}
	}
	// The load generator returns after its verification: ClickHouse held
	// every accepted event (or it gave up), and the sessions were checked.
	series := samples.stop()
	_ = os.WriteFile(filepath.Join(dir, "loadgen.json"), []byte(out.String()), 0o644) // kept for a closer look
	if err := json.Unmarshal([]byte(out.String()), &res.Report); err != nil {
		return nil, fmt.Errorf("loadgen (%v) report: %w\n%s\n(log: %s)", genErr, err, out.String(), gen.log.Name())
	}
	windowEnd := time.Now()
	if v := res.Report.Verification; v != nil && !res.Report.Started.IsZero() {
		windowEnd = res.Report.Started.Add(res.Report.Elapsed + v.Waited)
	}
	atEnd := series.at(windowEnd)
	for i, p := range procs {
		cpu, err := procCPU(p.pid)
		if err != nil {
			return nil, err
		}
		window := cpu
		if atEnd != nil {
			window = atEnd[i]
		}
		peak, now, err := procMemKB(p.pid)
		if err != nil {
			return nil, err
		}
		res.Processes = append(res.Processes, Process{Name: p.name, CPU: window - cpuBefore[i], VerifyCPU: cpu - window,
			PeakRSSKB: peak, EndRSSKB: now})
	}
	freshAfter, err := scrapeHistogram(ctx, sessionizerAddr, freshnessMetric)
	if err != nil {
		return nil, err
	}
	res.LoadAfter = LoadAverage()
	ps := gen.cmd.ProcessState
	genProc := Process{Name: "loadgen", CPU: ps.UserTime() + ps.SystemTime()}
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		genProc.PeakRSSKB = ru.Maxrss // kB on Linux
	}
	res.Processes = append(res.Processes, genProc)
	accepted := float64(res.Report.Accepted)
	for i := range res.Processes {
		if accepted > 0 {
			res.Processes[i].CPUPerEvent = float64(res.Processes[i].CPU.Microseconds()) / accepted
		}
	}
	if res.Report.Elapsed > 0 {
		res.EventsPerSecond = accepted / res.Report.Elapsed.Seconds()
	}
	if v := res.Report.Verification; v != nil {
		res.QueryableAfter = v.Waited
	}
	d := freshAfter.minus(freshBefore)
	res.FreshnessEvents, res.FreshnessP50, res.FreshnessP99 = d.count(), d.quantile(0.5), d.quantile(0.99)
	if genErr != nil {
		return res, fmt.Errorf("loadgen: %w (log: %s)", genErr, gen.log.Name())
	}
	return res, nil
}

// withPprof adds -pprof on a free port to a service's args when its
// profile is wanted (profile not empty), and returns that address ("" when
// not).
func withPprof(args []string, profile string) ([]string, string, error) {
	if profile == "" {
		return args, "", nil
	}
	addr, err := freePort()
	if err != nil {
		return nil, "", err
	}
	return append(args, "-pprof", addr), addr, nil
}

// saveProfile writes a CPU profile of the named service (its -pprof on
// addr) over the middle half of a run of duration (10 s to 60 s), to path.
func saveProfile(ctx context.Context, name, addr string, duration time.Duration, path string) error {
	seconds := int(min(max(duration/2, 10*time.Second), time.Minute) / time.Second)
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(max(0, duration/2-time.Duration(seconds)*time.Second/2)):
	}
	return fetchProfile(ctx, name, fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, seconds), path)
}

// saveHeapProfile writes the named service's heap profile (live objects at
// the last collection, and what was allocated) when a run of duration that
// started with saveProfile's wait ends, to path.
func saveHeapProfile(ctx context.Context, name, addr string, duration time.Duration, path string) error {
	seconds := min(max(duration/2, 10*time.Second), time.Minute)
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(max(0, duration-(duration/2+seconds/2))):
	}
	return fetchProfile(ctx, name, fmt.Sprintf("http://%s/debug/pprof/heap?gc=1", addr), path)
}

func fetchProfile(ctx context.Context, name, url, path string) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s profile: %w", name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s profile: %s", name, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("%s profile: %w", name, err)
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return fmt.Errorf("%s profile %s: %w", name, path, err)
	}
	return f.Close()
}

// prepareDatabase applies the schema and registers the benchmark's site.
func prepareDatabase(ctx context.Context, cfg store.Config, log *slog.Logger) error {
	db, err := store.Open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		return err
	}
	if err := db.SaveSite(ctx, site.Site{ID: siteID, Domains: []string{"localhost"}}); err != nil {
		return fmt.Errorf("register site %q: %w", siteID, err)
	}
	return nil
}

func ports3() (a, b, c string, err error) {
	if a, err = freePort(); err == nil {
		if b, err = freePort(); err == nil {
			c, err = freePort()
		}
	}
	return a, b, c, err
}

// readListening waits for kafkalocal's "listening ADDR" line.
func readListening(r io.Reader, seen *strings.Builder) (string, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		seen.WriteString(sc.Text() + "\n")
		if addr, ok := strings.CutPrefix(sc.Text(), "listening "); ok {
			return addr, nil
		}
	}
	return "", fmt.Errorf("exited before listening: %q", seen.String())
}

// waitReady polls a service's /readyz until it answers 200 (a minute at most).
func waitReady(ctx context.Context, c *child, addr string) error {
	deadline := time.Now().Add(time.Minute)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/readyz", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-c.done:
			return fmt.Errorf("%s exited before it was ready (%v): see %s", c.name, c.exitErr, c.log.Name())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after a minute: see %s", c.name, c.log.Name())
		}
	}
}

// scrapeHistogram reads one histogram from a service's /metrics.
func scrapeHistogram(ctx context.Context, addr, name string) (histogram, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scrape %s/metrics: %w", addr, err)
	}
	defer resp.Body.Close()
	h, err := parseHistogram(resp.Body, name)
	if err != nil {
		return nil, fmt.Errorf("scrape %s/metrics: %w", addr, err)
	}
	return h, nil
}

// ms is a duration in milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// BenchLine is the run in the go test -bench line format, so
// scripts/bench.sh reads it as it reads the other benchmarks.
func (r *Result) BenchLine() string {
	var b strings.Builder
	m := func(v float64, unit string) {
		if !math.IsNaN(v) {
			fmt.Fprintf(&b, "\t%.4g %s", v, unit)
		}
	}
	b.WriteString("BenchmarkPipelineProcesses 1")
	m(r.Report.Elapsed.Seconds(), "s_sending")
	m(r.EventsPerSecond, "events/s")
	m(ms(r.Report.Latency.P50), "p50_ms")
	m(ms(r.Report.Latency.P99), "p99_ms")
	m(r.FreshnessP50, "freshness_p50_s")
	m(r.FreshnessP99, "freshness_p99_s")
	m(r.QueryableAfter.Seconds(), "queryable_after_s")
	matched := 0.0
	if r.Matched() {
		matched = 1
	}
	m(matched, "matched")
	for _, p := range r.Processes {
		key := strings.Fields(p.Name)[0]
		m(p.CPUPerEvent, key+"_cpu_us/event")
		m(float64(p.PeakRSSKB)/1024, key+"_peak_rss_MiB")
		if p.EndRSSKB > 0 {
			m(float64(p.EndRSSKB)/1024, key+"_end_rss_MiB")
		}
	}
	if r.Report.SendCPU > 0 && r.Report.Accepted > 0 {
		m(float64(r.Report.SendCPU.Microseconds())/float64(r.Report.Accepted), "loadgen_sending_cpu_us/event")
	}
	m(float64(r.ClickHouse.Inserts), "clickhouse_inserts")
	if r.Report.Accepted > 0 {
		m(float64(r.ClickHouse.MergedRows)/float64(r.Report.Accepted), "clickhouse_merged_rows/event")
	}
	m(r.LoadBefore, "load_avg_before")
	m(r.LoadAfter, "load_avg_after")
	return b.String()
}

// Print writes the figures people read.
func (r *Result) Print(w io.Writer) {
	p := func(format string, a ...any) { fmt.Fprintf(w, format+"\n", a...) }
	rep := r.Report
	p("Whole pipeline, one process per part (collector, sessionizer, kfake, ClickHouse, loadgen), session gap %s, %d partitions",
		r.Config.SessionGap, r.Config.Partitions)
	p("  load       %d events accepted in %s: %.0f events/s; collector latency p50 %.1f ms, p99 %.1f ms",
		rep.Accepted, rep.Elapsed.Round(time.Millisecond), r.EventsPerSecond, ms(rep.Latency.P50), ms(rep.Latency.P99))
	if r.Config.Capacity {
		p("  capacity   browsers without pauses (loadgen -session-gap 0): the most this box takes; counts verified, sessions not")
	} else if offered := r.Config.OfferedRate(); r.EventsPerSecond < 0.9*offered {
		p("  WARNING    the browsers' schedule asks about %.0f events/s but %.0f/s were sent: the box fell behind the schedule, so pauses grew and visits may cross the session gap",
			offered, r.EventsPerSecond)
	}
	p("  requests   %d sent, %.2f events each (an app navigation's two events travel in one)", rep.Sent, float64(rep.SentEvents)/float64(max(rep.Sent, 1)))
	p("  freshness  per event p50 %.3f s, p99 %.3f s (%0.f rows observed); everything queryable %.3f s after the last answer",
		r.FreshnessP50, r.FreshnessP99, r.FreshnessEvents, r.QueryableAfter.Seconds())
	v, s := rep.Verification, rep.Sessions
	switch {
	case v == nil:
		p("  verify     not made")
	default:
		p("  verify     events %d of %d, visitors %d of %d, missing %d, extra %d: match %v", v.GotEvents, v.WantEvents,
			v.GotVisitors, v.WantVisitors, v.Missing, v.Extra, v.Match)
	}
	if s != nil {
		p("  sessions   %d of %d planned, %d wrong, %d missing, %d extra: match %v %s", s.GotSessions, s.WantSessions,
			s.Wrong, s.Missing, s.Extra, s.Match, s.Error)
		if s.Overdue > 0 {
			p("             %d visits had a pause longer than the gap (the box fell behind the schedule); %d of them came out split, as the rules allow, not counted wrong",
				s.Overdue, s.OverdueSplit)
		}
		for _, e := range s.Examples {
			p("             %s", e)
		}
	}
	for _, pr := range r.Processes {
		end := ""
		if pr.EndRSSKB > 0 {
			end = fmt.Sprintf(", at the end %.1f MiB", float64(pr.EndRSSKB)/1024)
		}
		verify := ""
		if pr.VerifyCPU > 0 {
			verify = fmt.Sprintf(" (and %.2f s during the session checks)", pr.VerifyCPU.Seconds())
		}
		p("  %-14s CPU %7.2f s, %6.1f us/event%s; resident memory peak %.1f MiB%s", pr.Name, pr.CPU.Seconds(), pr.CPUPerEvent,
			verify, float64(pr.PeakRSSKB)/1024, end)
	}
	if rep.SendCPU > 0 && rep.Accepted > 0 {
		p("  %-14s CPU %7.2f s, %6.1f us/event while sending (its own report: without setting up and verifying)", "loadgen",
			rep.SendCPU.Seconds(), float64(rep.SendCPU.Microseconds())/float64(rep.Accepted))
	}
	if c := r.ClickHouse; c.Inserts > 0 {
		p("  clickhouse %d inserts of %d rows (%.2f per accepted event); merges read %d rows (%.2f per accepted event)",
			c.Inserts, c.InsertedRows, float64(c.InsertedRows)/float64(max(rep.Accepted, 1)), c.MergedRows,
			float64(c.MergedRows)/float64(max(rep.Accepted, 1)))
	}
	p("  machine    load average %.2f before, %.2f after (2 shared cores)", r.LoadBefore, r.LoadAfter)
}

// WriteJSON writes the result as indented JSON.
func (r *Result) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
