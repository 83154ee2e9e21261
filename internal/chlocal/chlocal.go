// Package chlocal runs a ClickHouse server as a child process on loopback, with
// its own configuration, data folder and ports. The dev mode and the
// integration tests use it, so that they never touch a user's own server and
// several runs never collide.
//
// It only starts and stops the process; schema and queries belong to pkg/store.
package chlocal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Options configure a local server. Zero values get the defaults noted.
type Options struct {
	// Dir holds config, data and logs. Reusing a Dir reuses its data. Required.
	Dir string
	// TCPPort is the native-protocol port on 127.0.0.1; 0 picks a free one.
	TCPPort int
	// HTTPPort is the HTTP port on 127.0.0.1; 0 picks a free one.
	HTTPPort int
	// Binary is the server executable; default: clickhouse-server on PATH, or
	// "clickhouse server" where only the single binary is installed.
	Binary string
	// StartTimeout bounds the wait for the server to answer; default 60 s.
	StartTimeout time.Duration
	// Logger receives progress lines; default slog.Default().
	Logger *slog.Logger
}

// Server is a running local ClickHouse.
type Server struct {
	opts Options
	http *http.Client
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// ErrNotInstalled means no ClickHouse server binary was found.
var ErrNotInstalled = errors.New("clickhouse-server is not installed (on Debian: apt-get install -y clickhouse-server clickhouse-client, or run scripts/install-deps.sh)")

// Start writes the configuration into opts.Dir, starts the server and waits
// until it answers queries.
func Start(ctx context.Context, opts Options) (*Server, error) {
	if opts.Dir == "" {
		return nil, errors.New("chlocal: Options.Dir is required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 60 * time.Second
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("chlocal: resolve %s: %w", opts.Dir, err)
	}
	opts.Dir = dir
	for _, p := range []*int{&opts.TCPPort, &opts.HTTPPort} {
		if *p == 0 {
			if *p, err = freePort(); err != nil {
				return nil, err
			}
		}
	}
	for _, port := range []int{opts.TCPPort, opts.HTTPPort} {
		if portInUse(port) {
			return nil, fmt.Errorf("chlocal: port 127.0.0.1:%d is already in use (another ClickHouse or dev run?); stop it or choose other ports", port)
		}
	}
	argv, err := serverCommand(opts.Binary)
	if err != nil {
		return nil, err
	}
	if err := writeConfig(opts); err != nil {
		return nil, err
	}
	logFile, err := os.OpenFile(filepath.Join(dir, "log", "stdout.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("chlocal: open log: %w", err)
	}
	cmd := exec.Command(argv[0], append(argv[1:], "--config-file="+filepath.Join(dir, "config.xml"))...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Own process group: a Ctrl-C aimed at the dev program reaches us first,
	// and we stop the server in order instead of it dying mid-write.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("chlocal: start %s: %w", argv[0], err)
	}
	s := &Server{opts: opts, cmd: cmd, done: make(chan struct{}), http: &http.Client{Transport: &http.Transport{}}}
	go func() {
		s.err = cmd.Wait()
		logFile.Close()
		close(s.done)
	}()
	opts.Logger.Info("starting ClickHouse", "dir", dir, "tcp", s.Addr(), "http", s.HTTPAddr())
	if err := s.waitReady(ctx); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

// Addr is the native-protocol address, host:port.
func (s *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.opts.TCPPort) }

// HTTPAddr is the HTTP interface's address, host:port.
func (s *Server) HTTPAddr() string { return "127.0.0.1:" + strconv.Itoa(s.opts.HTTPPort) }

// Dir is the server's folder.
func (s *Server) Dir() string { return s.opts.Dir }

// PID is the server process's id (benchmarks read its memory in /proc).
func (s *Server) PID() int { return s.cmd.Process.Pid }

// Done is closed when the process has exited.
func (s *Server) Done() <-chan struct{} { return s.done }

// Stop ends the server: SIGTERM, then SIGKILL after 20 s.
func (s *Server) Stop() error {
	select {
	case <-s.done:
		return nil
	default:
	}
	// Open keep-alive connections make the server wait before it exits.
	s.http.CloseIdleConnections()
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGCONT) // a frozen server acts on SIGTERM only once resumed
	select {
	case <-s.done:
		return nil
	case <-time.After(20 * time.Second):
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.done
		return errors.New("chlocal: server did not stop within 20 s; killed")
	}
}

// Freeze stops the server's processes (SIGSTOP): connections stay open and
// every request hangs, as with a hung server. Thaw resumes them.
func (s *Server) Freeze() error { return s.signal(syscall.SIGSTOP) }

// Thaw resumes a frozen server (SIGCONT).
func (s *Server) Thaw() error { return s.signal(syscall.SIGCONT) }

func (s *Server) signal(sig syscall.Signal) error {
	if err := syscall.Kill(-s.cmd.Process.Pid, sig); err != nil {
		return fmt.Errorf("chlocal: signal %v to the server: %w", sig, err)
	}
	return nil
}

// Query runs a statement over the HTTP interface and returns its output
// (TabSeparated). It is for set-up and tests; products use pkg/store.
func (s *Server) Query(ctx context.Context, query string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+s.HTTPAddr()+"/", strings.NewReader(query))
	if err != nil {
		return "", err
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return "", fmt.Errorf("chlocal: query: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("chlocal: query %q: %s: %s", query, resp.Status, bytes.TrimSpace(body))
	}
	return string(body), nil
}

func (s *Server) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.opts.StartTimeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if out, err := s.Query(ctx, "SELECT 1"); err == nil && strings.TrimSpace(out) == "1" {
			// The native port opens a little after HTTP on some releases.
			if c, err := net.DialTimeout("tcp", s.Addr(), time.Second); err == nil {
				c.Close()
				return nil
			}
		}
		select {
		case <-s.done:
			return fmt.Errorf("chlocal: server exited during start-up (%v); see %s", s.err, filepath.Join(s.opts.Dir, "log"))
		case <-ctx.Done():
			return fmt.Errorf("chlocal: server did not answer within %s; see %s: %w", s.opts.StartTimeout, filepath.Join(s.opts.Dir, "log"), ctx.Err())
		case <-tick.C:
		}
	}
}

func serverCommand(binary string) ([]string, error) {
	if binary != "" {
		return strings.Fields(binary), nil
	}
	if p, err := exec.LookPath("clickhouse-server"); err == nil {
		return []string{p}, nil
	}
	if p, err := exec.LookPath("clickhouse"); err == nil {
		return []string{p, "server"}, nil
	}
	return nil, ErrNotInstalled
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("chlocal: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func portInUse(port int) bool {
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), 200*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func writeConfig(o Options) error {
	for _, sub := range []string{"data", "tmp", "user_files", "format_schemas", "log"} {
		if err := os.MkdirAll(filepath.Join(o.Dir, sub), 0o755); err != nil {
			return fmt.Errorf("chlocal: create %s: %w", sub, err)
		}
	}
	// <yandex> is the root element 18.16 needs; current releases still accept it.
	config := fmt.Sprintf(`<?xml version="1.0"?>
<yandex>
    <logger>
        <level>warning</level>
        <log>%[1]s/log/clickhouse-server.log</log>
        <errorlog>%[1]s/log/clickhouse-server.err.log</errorlog>
        <size>100M</size>
        <count>3</count>
    </logger>
    <listen_host>127.0.0.1</listen_host>
    <tcp_port>%[2]d</tcp_port>
    <http_port>%[3]d</http_port>
    <path>%[1]s/data/</path>
    <tmp_path>%[1]s/tmp/</tmp_path>
    <user_files_path>%[1]s/user_files/</user_files_path>
    <format_schema_path>%[1]s/format_schemas/</format_schema_path>
    <users_config>%[1]s/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <mark_cache_size>268435456</mark_cache_size>
    <max_concurrent_queries>100</max_concurrent_queries>
</yandex>
`, o.Dir, o.TCPPort, o.HTTPPort)
	users := `<?xml version="1.0"?>
<yandex>
    <profiles>
        <default>
            <max_memory_usage>4000000000</max_memory_usage>
            <load_balancing>random</load_balancing>
        </default>
    </profiles>
    <users>
        <default>
            <password></password>
            <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
    </users>
    <quotas>
        <default>
            <interval>
                <duration>3600</duration>
                <queries>0</queries>
                <errors>0</errors>
                <result_rows>0</result_rows>
                <read_rows>0</read_rows>
                <execution_time>0</execution_time>
            </interval>
        </default>
    </quotas>
</yandex>
`
	if err := os.WriteFile(filepath.Join(o.Dir, "config.xml"), []byte(config), 0o644); err != nil {
		return fmt.Errorf("chlocal: write config: %w", err)
	}
	if err := os.WriteFile(filepath.Join(o.Dir, "users.xml"), []byte(users), 0o644); err != nil {
		return fmt.Errorf("chlocal: write users: %w", err)
	}
	return nil
}

// CPUTime is the server process's user plus system CPU time so far, read
// from /proc (0 where that is not available). Benchmarks use it to report
// what ClickHouse spent.
func (s *Server) CPUTime() time.Duration {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// utime and stime are fields 14 and 15, i.e. 12 and 13 after the
	// parenthesised command name; clock ticks of 10 ms (USER_HZ = 100).
	_, rest, ok := bytes.Cut(stat, []byte(") "))
	f := strings.Fields(string(rest))
	if !ok || len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}
