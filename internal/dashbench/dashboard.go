package dashbench

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/teller-analytics/teller/pkg/store"
)

// Dashboard is a dashboard process started for a benchmark.
type Dashboard struct {
	// URL is its base URL, http://127.0.0.1:port.
	URL string
	// User and Password sign in.
	User, Password string
	cmd            *exec.Cmd
	done           chan struct{}
}

// BuildDashboard compiles cmd/dashboard of the module at dir (the
// repository root) into out and returns the binary's path.
func BuildDashboard(ctx context.Context, dir, out string) (string, error) {
	bin := filepath.Join(out, "dashboard")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/dashboard")
	cmd.Dir = dir
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("dashbench: go build ./cmd/dashboard: %w\n%s", err, b)
	}
	return bin, nil
}

// StartDashboard runs the dashboard binary bin against the ClickHouse of
// cfg, configured through its TELLER_ variables as an operator would, on a
// free loopback port, and waits until it answers /healthz. Its log goes to
// logw.
func StartDashboard(ctx context.Context, bin string, cfg store.Config, logw io.Writer) (*Dashboard, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	d := &Dashboard{URL: "http://" + addr, User: "admin", Password: "dashbench-password", done: make(chan struct{})}
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(),
		"TELLER_LISTEN="+addr,
		"TELLER_CLICKHOUSE_ADDR="+cfg.Addr,
		"TELLER_CLICKHOUSE_DATABASE="+cfg.Database,
		"TELLER_DASHBOARD_USER="+d.User,
		"TELLER_DASHBOARD_PASSWORD="+d.Password,
		"TELLER_SESSION_SECRET=dashbench-session-secret-0123456789",
		"TELLER_LOG_LEVEL=warn",
	)
	cmd.Stdout, cmd.Stderr = logw, logw
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("dashbench: start %s: %w", bin, err)
	}
	d.cmd = cmd
	go func() { _ = cmd.Wait(); close(d.done) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, d.URL+"/healthz", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return d, nil
			}
		}
		select {
		case <-d.done:
			return nil, fmt.Errorf("dashbench: the dashboard exited during start-up (%v)", cmd.ProcessState)
		case <-ctx.Done():
			d.Stop()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			d.Stop()
			return nil, fmt.Errorf("dashbench: the dashboard did not answer %s/healthz within 60 s", d.URL)
		}
	}
}

// Stop ends the process: SIGTERM, then SIGKILL after 10 s.
func (d *Dashboard) Stop() {
	select {
	case <-d.done:
		return
	default:
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(10 * time.Second):
		_ = d.cmd.Process.Kill()
		<-d.done
	}
}
