package dashboard

import (
	"github.com/teller-analytics/teller/pkg/session"
	"strings"
	"testing"
	"time"

	"github.com/teller-analytics/teller/pkg/report"
	"github.com/teller-analytics/teller/pkg/site"
)

func TestFormat(t *testing.T) {
	for sec, want := range map[float64]string{0: "0s", 4.4: "4s", 59.5: "1m 00s", 65.5: "1m 06s", 3600: "1h 00m 00s", 3725: "1h 02m 05s", -1: "0s"} {
		if got := formatDuration(sec); got != want {
			t.Errorf("formatDuration(%v) = %q, want %q", sec, got, want)
		}
	}
	for n, want := range map[uint64]string{0: "0", 999: "999", 1000: "1,000", 12345: "12,345", 1234567: "1,234,567"} {
		if got := formatCount(n); got != want {
			t.Errorf("formatCount(%d) = %q, want %q", n, got, want)
		}
	}
	if got := formatPercent(3.0 / 7); got != "42.9%" {
		t.Errorf("formatPercent = %q", got)
	}
}

func TestSafeNext(t *testing.T) {
	for next, want := range map[string]string{
		"": "/", "/": "/", "/sites/a?from=2024-01-01": "/sites/a?from=2024-01-01",
		"//evil.example": "/", "/\\evil.example": "/", "https://evil.example/": "/", "evil.example": "/",
		"/%0d%0aSet-Cookie:x": "/%0d%0aSet-Cookie:x", "/a\r\nb": "/", "javascript:alert(1)": "/",
	} {
		if got := safeNext(next); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", next, got, want)
		}
	}
}

func TestParseRange(t *testing.T) {
	berlin := site.Site{ID: "s", Timezone: "Europe/Berlin"}
	// 23:30 UTC on March 30 is already March 31 in Berlin, the day clocks go forward.
	now := time.Date(2024, 3, 30, 23, 30, 0, 0, time.UTC)
	tests := []struct {
		from, to, bots string
		want           string // from..to, or the error
	}{
		{"", "", "", "2024-03-25..2024-03-31"},
		{"2024-03-01", "", "", "2024-03-01..2024-03-07"},
		{"2024-03-29", "", "", "2024-03-29..2024-03-31"},
		{"2024-04-05", "", "", "2024-04-05..2024-04-11"},
		{"", "2024-02-29", "", "2024-02-23..2024-02-29"},
		{"2024-03-31", "2024-03-31", "1", "2024-03-31..2024-03-31 bots"},
		{"2024-3-1", "", "", `from="2024-3-1" is not a date`},
		{"", "2024-02-30", "", `to="2024-02-30" is not a date`},
		{"2024-03-02", "2024-03-01", "", "from (2024-03-02) is after to (2024-03-01)"},
		{"2021-03-30", "2024-03-30", "", "the range has 1097 days; at most 1096 are allowed"},
		{"2021-03-31", "2024-03-30", "", "2021-03-31..2024-03-30"},
		{"1999-12-31", "", "", "from (1999-12-31) must be in 2000-2099"},
		{"", "", "maybe", `bots="maybe": want 1 or 0`},
	}
	for _, tt := range tests {
		r, err := parseRange(berlin, tt.from, tt.to, tt.bots, now)
		got := r.FromString() + ".." + r.ToString()
		if r.Bots {
			got += " bots"
		}
		if err != nil {
			got = err.Error()
		}
		if got != tt.want && (err == nil || !strings.HasPrefix(got, tt.want)) {
			t.Errorf("parseRange(%q, %q, %q) = %s, want %s", tt.from, tt.to, tt.bots, got, tt.want)
		}
	}
	// The query covers whole Berlin days, 23 hours on the DST day.
	r, _ := parseRange(berlin, "2024-03-31", "2024-03-31", "", now)
	q := r.query("s")
	if q.From.UTC().Format(time.RFC3339) != "2024-03-30T23:00:00Z" || q.To.UTC().Format(time.RFC3339) != "2024-03-31T22:00:00Z" {
		t.Errorf("query of March 31 in Berlin: %s .. %s", q.From.UTC(), q.To.UTC())
	}
}

func TestNewChart(t *testing.T) {
	if c := newChart(nil, "sessions", "day"); len(c.Bars) != 0 || c.Max != "0" {
		t.Errorf("no days: %+v", c)
	}
	days := make([]report.Point, 30)
	for i := range days {
		start := time.Date(2024, 1, 1+i, 0, 0, 0, 0, time.UTC)
		days[i] = report.Point{Start: start, Label: start.Format(time.DateOnly), Value: float64(i), Sessions: uint64(i)}
	}
	c := newChart(seriesPoints(days), "sessions", "day")
	if len(c.Bars) != 30 || c.Max != "29" || c.Bars[0].H != "0.00" || c.Bars[29].H != "146.00" {
		t.Errorf("30 days: %d bars, max %s, first %+v, last %+v", len(c.Bars), c.Max, c.Bars[0], c.Bars[29])
	}
	if len(c.Labels) != 7 || c.Labels[0].Text != "Jan 1" || c.Labels[0].Anchor != "start" || c.Labels[6].Text != "Jan 30" || c.Labels[6].Anchor != "end" {
		t.Errorf("labels = %+v", c.Labels)
	}
	if c := newChart(seriesPoints(days[:1]), "sessions", "day"); len(c.Labels) != 1 || c.Labels[0].Anchor != "middle" {
		t.Errorf("one day: labels %+v", c.Labels)
	}
	// Hours and months are labelled briefly.
	hours := []report.Point{{Label: "2024-03-10 00:00"}, {Label: "2024-03-10 01:00"}}
	if c := newChart(seriesPoints(hours), "visitors", "hour"); c.Labels[1].Text != "01:00" || c.Title != "Visitors per hour" {
		t.Errorf("hours: %q, labels %+v", c.Title, c.Labels)
	}
	if c := newChart(seriesPoints([]report.Point{{Label: "2024-03"}}), "bounce_rate", "month"); c.Labels[0].Text != "Mar 2024" || c.Max != "0.0%" {
		t.Errorf("months: labels %+v, max %s", c.Labels, c.Max)
	}
}

func TestSnakeCase(t *testing.T) {
	for in, want := range map[string]string{"AvgDurationSec": "avg_duration_sec", "ID": "id", "SincePrevMs": "since_prev_ms",
		"DropOffRate": "drop_off_rate", "Visitors": "visitors", "OS": "os", "EngagedMs": "engaged_ms", "URLPath": "url_path"} {
		if got := snakeCase(in); got != want {
			t.Errorf("snakeCase(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestStartReasons: every reason pkg/session gives a session start has an
// explanation here.
func TestStartReasons(t *testing.T) {
	for r := session.FirstVisit; r <= session.Campaign; r++ {
		if _, ok := startReasons[r.String()]; !ok {
			t.Errorf("no explanation of start reason %q", r)
		}
	}
	if len(startReasons) != int(session.Campaign) {
		t.Errorf("%d explanations for %d reasons", len(startReasons), session.Campaign)
	}
}

func TestParsePeriod(t *testing.T) {
	today := time.Date(2024, 3, 12, 0, 0, 0, 0, time.UTC)
	for _, tt := range []struct{ period, want string }{
		{"today", "2024-03-12..2024-03-12"}, {"yesterday", "2024-03-11..2024-03-11"}, {"7d", "2024-03-06..2024-03-12"},
		{"30d", "2024-02-12..2024-03-12"}, {"90d", "2023-12-14..2024-03-12"}, {"month", "2024-03-01..2024-03-12"},
		{"year", "2024-01-01..2024-03-12"}, {"week", `period="week": want one of`},
	} {
		from, to, err := parsePeriod(tt.period, today)
		got := from.Format(time.DateOnly) + ".." + to.Format(time.DateOnly)
		if err != nil {
			got = err.Error()
		}
		if !strings.HasPrefix(got, tt.want) {
			t.Errorf("parsePeriod(%q) = %s, want %s", tt.period, got, tt.want)
		}
	}
}

// TestViewLinks: a link is the view with one thing changed, everything else
// kept.
func TestViewLinks(t *testing.T) {
	v := view{Site: site.Site{ID: "shop"}, Range: dayRange{From: time.Date(2024, 3, 10, 0, 0, 0, 0, time.UTC),
		To: time.Date(2024, 3, 12, 0, 0, 0, 0, time.UTC), Bots: true}, Filters: []string{"channel:is:direct"}, Metric: "pageviews"}
	for _, tt := range []struct{ got, want string }{
		{v.Link(), "/sites/shop?bots=1&f=channel%3Ais%3Adirect&from=2024-03-10&metric=pageviews&to=2024-03-12"},
		{v.withFilter("page:contains:a&b").Link(), "/sites/shop?bots=1&f=channel%3Ais%3Adirect&f=page%3Acontains%3Aa%26b&from=2024-03-10&metric=pageviews&to=2024-03-12"},
		{v.withFilter("channel:is:direct").Link(), v.Link()},
		{v.withoutFilter(0).Link(), "/sites/shop?bots=1&from=2024-03-10&metric=pageviews&to=2024-03-12"},
		{v.withPeriod("30d").link("/sessions"), "/sites/shop/sessions?bots=1&f=channel%3Ais%3Adirect&metric=pageviews&period=30d"},
		{v.withTab("pages", "exit_page").Link(), "/sites/shop?bots=1&f=channel%3Ais%3Adirect&from=2024-03-10&metric=pageviews&t_pages=exit_page&to=2024-03-12"},
	} {
		if tt.got != tt.want {
			t.Errorf("link %s, want %s", tt.got, tt.want)
		}
	}
	// Changing a copy never changes the view it came from.
	w := v.withFilter("os:is:Linux")
	_ = w.withoutFilter(0)
	if len(v.Filters) != 1 || v.Tabs != nil {
		t.Errorf("the view changed: %+v", v)
	}
}
