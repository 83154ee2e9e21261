package config

import (
	"bytes"
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
