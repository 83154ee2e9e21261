package pipebench

import (
	"slices"
	"testing"
	"time"
)

// The CPU window is cut at the first sample taken at or after its end.
func TestCPUSeriesAt(t *testing.T) {
	t0 := time.Unix(1_764_000_000, 0)
	s := cpuSeries{times: []time.Time{t0, t0.Add(250 * time.Millisecond), t0.Add(500 * time.Millisecond)},
		cpu: [][]time.Duration{{1}, {2}, {3}}}
	for _, tc := range []struct {
		at   time.Time
		want []time.Duration
	}{
		{t0.Add(-time.Second), []time.Duration{1}},
		{t0, []time.Duration{1}},
		{t0.Add(time.Millisecond), []time.Duration{2}},
		{t0.Add(500 * time.Millisecond), []time.Duration{3}},
		{t0.Add(501 * time.Millisecond), nil},
	} {
		if got := s.at(tc.at); !slices.Equal(got, tc.want) {
			t.Errorf("at(t0%+v) = %v, want %v", tc.at.Sub(t0), got, tc.want)
		}
	}
}
