package config

import (
	"bytes"
	"errors"
	"flag"
	"strings"
	"testing"
)

func TestParsePrecedence(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"default", nil, nil, "localhost:9000"},
		{"environment", nil, map[string]string{"TELLER_CLICKHOUSE_ADDR": "ch:9000"}, "ch:9000"},
		{"flag wins", []string{"-clickhouse-addr", "flag:9000"}, map[string]string{"TELLER_CLICKHOUSE_ADDR": "ch:9000"}, "flag:9000"},
		{"empty environment ignored", nil, map[string]string{"TELLER_CLICKHOUSE_ADDR": ""}, "localhost:9000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := flag.NewFlagSet("t", flag.ContinueOnError)
			addr := fs.String("clickhouse-addr", "localhost:9000", "address")
			if err := Parse(fs, tt.args, func(k string) string { return tt.env[k] }); err != nil {
				t.Fatal(err)
			}
			if *addr != tt.want {
				t.Fatalf("got %q, want %q", *addr, tt.want)
			}
		})
	}
}

func TestParseBadEnvironmentNamesVariable(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.Int("batch-size", 10, "size")
	err := Parse(fs, nil, func(k string) string {
		if k == "TELLER_BATCH_SIZE" {
			return "ten"
		}
		return ""
	})
	if err == nil || !strings.Contains(err.Error(), "TELLER_BATCH_SIZE") {
		t.Fatalf("want error naming TELLER_BATCH_SIZE, got %v", err)
	}
}

func TestStringListAndUsage(t *testing.T) {
	fs := flag.NewFlagSet("svc", flag.ContinueOnError)
	var brokers StringList = []string{"localhost:9092"}
	fs.Var(&brokers, "kafka-brokers", "Kafka bootstrap brokers")
	if err := Parse(fs, nil, func(k string) string {
		if k == "TELLER_KAFKA_BROKERS" {
			return " a:1, b:2 ,,"
		}
		return ""
	}); err != nil {
		t.Fatal(err)
	}
	if got := brokers.String(); got != "a:1,b:2" {
		t.Fatalf("brokers = %q", got)
	}
	var out bytes.Buffer
	PrintUsage(&out, fs)
	if !strings.Contains(out.String(), "-kafka-brokers (env TELLER_KAFKA_BROKERS") {
		t.Fatalf("usage lacks env name:\n%s", out.String())
	}
}

func TestEnvRules(t *testing.T) {
	tests := []struct {
		name string
		env  Env
		flag string
		want string
	}{
		{"service", Service, "clickhouse-addr", "TELLER_CLICKHOUSE_ADDR"},
		{"tool prefix", Prefixed("loadgen"), "rate", "TELLER_LOADGEN_RATE"},
		{"tool prefix, shared flag", Prefixed("dev"), "clickhouse-addr", "TELLER_DEV_CLICKHOUSE_ADDR"},
		{"local flag", Except(Service, "id", "domain"), "id", ""},
		{"other flag of a command", Except(Service, "id", "domain"), "clickhouse-addr", "TELLER_CLICKHOUSE_ADDR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.env(tt.flag); got != tt.want {
				t.Fatalf("-%s: %q, want %q", tt.flag, got, tt.want)
			}
		})
	}
}

// A flag without a variable ignores the environment, and -help says so;
// a prefixed tool reads only its own variables.
func TestParseEnvHonoursTheRule(t *testing.T) {
	env := map[string]string{"TELLER_ID": "from-env", "TELLER_RATE": "1", "TELLER_LOADGEN_RATE": "7", "TELLER_CLICKHOUSE_ADDR": "ch:9000"}
	getenv := func(k string) string { return env[k] }

	fs := flag.NewFlagSet("site add", flag.ContinueOnError)
	id := fs.String("id", "", "site id")
	addr := fs.String("clickhouse-addr", "", "address")
	rule := Except(Service, "id")
	if err := ParseEnv(fs, nil, getenv, rule); err != nil {
		t.Fatal(err)
	}
	if *id != "" || *addr != "ch:9000" {
		t.Fatalf("-id %q (want empty: no variable), -clickhouse-addr %q", *id, *addr)
	}
	var out bytes.Buffer
	PrintUsageEnv(&out, fs, rule)
	if !strings.Contains(out.String(), "-id (no environment variable, default") {
		t.Fatalf("usage:\n%s", out.String())
	}

	fs = flag.NewFlagSet("loadgen", flag.ContinueOnError)
	rate := fs.Int("rate", 500, "rate")
	if err := ParseEnv(fs, nil, getenv, Prefixed("loadgen")); err != nil {
		t.Fatal(err)
	}
	if *rate != 7 {
		t.Fatalf("-rate %d, want 7 from TELLER_LOADGEN_RATE", *rate)
	}
}

func TestParseErrorsAreUsageErrors(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(new(bytes.Buffer))
	fs.Int("n", 1, "n")
	for _, args := range [][]string{{"-n", "x"}, {"-nope"}} {
		if err := Parse(fs, args, func(string) string { return "" }); !errors.Is(err, ErrUsage) {
			t.Errorf("%v: %v is not ErrUsage", args, err)
		}
	}
	if err := Parse(fs, []string{"-help"}, func(string) string { return "" }); !errors.Is(err, flag.ErrHelp) || errors.Is(err, ErrUsage) {
		t.Errorf("-help: %v", err)
	}
	inner := errors.New("-x: bad")
	if err := Invalid(inner); !errors.Is(err, ErrUsage) || !errors.Is(err, inner) || err.Error() != "-x: bad" {
		t.Errorf("Invalid: %v", err)
	}
	if Invalid(nil) != nil {
		t.Error("Invalid(nil) is not nil")
	}
}

func TestPrintEffectiveHidesSecrets(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.String("clickhouse-password", "", "")
	fs.String("cookie-secret", "", "")
	fs.String("session-secret", "", "")
	fs.String("listen", ":8081", "")
	if err := Parse(fs, []string{"-cookie-secret", "s3cr3t-value"}, func(k string) string {
		return map[string]string{"TELLER_CLICKHOUSE_PASSWORD": "pw-value"}[k]
	}); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	PrintEffective(&out, fs, Service)
	for _, want := range []string{"clickhouse-password = (set)", "cookie-secret = (set)", "session-secret = (empty) (default)",
		`listen = ":8081" (default)`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "s3cr3t") || strings.Contains(out.String(), "pw-value") {
		t.Errorf("a secret was printed:\n%s", out.String())
	}
}

func TestCheckHostPort(t *testing.T) {
	tests := []struct {
		addr   string
		listen bool
		ok     bool
	}{
		{"127.0.0.1:9000", false, true},
		{"clickhouse:9000", false, true},
		{"[::1]:9000", false, true},
		{":8081", true, true},
		{"127.0.0.1:0", true, true},
		{":9000", false, false},
		{"localhost", false, false},
		{"8081", true, false},
		{"host:http", false, false},
		{"host:70000", false, false},
		{"", true, false},
	}
	for _, tt := range tests {
		err := CheckHostPort("clickhouse-addr", tt.addr, tt.listen)
		if (err == nil) != tt.ok {
			t.Errorf("%q listen=%v: %v", tt.addr, tt.listen, err)
		}
		if err != nil && !strings.Contains(err.Error(), "-clickhouse-addr") {
			t.Errorf("%q: error %q does not name the flag", tt.addr, err)
		}
	}
}
