package report

import (
	"strings"
	"testing"
	"time"
)

// TestFinalSlices: the FINAL slices of a range cover its widened
// session_date range (the UTC days of From and To, one more on each side)
// exactly once, in order, without gaps or overlap, balanced by day count;
// by default a range shorter than minSplitDays is read in one stream.
func TestFinalSlices(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	date := func(s string) time.Time {
		d, err := time.Parse(time.DateOnly, s)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	local := func(s string, days int) Query {
		d := date(s)
		from := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, berlin)
		return Query{Site: "s", From: from, To: time.Date(d.Year(), d.Month(), d.Day()+days, 0, 0, 0, 0, berlin)}
	}
	tests := []struct {
		name        string
		q           Query
		streams     int    // 0: DefaultFinalStreams
		first, last string // the widened range
		want        int    // slices
	}{
		{"1 day", local("2026-11-10", 1), 0, "2026-11-08", "2026-11-11", 1},
		{"1 day in 2 streams", local("2026-11-10", 1), 2, "2026-11-08", "2026-11-11", 2},
		{"1 day, 8 streams asked: one a day", local("2026-11-10", 1), 8, "2026-11-08", "2026-11-11", 4},
		{"2 days", local("2026-11-10", 2), 0, "2026-11-08", "2026-11-12", 1},
		{"2 days in 2 streams", local("2026-11-10", 2), 2, "2026-11-08", "2026-11-12", 2},
		{"3 days in 2 streams", local("2026-11-10", 3), 2, "2026-11-08", "2026-11-13", 2},
		{"13 days", local("2026-11-10", 13), 0, "2026-11-08", "2026-11-23", 1},
		{"14 days", local("2026-11-10", 14), 0, "2026-11-08", "2026-11-24", 2},
		{"30 days", local("2026-11-01", 30), 0, "2026-10-30", "2026-12-01", 2},
		{"31 days", local("2026-10-01", 31), 0, "2026-09-29", "2026-11-01", 2},
		{"90 days", local("2026-09-02", 90), 0, "2026-08-31", "2026-12-01", 2},
		{"across a year end", local("2026-12-20", 30), 0, "2026-12-18", "2027-01-19", 2},
		{"across February, leap year", local("2028-02-15", 30), 0, "2028-02-13", "2028-03-16", 2},
		{"across a DST change", local("2026-10-20", 14), 0, "2026-10-18", "2026-11-03", 2},
		{"30 days in 1 stream", local("2026-11-01", 30), 1, "2026-10-30", "2026-12-01", 1},
		{"30 days in 3 streams", local("2026-11-01", 30), 3, "2026-10-30", "2026-12-01", 3},
		{"30 days in 8 streams", local("2026-11-01", 30), 8, "2026-10-30", "2026-12-01", 8},
		{"UTC, not midnight", Query{Site: "s", From: date("2026-11-30").Add(23 * time.Hour),
			To: date("2026-12-03").Add(time.Hour)}, 2, "2026-11-29", "2026-12-04", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := tt.q.WithFinalStreams(tt.streams)
			slices := q.finalSlices()
			if len(slices) != tt.want {
				t.Fatalf("%d slices %v, want %d", len(slices), slices, tt.want)
			}
			if got := slices[0].first; !got.Equal(date(tt.first)) {
				t.Errorf("first day %s, want %s", day(got), tt.first)
			}
			if got := slices[len(slices)-1].last; !got.Equal(date(tt.last)) {
				t.Errorf("last day %s, want %s", day(got), tt.last)
			}
			// Every day of the widened range in exactly one slice.
			seen := map[string]int{}
			lo, hi := slices[0].days(), slices[0].days()
			for i, s := range slices {
				if s.last.Before(s.first) {
					t.Fatalf("slice %d is empty: %s..%s", i, day(s.first), day(s.last))
				}
				if i > 0 && !s.first.Equal(slices[i-1].last.AddDate(0, 0, 1)) {
					t.Errorf("slice %d starts on %s, not the day after %s", i, day(s.first), day(slices[i-1].last))
				}
				for d := s.first; !d.After(s.last); d = d.AddDate(0, 0, 1) {
					seen[day(d)]++
				}
				lo, hi = min(lo, s.days()), max(hi, s.days())
			}
			for d := date(tt.first); !d.After(date(tt.last)); d = d.AddDate(0, 0, 1) {
				if seen[day(d)] != 1 {
					t.Errorf("%s is in %d slices, want 1", day(d), seen[day(d)])
				}
				delete(seen, day(d))
			}
			if len(seen) > 0 {
				t.Errorf("days outside the widened range: %v", seen)
			}
			if hi-lo > 1 {
				t.Errorf("slices of %d to %d days: not balanced", lo, hi)
			}
		})
	}
}

// TestSplitRepeatsEveryCondition: each FINAL slice carries the range, the
// extra condition and the event filters with their arguments, and the
// session-dimension filters stay outside, once.
func TestSplitRepeatsEveryCondition(t *testing.T) {
	q := Query{Site: "s", From: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC),
		Filters: []Filter{{Dimension: Pages, Op: Contains, Value: "/blog"}, {Dimension: Channels, Op: Is, Value: "direct"}}}
	for _, n := range []int{1, 2, 3} {
		qn := q.WithFinalStreams(n)
		sql, args := qn.sessionsWhere("visitor_id = toUUID(?)", []any{"v"}, colVisitor)
		for what, want := range map[string]int{
			"FROM session_versions FINAL": n,
			"visitor_id = toUUID(?)":      n,
			"FROM events WHERE":           n,
			"UNION ALL":                   n - 1,
			"is_bot = 0":                  1,
			"channel = ?":                 1,
		} {
			if got := strings.Count(sql, what); got != want {
				t.Errorf("%d streams: %q %d times, want %d:\n%s", n, what, got, want, sql)
			}
		}
		if got, want := strings.Count(sql, "?"), len(args); got != want {
			t.Errorf("%d streams: %d placeholders, %d arguments", n, got, want)
		}
	}
}
