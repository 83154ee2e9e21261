package app_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/teller-analytics/teller/internal/testenv"
	"github.com/teller-analytics/teller/pkg/app"
)

// services are the three service configurations, by binary name.
func services() map[string]func() app.Service {
	return map[string]func() app.Service{
		"collector":   func() app.Service { return &app.CollectorConfig{} },
		"sessionizer": func() app.Service { return &app.SessionizerConfig{} },
		"dashboard":   func() app.Service { return &app.DashboardConfig{} },
	}
}

// valid is what each service needs to pass validation; ClickHouse and Kafka
// point at a closed port, so any connection attempt would hang in retries.
var valid = map[string]map[string]string{
	"collector":   {"TELLER_COOKIE_SECRET": "collector-cookie-secret-0123456789"},
	"sessionizer": {},
	"dashboard":   {"TELLER_DASHBOARD_PASSWORD": "hunter2-hunter2", "TELLER_SESSION_SECRET": "dashboard-session-secret-0123456789"},
}

func envOf(name string, extra map[string]string) func(string) string {
	env := map[string]string{"TELLER_CLICKHOUSE_ADDR": "127.0.0.1:1", "TELLER_KAFKA_BROKERS": "127.0.0.1:1",
		"TELLER_LISTEN": "127.0.0.1:0", "TELLER_LOG_LEVEL": "error"}
	for k, v := range valid[name] {
		env[k] = v
	}
	for k, v := range extra {
		env[k] = v
	}
	return func(k string) string { return env[k] }
}

// A bad setting stops the service at once, before any connection (which
// would retry for up to a minute), with exit status 2 and a message naming
// the flag or variable.
func TestBadConfigurationExitsTwoBeforeAnyIO(t *testing.T) {
	tests := []struct {
		service string
		args    []string
		env     map[string]string
		want    string
	}{
		{"dashboard", []string{"-trusted-proxies", "10.0.0.1,not-an-ip"}, nil, "-trusted-proxies"},
		{"dashboard", nil, map[string]string{"TELLER_SESSION_SECRET": ""}, "-login-secret"},
		{"dashboard", []string{"-clickhouse-database", "my-db"}, nil, "-clickhouse-database"},
		{"collector", nil, map[string]string{"TELLER_COOKIE_SECRET": ""}, "-cookie-secret"},
		{"collector", []string{"-cookie-secret", "short"}, nil, "-cookie-secret"},
		{"collector", []string{"-kafka-partitions=0"}, nil, "-kafka-partitions"},
		{"collector", []string{"-kafka-replication-factor", "0"}, nil, "-kafka-replication-factor"},
		{"collector", []string{"-listen", "8081"}, nil, "-listen"},
		{"collector", []string{"-cookie-domain", "https://example.com/"}, nil, "-cookie-domain"},
		{"collector", []string{"-spool-dir", "/tmp/spool", "-spool-fsync", "sometimes"}, nil, "-spool-fsync"},
		{"collector", []string{"-spool-dir", "/tmp/spool", "-spool-max-bytes", "1000"}, nil, "-spool-max-bytes"},
		{"collector", nil, map[string]string{"TELLER_SPOOL_DIR": "/tmp/spool", "TELLER_SPOOL_READY_BYTES": "0"}, "-spool-ready-bytes"},
		{"sessionizer", []string{"-clickhouse-addr", "localhost"}, nil, "-clickhouse-addr"},
		{"sessionizer", nil, map[string]string{"TELLER_CLICKHOUSE_DIAL_TIMEOUT": "0s"}, "-clickhouse-dial-timeout"},
		{"sessionizer", []string{"-log-level", "loud"}, nil, "-log-level"},
		{"sessionizer", []string{"-log-format", "xml"}, nil, "-log-format"},
		{"sessionizer", []string{"-kafka-brokers", "kafka"}, nil, "-kafka-brokers"},
		{"sessionizer", []string{"-kafka-topic="}, nil, "-kafka-topic"},
		{"sessionizer", nil, map[string]string{"TELLER_FLUSH_INTERVAL": "soon"}, "TELLER_FLUSH_INTERVAL"},
		{"sessionizer", []string{"-no-such-flag"}, nil, "no-such-flag"},
		{"collector", []string{"extra"}, nil, "unexpected arguments"},
		{"collector", []string{"-gc-percent", "0"}, nil, "-gc-percent must be >= 10, got 0"},
		{"collector", nil, map[string]string{"TELLER_MEMORY_LIMIT_MIB": "-1"}, "-memory-limit-mib must be >= 0"},
		{"collector", []string{"-pprof", "6060"}, nil, "-pprof"},
		{"sessionizer", []string{"-pprof", "6060"}, nil, "-pprof"},
	}
	for _, tt := range tests {
		t.Run(tt.service+" "+tt.want, func(t *testing.T) {
			var stderr bytes.Buffer
			started := time.Now()
			err := app.Run(context.Background(), tt.service, services()[tt.service](), tt.args, envOf(tt.service, tt.env), io.Discard, &stderr)
			if took := time.Since(started); took > 2*time.Second {
				t.Errorf("took %s: the check ran after a connection attempt", took)
			}
			if code := app.Exit(&stderr, err); code != 2 {
				t.Fatalf("exit status %d, want 2 (err %v)", code, err)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(stderr.String(), tt.want) {
				t.Fatalf("error %q (stderr %q) does not name %s", err, stderr.String(), tt.want)
			}
		})
	}
}

// Every service validates the configuration it gets from its flags'
// defaults plus its required secrets: the defaults themselves are valid.
func TestDefaultsAreValid(t *testing.T) {
	for name, svc := range services() {
		var out bytes.Buffer
		err := app.Run(context.Background(), name, svc(), []string{"-check-config"}, envOf(name, nil), &out, io.Discard)
		if err != nil || app.ExitCode(err) != 0 {
			t.Errorf("%s -check-config with defaults: %v", name, err)
		}
	}
}

// -check-config prints the effective configuration without secrets and
// exits 0, or 2 when the configuration is bad.
func TestCheckConfig(t *testing.T) {
	var out bytes.Buffer
	err := app.Run(context.Background(), "dashboard", &app.DashboardConfig{}, []string{"-check-config", "-dashboard-user", "ops"},
		envOf("dashboard", map[string]string{"TELLER_CLICKHOUSE_PASSWORD": "ch-secret-pw"}), &out, io.Discard)
	if app.ExitCode(err) != 0 {
		t.Fatalf("-check-config: %v", err)
	}
	for _, want := range []string{`dashboard-user = "ops" (set by -dashboard-user or TELLER_DASHBOARD_USER)`,
		`clickhouse-addr = "127.0.0.1:1"`, "dashboard-password = (set)", "session-secret = (set)",
		"clickhouse-password = (set)", `trusted-proxies = "" (default)`, "migrate = \"false\" (default)", "configuration is valid"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("-check-config output lacks %q:\n%s", want, out.String())
		}
	}
	for _, secret := range []string{"hunter2-hunter2", "dashboard-session-secret-0123456789", "ch-secret-pw"} {
		if strings.Contains(out.String(), secret) {
			t.Errorf("-check-config printed a secret:\n%s", out.String())
		}
	}
	err = app.Run(context.Background(), "dashboard", &app.DashboardConfig{}, []string{"-check-config", "-trusted-proxies", "x"},
		envOf("dashboard", nil), io.Discard, io.Discard)
	if app.ExitCode(err) != 2 {
		t.Fatalf("-check-config with a bad flag: exit %d (%v), want 2", app.ExitCode(err), err)
	}
}

func freePort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// startDashboard runs the dashboard binary's code until it is ready (stop
// ends it) or fails to start (err).
func startDashboard(t *testing.T, env map[string]string, args ...string) (stop func(), err error) {
	t.Helper()
	port := freePort(t)
	env["TELLER_LISTEN"] = "127.0.0.1:" + port
	getenv := envOf("dashboard", env)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- app.Run(ctx, "dashboard", &app.DashboardConfig{}, args, getenv, io.Discard, io.Discard)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-done:
			cancel()
			return nil, err
		default:
		}
		if resp, err := http.Get("http://127.0.0.1:" + port + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return func() {
					cancel()
					if err := <-done; err != nil {
						t.Errorf("dashboard stopped with %v", err)
					}
				}, nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	cancel()
	t.Fatal("dashboard not ready within 30 s")
	return nil, nil
}

// Without -migrate a service refuses to start on a database with pending
// migrations and says how to apply them (exit 1); with -migrate it applies
// them and serves; afterwards it starts without -migrate.
func TestMigrationsAreAnExplicitStep(t *testing.T) {
	ch := testenv.ClickHouse(t)
	env := func() map[string]string {
		return map[string]string{"TELLER_CLICKHOUSE_ADDR": ch.Addr(), "TELLER_CLICKHOUSE_DATABASE": "explicit"}
	}
	_, err := startDashboard(t, env())
	if !errors.Is(err, app.ErrSchemaPending) || app.ExitCode(err) != 1 ||
		!strings.Contains(err.Error(), "0001_sites.sql") || !strings.Contains(err.Error(), "teller migrate") || !strings.Contains(err.Error(), "-migrate") {
		t.Fatalf("start on an empty database without -migrate: %v", err)
	}
	if got := testenv.ClientQuery(t, ch, "explicit", "SELECT count() FROM system.tables WHERE database = 'explicit'"); got != "0" {
		t.Fatalf("the refused start created %s tables", got)
	}
	stop, err := startDashboard(t, env(), "-migrate")
	if err != nil {
		t.Fatalf("start with -migrate: %v", err)
	}
	stop()
	stop, err = startDashboard(t, env())
	if err != nil {
		t.Fatalf("start without -migrate on a migrated database: %v", err)
	}
	stop()
}

// readOnlyUser is a ClickHouse user whose profile allows reads only.
const readOnlyUser = `<?xml version="1.0"?>
<yandex>
    <profiles><readonly><readonly>1</readonly></readonly></profiles>
    <users>
        <reader>
            <password></password>
            <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
            <profile>readonly</profile>
            <quota>default</quota>
        </reader>
    </users>
</yandex>
`

// The dashboard runs with a read-only ClickHouse user once the schema is
// applied; asked to migrate with it, it fails (it cannot write the schema).
func TestDashboardRunsWithAReadOnlyUser(t *testing.T) {
	ch := testenv.ClickHouse(t)
	testenv.OpenStore(t, ch, "readonly") // migrated by an admin
	if err := os.MkdirAll(filepath.Join(ch.Dir(), "users.d"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ch.Dir(), "users.d", "reader.xml"), []byte(readOnlyUser), 0o644); err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ch.Addr())
	testenv.Eventually(t, 30*time.Second, "ClickHouse to load the read-only user", func() bool {
		return exec.Command("clickhouse-client", "--port", port, "--user", "reader", "--query", "SELECT 1").Run() == nil
	})
	if out, err := exec.Command("clickhouse-client", "--port", port, "--user", "reader", "--query",
		"CREATE DATABASE IF NOT EXISTS readonly").CombinedOutput(); err == nil {
		t.Fatalf("the reader may run CREATE: %s", out)
	}
	env := func() map[string]string {
		// Reports through the reader; the account tables (the first admin
		// is written at start) through a user that may write them.
		return map[string]string{"TELLER_CLICKHOUSE_ADDR": ch.Addr(), "TELLER_CLICKHOUSE_DATABASE": "readonly", "TELLER_CLICKHOUSE_USER": "reader",
			"TELLER_ACCOUNTS_CLICKHOUSE_USER": "default"}
	}
	stop, err := startDashboard(t, env())
	if err != nil {
		t.Fatalf("dashboard with a read-only user: %v", err)
	}
	stop()
	if _, err := startDashboard(t, env(), "-migrate"); err == nil || !strings.Contains(err.Error(), "readonly") {
		t.Fatalf("-migrate with a read-only user: %v", err)
	}
}

// The README's configuration table documents every service flag with its
// variable and the flag's own default, so the docs cannot drift from the code.
func TestReadmeConfigTableMatchesFlags(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| (none|`TELLER_[A-Z_]+`) \\| `-([a-z-]+)` \\| ([^|]+) \\| ([^|]+) \\| [^|]+ \\|$")
	rows := row.FindAllStringSubmatch(string(readme), -1)
	if len(rows) < 20 {
		t.Fatalf("found %d rows in README's configuration table", len(rows))
	}
	documented := map[string]bool{}
	for _, r := range rows {
		variable, name, usedBy, def := strings.Trim(r[1], "`"), r[2], strings.TrimSpace(r[3]), strings.TrimSpace(r[4])
		names := strings.Split(usedBy, ", ")
		if usedBy == "all" {
			names = []string{"collector", "sessionizer", "dashboard"}
		}
		defs := strings.Split(def, " / ")
		if len(defs) != 1 && len(defs) != len(names) {
			t.Errorf("-%s: %d defaults for %d services", name, len(defs), len(names))
			continue
		}
		for i, svc := range names {
			newSvc, ok := services()[svc]
			if !ok {
				t.Errorf("-%s: used by unknown service %q", name, svc)
				continue
			}
			documented[svc+" "+name] = true
			fs := flagSet(newSvc())
			f := fs.Lookup(name)
			if f == nil {
				t.Errorf("README documents -%s for %s, which has no such flag", name, svc)
				continue
			}
			if want := app.ServiceEnv(name); variable != want && !(variable == "none" && want == "") {
				t.Errorf("-%s: README names variable %s, the flag reads %q", name, variable, want)
			}
			d := defs[min(i, len(defs)-1)]
			if !sameDefault(d, f.DefValue) {
				t.Errorf("%s -%s: README default %s, flag default %q", svc, name, d, f.DefValue)
			}
		}
	}
	for svc, newSvc := range services() {
		flagSet(newSvc()).VisitAll(func(f *flag.Flag) {
			if !documented[svc+" "+f.Name] {
				t.Errorf("%s -%s is not in README's configuration table", svc, f.Name)
			}
		})
	}
}

// flagSet is the service's flags as app.Run registers them.
func flagSet(svc app.Service) *flag.FlagSet {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	svc.RegisterFlags(fs)
	fs.Bool("check-config", false, "")
	return fs
}

func sameDefault(readme, flagDefault string) bool {
	switch readme {
	case "required", "empty":
		return flagDefault == ""
	}
	readme = strings.Trim(readme, "`")
	if a, err := time.ParseDuration(readme); err == nil {
		b, err := time.ParseDuration(flagDefault)
		return err == nil && a == b
	}
	return readme == flagDefault
}
