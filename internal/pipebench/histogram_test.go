package pipebench

import (
	"math"
	"strings"
	"testing"
)

const scrape = `# HELP teller_sessionizer_event_freshness_seconds Per event row ...
# TYPE teller_sessionizer_event_freshness_seconds histogram
teller_sessionizer_event_freshness_seconds_bucket{le="0.5"} 10
teller_sessionizer_event_freshness_seconds_bucket{le="1"} 60
teller_sessionizer_event_freshness_seconds_bucket{le="2"} 99
teller_sessionizer_event_freshness_seconds_bucket{le="+Inf"} 100
teller_sessionizer_event_freshness_seconds_sum 91.5
teller_sessionizer_event_freshness_seconds_count 100
teller_sessionizer_flush_seconds_bucket{le="0.5"} 7
`

func TestParseHistogramAndQuantiles(t *testing.T) {
	h, err := parseHistogram(strings.NewReader(scrape), freshnessMetric)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 4 || h.count() != 100 {
		t.Fatalf("parsed %v: want 4 buckets, 100 observations (the other histogram left out)", h)
	}
	for _, tc := range []struct {
		name string
		h    histogram
		q    float64
		want float64
	}{
		{"in the first bucket, from 0", h, 0.05, 0.25},
		{"median inside the second bucket", h, 0.5, 0.5 + 0.5*(50-10)/50.0},
		{"p99 at a bucket's upper bound", h, 0.99, 2},
		{"in +Inf: the highest finite bound", h, 0.999, 2},
		{"a delta between two scrapes", h.minus(histogram{0.5: 10, 1: 10, 2: 10, math.Inf(1): 10}), 0.5, 0.5 + 0.5*45/50.0}, // 90 left, rank 45 of the 50 in (0.5, 1]
		{"no observations", histogram{1: 0, math.Inf(1): 0}, 0.99, math.NaN()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.h.quantile(tc.q)
			if math.IsNaN(tc.want) != math.IsNaN(got) || (!math.IsNaN(got) && math.Abs(got-tc.want) > 1e-9) {
				t.Errorf("quantile(%v) of %v = %v, want %v", tc.q, tc.h, got, tc.want)
			}
		})
	}
}

func TestParseHistogramRefusesWhatIsNotThere(t *testing.T) {
	if _, err := parseHistogram(strings.NewReader(scrape), "teller_missing_seconds"); err == nil {
		t.Fatal("no error for a histogram that is not in the scrape")
	}
	if _, err := parseHistogram(strings.NewReader(freshnessMetric+`_bucket{le="x"} 1`+"\n"), freshnessMetric); err == nil {
		t.Fatal("no error for a bucket bound that is not a number")
	}
}
