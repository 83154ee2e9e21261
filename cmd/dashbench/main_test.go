package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"testing"
)

// TestBadUsageIsRefusedBeforeAnyIO: every malformed command line is a usage
// error, found before a server is started or a file read.
func TestBadUsageIsRefusedBeforeAnyIO(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"nope"},
		{"fill"}, // neither -data-dir nor -clickhouse-addr
		{"fill", "-events", "ten"},
		{"fill", "-data-dir", "/nonexistent", "-end", "2026-13-01"},
		{"fill", "-data-dir", "/nonexistent", "extra"},
		{"fill", "-data-dir", "/nonexistent", "-events", "0"},
		{"fill", "-data-dir", "/nonexistent", "-duplicate-share", "0.9"},
		{"bench", "-days", "x"},
		{"bench", "-concurrency", "0"},
		{"bench", "-rounds", "0"},
		{"sql", "-days", "30", "-queries", "/nonexistent/queries.sql"},
		{"serve", "-clickhouse-addr", "127.0.0.1:1"},
	} {
		var out, errOut bytes.Buffer
		err := run(context.Background(), args, func(string) string { return "" }, &out, &errOut)
		if !errors.Is(err, errUsage) {
			t.Errorf("%q: err = %v, want a usage error", args, err)
		}
	}
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"bench", "-help"}, func(string) string { return "" }, &out, &errOut); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-help: err = %v", err)
	}
	// The environment fills flags (TELLER_ROUNDS=0 is refused like -rounds 0).
	env := func(k string) string {
		if k == "TELLER_ROUNDS" {
			return "0"
		}
		return ""
	}
	if err := run(context.Background(), []string{"bench"}, env, &out, &errOut); !errors.Is(err, errUsage) {
		t.Errorf("TELLER_ROUNDS=0: err = %v, want a usage error", err)
	}
}
