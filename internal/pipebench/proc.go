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

// cpuSampler reads the CPU time of a set of processes every interval, so
// the figures can be cut at a moment known only afterwards.
type cpuSampler struct {
	stopc chan struct{}
	done  chan cpuSeries
}

// cpuSeries is the samples in time order: at[i] and cpu[i][process].
type cpuSeries struct {
	times []time.Time
	cpu   [][]time.Duration
}

func sampleCPU(pids []int, every time.Duration) *cpuSampler {
	s := &cpuSampler{stopc: make(chan struct{}), done: make(chan cpuSeries, 1)}
	go func() {
		var series cpuSeries
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			now := time.Now()
			row := make([]time.Duration, len(pids))
			ok := true
			for i, pid := range pids {
				var err error
				if row[i], err = procCPU(pid); err != nil {
					ok = false
				}
			}
			if ok {
				series.times, series.cpu = append(series.times, now), append(series.cpu, row)
			}
			select {
			case <-s.stopc:
				s.done <- series
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *cpuSampler) stop() cpuSeries {
	close(s.stopc)
	return <-s.done
}

// at is the first sample taken at or after t, nil when none was.
func (s cpuSeries) at(t time.Time) []time.Duration {
	for i, at := range s.times {
		if !at.Before(t) {
			return s.cpu[i]
		}
	}
	return nil
}
