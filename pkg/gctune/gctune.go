// Package gctune owns the garbage collector's settings of Teller's
// processes: the GOGC target a service runs with and, beside a raised
// target, a soft memory limit (runtime/debug.SetMemoryLimit), so that the
// headroom a high target allows never takes the heap past what the process
// may use: near the limit the collector runs as often as it must, whatever
// the target. The operator's GOGC and GOMEMLIMIT environment variables win
// over both. It is process wide: a service's run function applies it once,
// never a library.
package gctune

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

const (
	flagPercent     = "gc-percent"
	flagMemoryLimit = "memory-limit-mib"
)

// Config is a process's garbage-collector settings (flags).
type Config struct {
	// Percent is the collector's target, as GOGC: the heap may grow this
	// many percent over the live heap before a collection. It must be
	// at least 10; GOGC in the environment wins.
	Percent int
	// MemoryLimitMiB is the soft memory limit, MiB; 0 (the default) means
	// DefaultLimit: a share of what the process may use. It must not be
	// negative; GOMEMLIMIT in the environment wins (GOMEMLIMIT=off: none).
	MemoryLimitMiB int64
}

// RegisterFlags adds -gc-percent (default percent, the service's own
// choice) and -memory-limit-mib.
func (c *Config) RegisterFlags(fs *flag.FlagSet, percent int) {
	fs.IntVar(&c.Percent, flagPercent, percent, "garbage collector target, as GOGC (the GOGC variable wins)")
	fs.Int64Var(&c.MemoryLimitMiB, flagMemoryLimit, 0,
		"soft memory limit of the process, MiB; 0: 3/4 of its cgroup's memory limit, else half the machine's memory (the GOMEMLIMIT variable wins)")
}

// Validate names the flag of each value it refuses; it does no I/O.
func (c Config) Validate() error {
	var errs []error
	if c.Percent < 10 {
		errs = append(errs, fmt.Errorf("-%s must be >= 10, got %d", flagPercent, c.Percent))
	}
	if c.MemoryLimitMiB < 0 {
		errs = append(errs, fmt.Errorf("-%s must be >= 0 (0: a share of the memory available), got %d", flagMemoryLimit, c.MemoryLimitMiB))
	}
	return errors.Join(errs...)
}

// Applied is what Apply set: -1 where the environment's variable won or
// no limit could be derived.
type Applied struct {
	Percent     int
	MemoryLimit int64 // bytes
}

// Apply sets c for the process, except what GOGC or GOMEMLIMIT already set,
// and logs the outcome.
func Apply(c Config, log *slog.Logger) Applied {
	out := Applied{Percent: -1, MemoryLimit: -1}
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(c.Percent)
		out.Percent = c.Percent
	}
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
		limit := c.MemoryLimitMiB << 20
		if limit == 0 {
			limit = DefaultLimit()
		}
		if limit > 0 {
			debug.SetMemoryLimit(limit)
			out.MemoryLimit = limit
		}
	}
	if log != nil {
		log.Info("garbage collector", "gc_percent", out.Percent, "memory_limit_bytes", out.MemoryLimit,
			"note", "-1: set by GOGC/GOMEMLIMIT, or no memory limit known")
	}
	return out
}

// SetPercent sets only the target, unless GOGC is set: for a process whose
// live heap is small, where the target alone bounds memory.
func SetPercent(percent int) {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(percent)
	}
}

// DefaultLimit is the memory limit of a process given none: 3/4 of its
// cgroup's limit (a container sized for it: the rest for the runtime's own
// memory and the stacks), else half the machine's memory (which a
// sessionizer shares with ClickHouse or Kafka more often than not); 0 when
// neither is known.
func DefaultLimit() int64 {
	if b, err := os.ReadFile("/sys/fs/cgroup/memory.max"); err == nil {
		if n, ok := cgroupLimit(b); ok {
			return n / 4 * 3
		}
	}
	if b, err := os.ReadFile("/sys/fs/cgroup/memory/memory.limit_in_bytes"); err == nil {
		if n, ok := cgroupLimit(b); ok {
			return n / 4 * 3
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		return memTotal(b) / 2
	}
	return 0
}

// cgroupLimit parses a cgroup memory limit file: "max" (v2) or a value
// near MaxInt64 (v1) mean none.
func cgroupLimit(b []byte) (int64, bool) {
	s := strings.TrimSpace(string(b))
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n >= 1<<60 {
		return 0, false
	}
	return n, true
}

// memTotal is /proc/meminfo's MemTotal in bytes, 0 if absent.
func memTotal(b []byte) int64 {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "MemTotal:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			if err == nil && kb > 0 {
				return kb << 10
			}
		}
	}
	return 0
}
