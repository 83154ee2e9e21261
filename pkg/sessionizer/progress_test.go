package sessionizer

import (
	"strings"
	"testing"
	"time"
)

// Lag is what Kafka holds past the furthest of the rows written and the
// checkpoint; checkpoint age is how long messages have waited uncovered by
// a checkpoint: since the checkpoint, the assignment, or the last moment
// the checkpoint covered the whole partition.
func TestProgressMeasuresLagAndCheckpointAge(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	type step struct {
		do          func(p *progress)
		first, end  int64
		now         int
		lag         int64
		ageS        int
		staleAfterS int // stale reported beyond this many seconds; 0: not checked
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"a new partition without checkpoint is behind by its whole log", []step{
			{do: func(p *progress) { p.assigned(0, -1, at(0)) }, first: 100, end: 150, now: 5, lag: 50, ageS: 5},
		}},
		{"rows written shrink the lag, not the checkpoint age", []step{
			{do: func(p *progress) { p.assigned(0, -1, at(0)); p.wrote(0, 120); p.wrote(0, 110) }, first: 100, end: 150, now: 5, lag: 29, ageS: 5},
		}},
		{"a checkpoint covering the end: nothing behind, age 0", []step{
			{do: func(p *progress) { p.assigned(0, 40, at(0)); p.saved(0, 150, at(3)) }, first: 0, end: 150, now: 9, lag: 0, ageS: 0},
		}},
		{"an idle, covered partition ages only once a message arrives", []step{
			{do: func(p *progress) { p.assigned(0, 150, at(0)) }, first: 0, end: 150, now: 600, lag: 0, ageS: 0},
			{first: 0, end: 151, now: 602, lag: 1, ageS: 2},
			{do: func(p *progress) { p.wrote(0, 150) }, first: 0, end: 151, now: 603, lag: 0, ageS: 3},
			{do: func(p *progress) { p.saved(0, 151, at(604)) }, first: 0, end: 151, now: 605, lag: 0, ageS: 0},
		}},
		{"a checkpoint behind a steady stream ages from the checkpoint", []step{
			{do: func(p *progress) { p.assigned(0, 0, at(0)); p.wrote(0, 499); p.saved(0, 400, at(60)) }, first: 0, end: 520, now: 100, lag: 20, ageS: 40,
				staleAfterS: 39},
		}},
		{"a stuck partition: lag and age grow", []step{
			{do: func(p *progress) { p.assigned(0, 10, at(0)) }, first: 0, end: 20, now: 30, lag: 10, ageS: 30},
			{first: 0, end: 90, now: 400, lag: 80, ageS: 400, staleAfterS: 300},
		}},
		{"retention passed the checkpoint: lag from the log's start", []step{
			{do: func(p *progress) { p.assigned(0, 10, at(0)) }, first: 50, end: 80, now: 1, lag: 30, ageS: 1},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newProgress()
			for i, st := range tt.steps {
				if st.do != nil {
					st.do(p)
				}
				lag, age := p.measure(0, st.first, st.end, at(st.now))
				if lag != st.lag || age != time.Duration(st.ageS)*time.Second {
					t.Fatalf("step %d: lag %d, age %s; want %d, %ds", i, lag, age, st.lag, st.ageS)
				}
				if st.staleAfterS > 0 {
					if got := p.stale(time.Duration(st.staleAfterS) * time.Second); len(got) != 1 || !strings.HasPrefix(got[0], "partition 0: ") {
						t.Errorf("step %d: stale beyond %ds = %q, want partition 0", i, st.staleAfterS, got)
					}
					if got := p.stale(time.Duration(st.ageS) * time.Second); len(got) != 0 {
						t.Errorf("step %d: stale beyond its own age = %q, want none", i, got)
					}
				}
			}
		})
	}
}

// Released partitions are forgotten, kept ones stay.
func TestProgressRelease(t *testing.T) {
	p := newProgress()
	for part := int32(0); part < 4; part++ {
		p.assigned(part, -1, time.Now())
	}
	got := p.release(map[int]bool{1: true, 3: true})
	if len(got) != 2 || len(p.parts) != 2 || p.parts[1] == nil || p.parts[3] == nil {
		t.Fatalf("released %v, kept %v; want 0 and 2 released, 1 and 3 kept", got, p.parts)
	}
}
