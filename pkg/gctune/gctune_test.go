package gctune

import (
	"flag"
	"os"
	"runtime/debug"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{name: "defaults", args: nil},
		{name: "lowest target and a limit", args: []string{"-gc-percent=10", "-memory-limit-mib=1"}},
		{name: "target too low", args: []string{"-gc-percent=0"}, want: []string{"-gc-percent must be >= 10, got 0"}},
		{name: "both wrong", args: []string{"-gc-percent=-1", "-memory-limit-mib=-2"},
			want: []string{"-gc-percent must be >= 10, got -1", "-memory-limit-mib must be >= 0 (0: a share of the memory available), got -2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c Config
			fs := flag.NewFlagSet("t", flag.ContinueOnError)
			c.RegisterFlags(fs, 400)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			var got []string
			if err := c.Validate(); err != nil {
				got = strings.Split(err.Error(), "\n")
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Fatalf("Validate: %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCgroupLimit(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"max\n", 0, false},                 // v2: no limit
		{"9223372036854771712\n", 0, false}, // v1: no limit
		{"2147483648\n", 2147483648, true},  // 2 GiB
		{"", 0, false}, {"0\n", 0, false}, {"junk", 0, false},
	}
	for _, tt := range tests {
		got, ok := cgroupLimit([]byte(tt.in))
		if got != tt.want || ok != tt.ok {
			t.Errorf("cgroupLimit(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestMemTotal(t *testing.T) {
	meminfo := "MemTotal:       24683520 kB\nMemFree:        16745000 kB\n"
	if got := memTotal([]byte(meminfo)); got != 24683520<<10 {
		t.Errorf("memTotal = %d, want %d", got, int64(24683520)<<10)
	}
	if got := memTotal([]byte("MemFree: 5 kB\n")); got != 0 {
		t.Errorf("memTotal without MemTotal = %d, want 0", got)
	}
}

// Apply sets what the environment does not: the target and the limit, or
// the derived limit when none is given; GOGC and GOMEMLIMIT win.
func TestApply(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	// t.Setenv cannot unset; LookupEnv sees an empty value as set, so the
	// environment wins here: nothing changes.
	debug.SetGCPercent(100)
	got := Apply(Config{Percent: 300, MemoryLimitMiB: 64}, nil)
	if got.Percent != -1 || got.MemoryLimit != -1 || debug.SetGCPercent(100) != 100 {
		t.Errorf("with GOGC and GOMEMLIMIT set, Apply = %+v and changed the target", got)
	}
}

func TestApplyWithoutEnvironment(t *testing.T) {
	for _, name := range []string{"GOGC", "GOMEMLIMIT"} {
		if v, ok := os.LookupEnv(name); ok {
			os.Unsetenv(name)
			defer os.Setenv(name, v)
		}
	}
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	got := Apply(Config{Percent: 300, MemoryLimitMiB: 64}, nil)
	if got != (Applied{Percent: 300, MemoryLimit: 64 << 20}) {
		t.Errorf("Apply = %+v", got)
	}
	if p, l := debug.SetGCPercent(300), debug.SetMemoryLimit(-1); p != 300 || l != 64<<20 {
		t.Errorf("process runs with GOGC %d and a limit of %d", p, l)
	}
	// No limit given: the derived one, on Linux a share of the machine's
	// memory or of the cgroup's limit.
	got = Apply(Config{Percent: 300}, nil)
	if want := DefaultLimit(); got.MemoryLimit != want || want <= 0 {
		t.Errorf("Apply without a limit set %d, DefaultLimit is %d", got.MemoryLimit, want)
	}
}
