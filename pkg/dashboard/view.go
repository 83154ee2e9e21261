package dashboard

import (
	"maps"
	"net/url"
	"slices"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/teller-analytics/teller/pkg/site"
)

// A view is what a report URL selects (the URL contract of the reports,
// pkg/report/API.md): the range (from/to or a period shortcut), bots,
// filters (f=), comparison, interval and metric. Every link a report page
// draws is the current view with one thing changed, so a view can be
// bookmarked and shared, and every page keeps it.
type view struct {
	Site site.Site
	// Range is the resolved range; Period the shortcut it came from, if any.
	Range  dayRange
	Period string
	// Filters are the f= values, in order; siteView checks them with
	// report.ParseFilters (which also bounds their number).
	Filters []string
	// CompareOff is compare=off.
	CompareOff bool
	// Interval and Metric are as given ("" = the default).
	Interval, Metric string
	// Tabs are the breakdown cards' chosen tabs (t_<card>=<dimension>).
	Tabs map[string]string
	// today is the current day in the site's zone (midnight UTC of the
	// civil date), which period shortcuts end on.
	today time.Time
}

// The period shortcuts (period=), in the order the range picker shows them.
var periods = []struct{ ID, Label string }{
	{"today", "Today"}, {"yesterday", "Yesterday"}, {"7d", "Last 7 days"}, {"30d", "Last 30 days"},
	{"90d", "Last 90 days"}, {"month", "This month"}, {"year", "This year"},
}

// parsePeriod resolves a period shortcut to its first and last day (civil
// dates at midnight UTC), given today in the site's zone.
func parsePeriod(p string, today time.Time) (from, to time.Time, err error) {
	switch p {
	case "today":
		return today, today, nil
	case "yesterday":
		y := today.AddDate(0, 0, -1)
		return y, y, nil
	case "7d":
		return today.AddDate(0, 0, -6), today, nil
	case "30d":
		return today.AddDate(0, 0, -29), today, nil
	case "90d":
		return today.AddDate(0, 0, -89), today, nil
	case "month":
		return time.Date(today.Year(), today.Month(), 1, 0, 0, 0, 0, time.UTC), today, nil
	case "year":
		return time.Date(today.Year(), 1, 1, 0, 0, 0, 0, time.UTC), today, nil
	}
	ids := make([]string, len(periods))
	for i, p := range periods {
		ids[i] = p.ID
	}
	return time.Time{}, time.Time{}, badRequest("period=%q: want one of %v", p, ids)
}

// readView reads a report request's view of site s.
func (d *Dashboard) readView(c *gin.Context, s site.Site) (view, error) {
	v := view{Site: s, Period: c.Query("period"), Filters: c.QueryArray("f"),
		Interval: c.Query("interval"), Metric: c.Query("metric")}
	from, to := c.Query("from"), c.Query("to")
	y, m, dd := d.clock().In(s.Location()).Date()
	v.today = time.Date(y, m, dd, 0, 0, 0, 0, time.UTC)
	if v.Period != "" {
		f, t, err := parsePeriod(v.Period, v.today)
		if err != nil {
			return view{}, err
		}
		from, to = f.Format(time.DateOnly), t.Format(time.DateOnly)
	}
	r, err := parseRange(s, from, to, c.Query("bots"), d.clock())
	if err != nil {
		return view{}, err
	}
	v.Range = r
	for _, g := range cardGroups {
		if t := c.Query("t_" + g.ID); t != "" {
			if v.Tabs == nil {
				v.Tabs = map[string]string{}
			}
			v.Tabs[g.ID] = t
		}
	}
	switch c.Query("compare") {
	case "", "previous":
	case "off":
		v.CompareOff = true
	default:
		return view{}, badRequest("compare=%q: want previous or off", c.Query("compare"))
	}
	return v, nil
}

// values encodes the view as URL parameters.
func (v view) values() url.Values {
	q := url.Values{}
	if v.Period != "" {
		q.Set("period", v.Period)
	} else {
		q.Set("from", v.Range.FromString())
		q.Set("to", v.Range.ToString())
	}
	if v.Range.Bots {
		q.Set("bots", "1")
	}
	for _, f := range v.Filters {
		q.Add("f", f)
	}
	if v.CompareOff {
		q.Set("compare", "off")
	}
	if v.Interval != "" {
		q.Set("interval", v.Interval)
	}
	if v.Metric != "" {
		q.Set("metric", v.Metric)
	}
	for k, t := range v.Tabs {
		q.Set("t_"+k, t)
	}
	return q
}

// Path is the site's path under prefix ("" for the report page, "/sessions"
// ...), e.g. /sites/shop/sessions.
func (v view) path(sub string) string { return "/sites/" + url.PathEscape(v.Site.ID) + sub }

// link is the URL of sub (a path under the site) with the view.
func (v view) link(sub string) string { return v.path(sub) + "?" + v.values().Encode() }

// Link is the report page with this view (templates).
func (v view) Link() string { return v.link("") }

// Query is the view's URL query, without '?', for links to other pages.
func (v view) Query() string { return v.values().Encode() }

// withPeriod returns v with a period shortcut instead of its range.
func (v view) withPeriod(p string) view { v.Period = p; return v }

// withFilter returns v with filter f added (once).
func (v view) withFilter(f string) view {
	if !slices.Contains(v.Filters, f) {
		v.Filters = append(slices.Clip(v.Filters), f)
	}
	return v
}

// withoutFilter returns v without its i-th filter.
func (v view) withoutFilter(i int) view {
	v.Filters = slices.Delete(slices.Clone(v.Filters), i, i+1)
	return v
}

// withTab returns v with card's tab set to dim.
func (v view) withTab(card, dim string) view {
	tabs := maps.Clone(v.Tabs)
	if tabs == nil {
		tabs = map[string]string{}
	}
	tabs[card] = dim
	v.Tabs = tabs
	return v
}
