package loadgen_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// statusKB reads a field of /proc/<pid>/status in kB (VmHWM: peak resident
// memory, VmRSS: current), 0 where it cannot be read.
func statusKB(pid, field string) int64 {
	b, err := os.ReadFile(filepath.Join("/proc", pid, "status"))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// clickhousePID finds the clickhouse-server started with its data in dir
// (internal/chlocal passes a config file under it), "" if none.
func clickhousePID(dir string) string {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		cmd, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && strings.Contains(string(cmd), "clickhouse") && strings.Contains(string(cmd), dir) {
			return e.Name()
		}
	}
	return ""
}
