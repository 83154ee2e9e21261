package collector

import (
	"net/http"
	"testing"
	"time"
)

// The cached Date is what net/http writes for the same instant
// (http.TimeFormat in UTC), formatted again when the second changes, and its
// value slice cannot be appended to in place (it is shared).
func TestDateCacheIsNetHTTPsDate(t *testing.T) {
	var d dateCache
	base := time.Date(2026, 12, 1, 23, 59, 59, 0, time.FixedZone("CET", 3600))
	for _, tc := range []struct {
		name string
		at   time.Time
	}{
		{"first", base},
		{"same second", base.Add(999 * time.Millisecond)},
		{"next second, next day in UTC", base.Add(time.Second)},
		{"an earlier second again", base.Add(-time.Hour)},
		{"a leap day", time.Date(2028, 2, 29, 12, 0, 0, 5, time.UTC)},
	} {
		got := d.header(tc.at)
		want := tc.at.UTC().Format(http.TimeFormat)
		if len(got) != 1 || cap(got) != 1 || got[0] != want {
			t.Errorf("%s: header(%v) = %q (cap %d), want [%q] with capacity 1", tc.name, tc.at, got, cap(got), want)
		}
	}
	a, b := d.header(base), d.header(base.Add(10*time.Millisecond))
	if &a[0] != &b[0] {
		t.Error("two answers of one second formatted Date twice")
	}
}
