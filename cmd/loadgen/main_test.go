package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestFlagsHelpAndUsageErrors(t *testing.T) {
	env := func(vars map[string]string) func(string) string { return func(k string) string { return vars[k] } }
	var out, errOut strings.Builder
	err := run(context.Background(), []string{"-help"}, env(nil), &out, &errOut)
	if exitCode(&errOut, err) != 0 || !strings.Contains(errOut.String(), "TELLER_LOADGEN_VERIFY_TIMEOUT") {
		t.Fatalf("-help: %v\n%s", err, errOut.String())
	}
	// The environment fills flags not given: no end to the run is a usage error.
	err = run(context.Background(), nil, env(map[string]string{"TELLER_LOADGEN_DURATION": "0"}), &out, &errOut)
	if code := exitCode(&errOut, err); code != 2 || !strings.Contains(err.Error(), "-duration or -requests") {
		t.Fatalf("TELLER_LOADGEN_DURATION=0 without -requests: exit %d, %v", code, err)
	}
	err = run(context.Background(), []string{"-rate", "fast"}, env(nil), &out, &errOut)
	if code := exitCode(&errOut, err); code != 2 {
		t.Fatalf("a bad flag: exit %d, %v", code, err)
	}
	// A collector that is not there: every request fails, exit 1.
	err = run(context.Background(), []string{"-collector", "http://127.0.0.1:1", "-requests", "3", "-duration", "0", "-progress", "0"},
		env(nil), &out, &errOut)
	if code := exitCode(&errOut, err); code != 1 || !strings.Contains(out.String(), "no answer 3") {
		t.Fatalf("no collector: exit %d, %v\n%s", code, err, out.String())
	}
}

// The load generator's variables carry its own prefix: TELLER_LOADGEN_RATE,
// never a TELLER_RATE that says nothing (and that it ignores).
func TestVariablesHaveTheLoadgenPrefix(t *testing.T) {
	var errOut strings.Builder
	_ = run(context.Background(), []string{"-help"}, func(string) string { return "" }, &strings.Builder{}, &errOut)
	vars := regexp.MustCompile(`env (TELLER_[A-Z_]+)`).FindAllStringSubmatch(errOut.String(), -1)
	if len(vars) < 10 {
		t.Fatalf("-help lists %d variables:\n%s", len(vars), errOut.String())
	}
	for _, m := range vars {
		if !strings.HasPrefix(m[1], "TELLER_LOADGEN_") {
			t.Errorf("loadgen reads %s", m[1])
		}
	}
	// TELLER_RATE is not read: "fast" would be a usage error if it were.
	err := run(context.Background(), []string{"-collector", "http://127.0.0.1:1", "-requests", "1", "-duration", "0", "-progress", "0"},
		func(k string) string { return map[string]string{"TELLER_RATE": "fast"}[k] }, &strings.Builder{}, &errOut)
	if code := exitCode(&errOut, err); code == 2 {
		t.Fatalf("TELLER_RATE was read: %v", err)
	}
}

// -history turns the run into an import: it needs the site's import token,
// and its sizes read as people write them (90d, 10M).
func TestHistoryFlags(t *testing.T) {
	none := func(string) string { return "" }
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-history", "90d", "-events", "10M"}, "-import-token is required"},
		{[]string{"-history", "90x", "-events", "1"}, "want a duration like 90d"},
		{[]string{"-history", "7d", "-events", "lots"}, "want a count like 10M"},
		{[]string{"-history", "7d", "-import-token", "t"}, "-events is required"},
	} {
		var errOut strings.Builder
		err := run(context.Background(), tc.args, none, &strings.Builder{}, &errOut)
		if code := exitCode(&errOut, err); code != 2 || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: exit %d, %v; want 2 naming %q", tc.args, code, err, tc.want)
		}
	}
}

// -cpuprofile (or TELLER_LOADGEN_CPUPROFILE) writes a profile of the run;
// bad flags are reported before the file is made.
func TestCPUProfile(t *testing.T) {
	dir := t.TempDir()
	prof := filepath.Join(dir, "cpu.prof")
	var errOut strings.Builder
	err := run(context.Background(), []string{"-collector", "http://127.0.0.1:1", "-requests", "2", "-duration", "0", "-progress", "0", "-rate", "-1"},
		func(k string) string { return map[string]string{"TELLER_LOADGEN_CPUPROFILE": prof}[k] }, &strings.Builder{}, &errOut)
	if code := exitCode(&errOut, err); code != 2 {
		t.Fatalf("a negative -rate: exit %d, %v", code, err)
	}
	if _, err := os.Stat(prof); !os.IsNotExist(err) {
		t.Fatalf("a run refused for its flags made the profile file: %v", err)
	}
	err = run(context.Background(), []string{"-collector", "http://127.0.0.1:1", "-requests", "2", "-duration", "0", "-progress", "0"},
		func(k string) string { return map[string]string{"TELLER_LOADGEN_CPUPROFILE": prof}[k] }, &strings.Builder{}, &errOut)
	if code := exitCode(&errOut, err); code != 1 {
		t.Fatalf("no collector: exit %d, %v", code, err)
	}
	// A pprof profile is a gzipped protocol buffer.
	if b, err := os.ReadFile(prof); err != nil || len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
		t.Fatalf("the profile: %d bytes, %v", len(b), err)
	}
}
