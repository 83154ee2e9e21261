package loadgen_test

import (
	"testing"
	"time"

	"github.com/teller-analytics/teller/internal/loadgen"
)

func TestParseSpanAndCount(t *testing.T) {
	for in, want := range map[string]time.Duration{"90d": 90 * 24 * time.Hour, "36h": 36 * time.Hour, "1d12h": 36 * time.Hour, "30m": 30 * time.Minute} {
		if got, err := loadgen.ParseSpan(in); err != nil || got != want {
			t.Errorf("ParseSpan(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for in, want := range map[string]int64{"10M": 10_000_000, "250k": 250_000, "1.5M": 1_500_000, "5000": 5000} {
		if got, err := loadgen.ParseCount(in); err != nil || got != want {
			t.Errorf("ParseCount(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"d", "x", "-1"} {
		if _, err := loadgen.ParseCount(bad); err == nil {
			t.Errorf("ParseCount(%q) accepted", bad)
		}
	}
	if _, err := loadgen.ParseSpan("ninety days"); err == nil {
		t.Error("ParseSpan accepted words")
	}
}
