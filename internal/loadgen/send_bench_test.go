package loadgen_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/teller-analytics/teller/internal/loadgen"
	"github.com/teller-analytics/teller/internal/testenv"
	"github.com/teller-analytics/teller/pkg/identity"
)

// serveEnv makes the test binary, run again as a child, serve like the
// collector (see TestMain): the send path's benchmark measures the load
// generator's CPU alone, with the server's in another process.
const serveEnv = "TELLER_LOADGEN_TEST_SERVE"

func TestMain(m *testing.M) {
	if os.Getenv(serveEnv) != "" {
		serveLikeTheCollector()
		return
	}
	os.Exit(m.Run())
}

// serveLikeTheCollector answers POST /api/event as the collector does (202,
// {"id":...}, the visitor cookie) on a loopback port it prints, until its
// standard input closes (its parent ended).
func serveLikeTheCollector() {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("listening", l.Addr())
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
	_ = http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			return
		}
		value := uuid.NewString()
		if c, err := r.Cookie(identity.CookieName); err == nil {
			value = c.Value
		}
		http.SetCookie(w, &http.Cookie{Name: identity.CookieName, Value: value, Path: "/", MaxAge: 365 * 24 * 3600,
			HttpOnly: true, SameSite: http.SameSiteLaxMode})
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusAccepted)
		fmt.Fprintf(w, `{"id":%q}`, uuid.NewString())
	}))
}

// startCollectorLike runs serveLikeTheCollector in a child process and
// returns its base URL.
func startCollectorLike(tb testing.TB) string {
	tb.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), serveEnv+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { stdin.Close(); _ = cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening ")
	if err != nil || !ok {
		tb.Fatalf("child server: %q, %v", line, err)
	}
	return "http://" + addr
}

// BenchmarkSendPath measures the load generator's own CPU per request (user
// plus system time of this process over the requests sent) to a bare
// net/http server in another process that answers as the collector does:
// b.N requests as fast as answers come, by 2,000 browsers without pauses
// and 16 workers, and by 20,000 browsers with time compressed to a 2 s
// session gap and 128 workers (pipebench's load generator). Every request
// must be accepted, with the visitor cookie kept.
func BenchmarkSendPath(b *testing.B) {
	collector := startCollectorLike(b)
	for _, bc := range []struct {
		name                  string
		visitors, concurrency int
		gap                   time.Duration
	}{
		{"no pauses", 2000, 16, 0},
		{"session gap 2s", 20000, 128, 2 * time.Second},
	} {
		b.Run(bc.name, func(b *testing.B) {
			log := testenv.Logger(b)
			b.ResetTimer()
			before := testenv.SelfCPU()
			rep, err := loadgen.Run(b.Context(), loadgen.Config{Collector: collector, Site: "bench", PageOrigin: "http://localhost",
				Visitors: bc.visitors, Requests: int64(b.N), Concurrency: bc.concurrency, SessionGap: bc.gap, Seed: 1}, log)
			cpu := testenv.SelfCPU() - before
			b.StopTimer()
			if err != nil {
				b.Fatal(err)
			}
			if err := rep.Failure(false); err != nil || rep.Accepted != int64(b.N) || rep.CookieChanges != 0 || len(rep.Notes) != 0 {
				b.Fatalf("%d of %d accepted, %d cookie changes, notes %v: %v", rep.Accepted, b.N, rep.CookieChanges, rep.Notes, err)
			}
			b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu_us/request")
			b.ReportMetric(float64(rep.Latency.P99.Microseconds()), "p99_us")
		})
	}
}
