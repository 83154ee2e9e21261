package sessionizer

import (
	"testing"
	"time"
)

// ClickHouse counts as failing from the start of the oldest call of an
// unbroken run of failures (a hung call counts from when it was sent), and
// any success ends the run.
func TestClickHouseHealthCountsFromTheFirstFailingCall(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	type call struct {
		ok    bool
		start int
	}
	tests := []struct {
		name  string
		calls []call
		now   int
		want  time.Duration
	}{
		{"healthy", []call{{true, 0}, {true, 5}}, 10, 0},
		{"one failure", []call{{false, 3}}, 10, 7 * time.Second},
		{"a run of failures counts from the first", []call{{false, 3}, {false, 6}, {false, 9}}, 10, 7 * time.Second},
		{"a hung call returning late counts from its start", []call{{false, 6}, {false, 1}}, 10, 9 * time.Second},
		{"a success ends the run", []call{{false, 1}, {true, 4}}, 10, 0},
		{"a new run after a success", []call{{false, 1}, {true, 4}, {false, 8}}, 10, 2 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h clickhouseHealth
			for _, c := range tt.calls {
				if c.ok {
					h.succeeded()
				} else {
					h.failed(at(c.start))
				}
			}
			if got := h.failingFor(at(tt.now)); got != tt.want {
				t.Fatalf("failing for %s, want %s", got, tt.want)
			}
		})
	}
}
