package dashboard

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/teller-analytics/teller/pkg/report"
)

// formatCount writes n with thousands separators: 12,345.
func formatCount(n uint64) string {
	s := strconv.FormatUint(n, 10)
	if len(s) <= 3 {
		return s
	}
	var b strings.Builder
	lead := len(s) % 3
	if lead > 0 {
		b.WriteString(s[:lead])
	}
	for i := lead; i < len(s); i += 3 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(s[i : i+3])
	}
	return b.String()
}

// formatDuration writes seconds as "45s", "1m 05s" or "2h 03m 09s".
func formatDuration(sec float64) string {
	total := int64(math.Round(sec))
	if total < 0 {
		total = 0
	}
	h, m, s := total/3600, total/60%60, total%60
	switch {
	case h > 0:
		return fmt.Sprintf("%dh %02dm %02ds", h, m, s)
	case m > 0:
		return fmt.Sprintf("%dm %02ds", m, s)
	}
	return fmt.Sprintf("%ds", s)
}

// formatPercent writes a share 0..1 as "42.9%".
func formatPercent(share float64) string { return strconv.FormatFloat(share*100, 'f', 1, 64) + "%" }

// formatFloat writes the exact value for data-value attributes.
func formatFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// chart is the bar chart of one metric over the range, laid out for an
// inline SVG (drawn without scripts) and listed as a table, which
// static/dashboard.js draws with uPlot.
type chart struct {
	Width, Height int
	AxisY, LabelY int // the baseline, and where day labels sit
	// Metric is the URL name of the metric drawn, MetricLabel its name,
	// Unit how it is formatted (count, percent, seconds).
	Metric, MetricLabel, Unit string
	// Title is the heading ("Sessions per day"), IntervalLabel the first
	// column's header.
	Title, IntervalLabel string
	Max                  string // the top of the scale, formatted
	Bars                 []bar
	Labels               []axisLabel
}

// chartPoint is one bucket of the series.
type chartPoint struct {
	// Day is the bucket's label (a date, an hour...), Start its start
	// (Unix seconds).
	Day   string
	Start int64
	// Value is the metric drawn.
	Value                         float64
	Visitors, Sessions, Pageviews uint64
}

type bar struct {
	X, Y, W, H string
	Day        string
	Start      int64
	Value      string // exact, for data-value
	Shown      string // formatted
	Visitors   uint64
	Sessions   uint64
	Pageviews  uint64
	Title      string
}

type axisLabel struct {
	X, Anchor, Text string
}

// Chart geometry, in SVG user units.
const (
	chartWidth  = 720
	chartHeight = 180
	chartTop    = 14 // room for the scale's label
	chartBottom = 20 // room for the day labels
	maxBarWidth = 48 // a few days still look like bars
)

// metricInfo names a chart metric and says how its values are shown.
type metricInfo struct {
	Label, Unit string
}

var chartMetrics = map[string]metricInfo{
	"visitors": {"Visitors", "count"}, "sessions": {"Sessions", "count"}, "pageviews": {"Pageviews", "count"},
	"events": {"Custom events", "count"}, "bounce_rate": {"Bounce rate", "percent"}, "avg_duration": {"Average duration", "seconds"},
}

func (m metricInfo) format(v float64) string {
	switch m.Unit {
	case "percent":
		return formatPercent(v)
	case "seconds":
		return formatDuration(v)
	}
	return formatCount(uint64(math.Round(v)))
}

// seriesPoints are a report series as chart points.
func seriesPoints(points []report.Point) []chartPoint {
	out := make([]chartPoint, 0, len(points))
	for _, p := range points {
		out = append(out, chartPoint{Day: p.Label, Start: p.Start.Unix(), Value: p.Value,
			Visitors: p.Visitors, Sessions: p.Sessions, Pageviews: p.Pageviews})
	}
	return out
}

// newChart lays out one bar of metric per point; interval names the
// buckets ("day").
func newChart(points []chartPoint, metric, interval string) chart {
	info, ok := chartMetrics[metric]
	if !ok {
		metric, info = "sessions", chartMetrics["sessions"]
	}
	c := chart{Width: chartWidth, Height: chartHeight, AxisY: chartHeight - chartBottom, LabelY: chartHeight - 4,
		Metric: metric, MetricLabel: info.Label, Unit: info.Unit,
		Title: info.Label + " per " + interval, IntervalLabel: strings.ToUpper(interval[:1]) + interval[1:]}
	var top float64
	for _, p := range points {
		top = max(top, p.Value)
	}
	c.Max = info.format(top)
	if len(points) == 0 {
		return c
	}
	plot := float64(chartHeight - chartTop - chartBottom)
	slot := float64(chartWidth) / float64(len(points))
	gap := math.Min(slot*0.2, 4)
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }
	for i, p := range points {
		h := 0.0
		if top > 0 {
			h = plot * p.Value / top
		}
		if p.Value > 0 && h < 1 {
			h = 1
		}
		w := math.Min(math.Max(slot-gap, 1), maxBarWidth)
		x := float64(i)*slot + (slot-w)/2
		c.Bars = append(c.Bars, bar{
			X: f(x), Y: f(chartTop + plot - h), W: f(w), H: f(h),
			Day: p.Day, Start: p.Start, Value: formatFloat(p.Value), Shown: info.format(p.Value),
			Visitors: p.Visitors, Sessions: p.Sessions, Pageviews: p.Pageviews,
			Title: fmt.Sprintf("%s: %s %s; %s sessions, %s visitors, %s pageviews", p.Day, info.format(p.Value),
				strings.ToLower(info.Label), formatCount(p.Sessions), formatCount(p.Visitors), formatCount(p.Pageviews)),
		})
	}
	// Label at most 7 buckets, evenly spread, the first and last included.
	n := len(points)
	seen := map[int]bool{}
	for k := 0; k < min(n, 7); k++ {
		i := k
		if n > 7 {
			i = int(math.Round(float64(k) * float64(n-1) / 6))
		}
		if !seen[i] {
			seen[i] = true
			c.Labels = append(c.Labels, dayLabel(points[i].Day, float64(i)*slot+slot/2, i, n))
		}
	}
	return c
}

func dayLabel(day string, x float64, i, n int) axisLabel {
	anchor := "middle"
	switch {
	case n == 1:
	case i == 0:
		anchor, x = "start", 0
	case i == n-1:
		anchor, x = "end", chartWidth
	}
	text := day
	if t, err := time.Parse(time.DateOnly, day); err == nil {
		text = t.Format("Jan 2")
	} else if t, err := time.Parse("2006-01", day); err == nil {
		text = t.Format("Jan 2006")
	} else if _, hour, ok := strings.Cut(day, " "); ok {
		text = hour
	}
	return axisLabel{X: strconv.FormatFloat(x, 'f', 2, 64), Anchor: anchor, Text: text}
}
