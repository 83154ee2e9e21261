package pipebench

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// procCPU is a process's user plus system CPU time so far, from
// /proc/<pid>/stat (fields 14 and 15, clock ticks of 10 ms: USER_HZ = 100).
func procCPU(pid int) (time.Duration, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("read CPU time of process %d: %w", pid, err)
	}
	// The command name is parenthesised and may hold spaces: count fields
	// after its closing parenthesis (utime and stime are the 12th and 13th).
	i := bytes.LastIndexByte(stat, ')')
	f := strings.Fields(string(stat[i+1:]))
	if i < 0 || len(f) < 13 {
		return 0, fmt.Errorf("process %d: unexpected /proc stat %q", pid, stat)
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("process %d: unexpected /proc stat %q", pid, stat)
	}
	return time.Duration(ut+st) * 10 * time.Millisecond, nil
}

// procMemKB reads the peak (VmHWM) and current (VmRSS) resident memory of
// a process in kB.
func procMemKB(pid int) (peak, now int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, fmt.Errorf("read memory of process %d: %w", pid, err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		name, v, ok := strings.Cut(line, ":")
		if !ok || (name != "VmHWM" && name != "VmRSS") {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("process %d: %s %q: %w", pid, name, v, err)
		}
		if name == "VmHWM" {
			peak = n
		} else {
			now = n
		}
	}
	return peak, now, nil
}

// LoadAverage is the machine's 1-minute load average, -1 if unknown: every
// benchmark records it beside its figures (the machine is shared).
func LoadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	f, err := strconv.ParseFloat(strings.Fields(string(b))[0], 64)
	if err != nil {
		return -1
	}
	return f
}
