package dashboard_test

import (
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/teller-analytics/teller/internal/reporttest"
	"github.com/teller-analytics/teller/pkg/report"
)

// TestAPIEqualsPages: for every report, the JSON API answers the figures
// the page shows, for the same URL parameters (with and without a filter).
func TestAPIEqualsPages(t *testing.T) {
	e := newEnv(t)
	e.Clock.Add(-5*time.Hour + 2*time.Minute) // 10:02 UTC on March 12: S5 is on the site
	c := e.client(t)
	c.login()
	for _, view := range []string{
		"from=2024-03-10&to=2024-03-12",
		"from=2024-03-10&to=2024-03-12&f=" + url.QueryEscape("channel:is:organic_search") + "&bots=1",
		"from=2024-03-09&to=2024-03-12&f=" + url.QueryEscape("page:is_not:/pricing") + "&metric=pageviews&interval=day",
	} {
		t.Run(view, func(t *testing.T) { apiEqualsPages(t, c, view) })
	}
}

func apiEqualsPages(t *testing.T, c *client, view string) {
	page := c.mustGet("/sites/example?"+view, http.StatusOK)

	// KPIs.
	var sum map[string]any
	getJSON(t, c, "/api/sites/example/summary?"+view, http.StatusOK, &sum)
	for id, field := range map[string]string{"kpi-visitors": "visitors", "kpi-sessions": "sessions", "kpi-pageviews": "pageviews",
		"kpi-bounce-rate": "bounce_rate", "kpi-avg-duration": "avg_duration_sec", "kpi-pageviews-per-session": "pageviews_per_session",
		"kpi-events": "events"} {
		if got, want := attr(page.id(id), "data-value"), fmt.Sprint(sum[field]); got != want {
			t.Errorf("%s: page %s, API %s", id, got, want)
		}
	}

	// The chart.
	var series struct {
		Points []struct {
			Label string
			Value float64
		}
	}
	getJSON(t, c, "/api/sites/example/series?"+view, http.StatusOK, &series)
	var fromPage, fromAPI []string
	for _, tr := range page.all(func(n *html.Node) bool { return n.Data == "tr" && attr(n, "data-label") != "" }) {
		fromPage = append(fromPage, attr(tr, "data-label")+"="+attr(tr, "data-value"))
	}
	for _, p := range series.Points {
		fromAPI = append(fromAPI, fmt.Sprintf("%s=%v", p.Label, p.Value))
	}
	if !reflect.DeepEqual(fromPage, fromAPI) || len(fromPage) == 0 {
		t.Errorf("series: page %q, API %q", fromPage, fromAPI)
	}

	// Every breakdown, whole.
	for _, dim := range report.Dimensions() {
		d := c.mustGet("/sites/example/breakdown/"+string(dim)+"?"+view, http.StatusOK)
		var b struct {
			Rows []struct {
				Key                                   string
				Visitors, Sessions, Pageviews, Events uint64
			}
		}
		getJSON(t, c, "/api/sites/example/breakdown/"+string(dim)+"?limit=500&"+view, http.StatusOK, &b)
		var pageRows, apiRows []string
		for _, tr := range within(d.id("table-"+string(dim)), "row") {
			last := "pageviews"
			if dim == report.Events {
				last = "events"
			}
			pageRows = append(pageRows, attr(tr, "data-key")+" "+attr(within(tr, "visitors")[0], "data-value")+"/"+
				attr(within(tr, "sessions")[0], "data-value")+"/"+attr(within(tr, last)[0], "data-value"))
		}
		for _, r := range b.Rows {
			last := r.Pageviews
			if dim == report.Events {
				last = r.Events
			}
			apiRows = append(apiRows, fmt.Sprintf("%s %d/%d/%d", r.Key, r.Visitors, r.Sessions, last))
		}
		if !reflect.DeepEqual(pageRows, apiRows) {
			t.Errorf("breakdown %s: page %q, API %q", dim, pageRows, apiRows)
		}
	}

	// The session list, a session's path, a visitor's sessions.
	ids := func(d *doc) []string {
		var out []string
		for _, tr := range within(d.id("table-sessions"), "session") {
			out = append(out, attr(tr, "data-session-id"))
		}
		return out
	}
	var list struct {
		Sessions []struct{ ID string }
		Next     string
	}
	getJSON(t, c, "/api/sites/example/sessions/list?limit=100&"+view, http.StatusOK, &list)
	var apiIDs []string
	for _, s := range list.Sessions {
		apiIDs = append(apiIDs, s.ID)
	}
	if got := ids(c.mustGet("/sites/example/sessions?"+view, http.StatusOK)); !reflect.DeepEqual(got, apiIDs) || list.Next != "" {
		t.Errorf("session list: page %q, API %q (next %q)", got, apiIDs, list.Next)
	}
	s1 := reporttest.SessionID("S1").String()
	sp := c.mustGet("/sites/example/sessions/"+s1+"?"+view, http.StatusOK)
	var path struct {
		Events []struct{ Kind, Path string }
	}
	getJSON(t, c, "/api/sites/example/sessions/"+s1+"?"+view, http.StatusOK, &path)
	var pagePath, apiPath []string
	for _, tr := range within(sp.id("table-path"), "path-event") {
		pagePath = append(pagePath, attr(tr, "data-kind")+" "+text(within(tr, "page-path")[0]))
	}
	for _, e := range path.Events {
		apiPath = append(apiPath, e.Kind+" "+e.Path)
	}
	if !reflect.DeepEqual(pagePath, apiPath) || len(pagePath) != 4 {
		t.Errorf("S1's path: page %q, API %q", pagePath, apiPath)
	}
	v1 := reporttest.VisitorID("V1").String()
	var vis struct{ Sessions []struct{ ID string } }
	getJSON(t, c, "/api/sites/example/visitors/"+v1+"?"+view, http.StatusOK, &vis)
	var visIDs []string
	for _, s := range vis.Sessions {
		visIDs = append(visIDs, s.ID)
	}
	if got := ids(c.mustGet("/sites/example/visitors/"+v1+"?"+view, http.StatusOK)); !reflect.DeepEqual(got, visIDs) {
		t.Errorf("V1: page %q, API %q", got, visIDs)
	}

	// Realtime and completeness, from the site page.
	var rt struct{ Visitors uint64 }
	getJSON(t, c, "/api/sites/example/realtime?"+view, http.StatusOK, &rt)
	if got := attr(page.id("realtime"), "data-visitors"); got != fmt.Sprint(rt.Visitors) {
		t.Errorf("realtime: page %s, API %d", got, rt.Visitors)
	}
	var cm struct {
		Days []struct{ Accepted, Stored uint64 }
	}
	getJSON(t, c, "/api/sites/example/completeness?"+view, http.StatusOK, &cm)
	var acc, sto uint64
	for _, d := range cm.Days {
		acc, sto = acc+d.Accepted, sto+d.Stored
	}
	if cmp := page.id("completeness"); attr(cmp, "data-accepted") != fmt.Sprint(acc) || attr(cmp, "data-stored") != fmt.Sprint(sto) {
		t.Errorf("completeness: page %s/%s, API %d/%d", attr(cmp, "data-accepted"), attr(cmp, "data-stored"), acc, sto)
	}

	// The funnel and the bots.
	steps := "&step=" + url.QueryEscape("page:/") + "&step=" + url.QueryEscape("page:/signup")
	g := c.mustGet("/sites/example/goals?"+view+steps, http.StatusOK)
	var fn struct {
		Steps []struct {
			Sessions uint64
			DropOff  uint64 `json:"drop_off"`
		}
	}
	getJSON(t, c, "/api/sites/example/funnel?"+view+steps, http.StatusOK, &fn)
	var pf, af []string
	for _, tr := range within(g.id("table-funnel"), "funnel-step") {
		pf = append(pf, attr(tr, "data-sessions")+"/"+attr(tr, "data-drop-off"))
	}
	for _, s := range fn.Steps {
		af = append(af, fmt.Sprintf("%d/%d", s.Sessions, s.DropOff))
	}
	if !reflect.DeepEqual(pf, af) || len(pf) != 2 {
		t.Errorf("funnel: page %q, API %q", pf, af)
	}
	b := c.mustGet("/sites/example/bots?"+view, http.StatusOK)
	var bots struct {
		Reasons []struct {
			Reason           string
			Sessions, Events uint64
		}
	}
	getJSON(t, c, "/api/sites/example/bots?"+view, http.StatusOK, &bots)
	var pb, ab []string
	for _, tr := range within(b.id("table-bots"), "row") {
		pb = append(pb, attr(tr, "data-key")+" "+attr(within(tr, "sessions")[0], "data-value")+"/"+attr(within(tr, "events")[0], "data-value"))
	}
	for _, r := range bots.Reasons {
		ab = append(ab, fmt.Sprintf("%s %d/%d", r.Reason, r.Sessions, r.Events))
	}
	if !reflect.DeepEqual(pb, ab) {
		t.Errorf("bots: page %q, API %q", pb, ab)
	}
	if strings.Contains(view, "bots=1") && len(pb) == 0 {
		t.Error("no bot reasons with bots included")
	}
}
