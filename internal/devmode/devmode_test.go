package devmode

import (
	"flag"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/teller-analytics/teller/pkg/app"
	"github.com/teller-analytics/teller/pkg/config"
)

func parsed(t *testing.T, args []string, env map[string]string) Config {
	t.Helper()
	var c Config
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c.RegisterFlags(fs)
	if err := config.ParseEnv(fs, args, func(k string) string { return env[k] }, Env); err != nil {
		t.Fatal(err)
	}
	return c
}

// The defaults are valid; a bad flag, including one of the services the dev
// mode runs, is reported by name before anything starts.
func TestValidateNamesTheFlag(t *testing.T) {
	if c := parsed(t, nil, nil); c.Validate() != nil {
		t.Fatalf("defaults: %v", c.Validate())
	}
	tests := []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"-demo-port", "0"}, nil, "-demo-port"},
		{[]string{"-clickhouse-port", "70000"}, nil, "-clickhouse-port"},
		{[]string{"-clickhouse-addr", "nohost"}, nil, "-clickhouse-addr"},
		{[]string{"-kafka-partitions", "0"}, nil, "-kafka-partitions"},
		{[]string{"-log-level", "loud"}, nil, "-log-level"},
		{nil, map[string]string{"TELLER_DEV_CLICKHOUSE_DATABASE": "bad name"}, "-clickhouse-database"},
		{[]string{"-data-dir", ""}, nil, "-data-dir"},
	}
	for _, tt := range tests {
		c := parsed(t, tt.args, tt.env)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v %v: %v, want an error naming %s", tt.args, tt.env, err, tt.want)
		}
	}
}

// The dev mode reads TELLER_DEV_ variables only: a TELLER_CLICKHOUSE_ADDR
// exported for the services or the CLI does not turn off its own ClickHouse.
func TestServiceVariablesDoNotSteerTheDevMode(t *testing.T) {
	c := parsed(t, nil, map[string]string{"TELLER_CLICKHOUSE_ADDR": "127.0.0.1:19000", "TELLER_KAFKA_BROKERS": "127.0.0.1:9092"})
	if c.Store.Addr != "" || len(c.Kafka.Brokers) != 0 {
		t.Fatalf("service variables changed the dev mode: ClickHouse %q, brokers %v", c.Store.Addr, c.Kafka.Brokers)
	}
	c = parsed(t, nil, map[string]string{"TELLER_DEV_CLICKHOUSE_ADDR": "ch:9000"})
	if c.Store.Addr != "ch:9000" {
		t.Fatalf("TELLER_DEV_CLICKHOUSE_ADDR: %q", c.Store.Addr)
	}
}

func TestFindStack(t *testing.T) {
	dir := t.TempDir()
	if _, ok, err := FindStack(dir); ok || err != nil {
		t.Fatalf("no file: ok %v, %v", ok, err)
	}
	want := Stack{PID: os.Getpid(), ClickHouseAddr: "127.0.0.1:19000", Database: "teller", DemoSiteID: DemoSiteID}
	if err := writeStack(dir, want); err != nil {
		t.Fatal(err)
	}
	if got, ok, err := FindStack(dir); !ok || err != nil || got.ClickHouseAddr != want.ClickHouseAddr || got.DemoSiteID != "demo" {
		t.Fatalf("live stack: %+v %v %v", got, ok, err)
	}
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	want.PID = gone.Process.Pid
	if err := writeStack(dir, want); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := FindStack(dir); ok || err != nil {
		t.Fatalf("stack of a finished process: ok %v, %v", ok, err)
	}
}

// The dev mode serves each service on the port of its production default.
func TestDevPortsAreTheServicesDefaults(t *testing.T) {
	for listen, port := range map[string]int{app.DefaultCollectorListen: DefaultCollectorPort,
		app.DefaultDashboardListen: DefaultDashboardPort, app.DefaultSessionizerListen: DefaultSessionizerPort} {
		if listen != ":"+strconv.Itoa(port) {
			t.Errorf("service default %s, dev mode port %d", listen, port)
		}
	}
}

// README's dev mode paragraph names each port flag with the flag's default.
func TestReadmeDevFlagsMatch(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var c Config
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	c.RegisterFlags(fs)
	found := 0
	for _, m := range regexp.MustCompile("(?:\\(|; )`-([a-z-]+)`,\\s+(\\d+)").FindAllStringSubmatch(string(readme), -1) {
		found++
		f := fs.Lookup(m[1])
		if f == nil {
			t.Errorf("README names dev flag -%s, which does not exist", m[1])
		} else if f.DefValue != m[2] {
			t.Errorf("README: -%s defaults to %s, the flag to %s", m[1], m[2], f.DefValue)
		}
	}
	if found < 7 {
		t.Fatalf("README names %d dev mode port flags, want 7", found)
	}
	if !strings.Contains(string(readme), "`-data-dir` (`"+DefaultDataDir+"`)") {
		t.Errorf("README does not give -data-dir's default %s", DefaultDataDir)
	}
}
