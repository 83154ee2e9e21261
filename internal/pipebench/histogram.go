package pipebench

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
)

// histogram is one Prometheus histogram's cumulative buckets as scraped:
// upper bound (le) to the count of observations at or below it.
type histogram map[float64]float64

// parseHistogram reads the buckets of the histogram name from Prometheus's
// text exposition format (what /metrics serves). A histogram with labels
// is summed over them.
func parseHistogram(r io.Reader, name string) (histogram, error) {
	h := histogram{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	prefix := name + "_bucket{"
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		labels, value, ok := strings.Cut(line[len(prefix):], "} ")
		if !ok {
			return nil, fmt.Errorf("%s: unexpected line %q", name, line)
		}
		_, le, ok := strings.Cut(labels, `le="`)
		le, _, _ = strings.Cut(le, `"`)
		if !ok {
			return nil, fmt.Errorf("%s: bucket without le in %q", name, line)
		}
		bound, err := strconv.ParseFloat(le, 64) // "+Inf" parses as +Inf
		if err != nil {
			return nil, fmt.Errorf("%s: le %q: %w", name, le, err)
		}
		n, err := strconv.ParseFloat(strings.Fields(value)[0], 64)
		if err != nil {
			return nil, fmt.Errorf("%s: count %q: %w", name, value, err)
		}
		h[bound] += n
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read metrics: %w", err)
	}
	if len(h) == 0 {
		return nil, fmt.Errorf("metric %s not found", name)
	}
	return h, nil
}

// minus is the observations made between an earlier scrape and this one.
func (h histogram) minus(earlier histogram) histogram {
	d := histogram{}
	for le, n := range h {
		d[le] = n - earlier[le]
	}
	return d
}

// count is the number of observations (the +Inf bucket).
func (h histogram) count() float64 { return h[math.Inf(1)] }

// quantile estimates the q-quantile as Prometheus's histogram_quantile
// does: find the bucket holding rank q*count and interpolate linearly
// within it (from 0 for the first bucket). In the +Inf bucket the answer is
// the highest finite bound: the histogram cannot say more. NaN without
// observations.
func (h histogram) quantile(q float64) float64 {
	bounds := make([]float64, 0, len(h))
	for le := range h {
		bounds = append(bounds, le)
	}
	sort.Float64s(bounds)
	total := h.count()
	if total <= 0 || len(bounds) == 0 {
		return math.NaN()
	}
	rank := q * total
	lower, below := 0.0, 0.0
	for _, le := range bounds {
		n := h[le]
		if n >= rank {
			if math.IsInf(le, 1) {
				return lower
			}
			if n == below {
				return le
			}
			return lower + (le-lower)*(rank-below)/(n-below)
		}
		lower, below = le, n
	}
	return lower
}
