package main

import (
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/teller-analytics/teller/internal/testenv"
	"github.com/teller-analytics/teller/pkg/app"
)

// A bad flag is a usage error (exit status 2) found before any I/O: the
// ClickHouse and Kafka addresses given are listeners that no one may reach.
func TestResessionizeBadFlagsExit2BeforeIO(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	reached := make(chan struct{}, 1)
	go func() {
		if c, err := ln.Accept(); err == nil {
			c.Close()
			reached <- struct{}{}
		}
	}()
	addr := ln.Addr().String()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-session-gap=0"}, "-session-gap must be > 0"},
		{[]string{"-session-max-length=-1h"}, "-session-max-length must be > 0"},
		{[]string{"-allowed-disorder=-1s"}, "-allowed-disorder must be >= 0"},
		{[]string{"-kafka-group="}, "-kafka-group"},
		{[]string{"-kafka-topic="}, "-kafka-topic"},
		{[]string{"-staging-database=bad-name"}, "-staging-database"},
		{[]string{"-session-gap=soon"}, "invalid value"},
		{[]string{"-rollback"}, "-rollback needs -staging-database"},
	} {
		args := append([]string{"resessionize", "-clickhouse-addr=" + addr, "-kafka-brokers=" + addr}, tc.args...)
		var stderr strings.Builder
		err := run(context.Background(), args, func(string) string { return "" }, io.Discard, &stderr)
		if code := app.ExitCode(err); code != 2 {
			t.Errorf("%v: exit %d (%v), want 2", tc.args, code, err)
			continue
		}
		if msg := err.Error() + stderr.String(); !strings.Contains(msg, tc.want) {
			t.Errorf("%v: %q does not say %q", tc.args, msg, tc.want)
		}
	}
	select {
	case <-reached:
		t.Fatal("a command with a bad flag connected before refusing it")
	case <-time.After(100 * time.Millisecond):
	}
}

// The command end to end on real servers: a dry run and a switch of an
// (empty) database, then its rollback, with the flags a person would give.
func TestResessionizeCommand(t *testing.T) {
	srv := testenv.ClickHouse(t)
	brokers := testenv.Kafka(t, "events", 1)
	env := map[string]string{"TELLER_CLICKHOUSE_ADDR": srv.Addr(), "TELLER_CLICKHOUSE_DATABASE": "resess",
		"TELLER_KAFKA_BROKERS": strings.Join(brokers, ","), "TELLER_KAFKA_TOPIC": "events", "TELLER_SESSION_GAP": "15m"}
	getenv := func(k string) string { return env[k] }
	ctx := context.Background()
	if err := run(ctx, []string{"migrate"}, getenv, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := run(ctx, []string{"resessionize", "-dry-run", "-split-at-midnight"}, getenv, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"-session-gap=15m0s", "-split-at-midnight=true", "Replayed 0 events", "Dry run: nothing was switched"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("dry run output lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if err := run(ctx, []string{"resessionize", "-staging-database", "resess_old"}, getenv, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "teller resessionize -rollback -staging-database resess_old") {
		t.Errorf("switch output lacks the rollback command:\n%s", out.String())
	}
	out.Reset()
	if err := run(ctx, []string{"resessionize", "-rollback", "-staging-database", "resess_old"}, getenv, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "Swapped back") {
		t.Errorf("rollback output:\n%s", out.String())
	}
}
