package dashboard_test

import (
	"encoding/csv"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/teller-analytics/teller/internal/reporttest"
)

// TestSessionExplorer: the list links to each session's path and each
// visitor's sessions; the path shows pages and events in order with the
// time between them and why the session started; the list and every
// breakdown export as CSV.
func TestSessionExplorer(t *testing.T) {
	c := newEnv(t).client(t)
	c.login()
	rng := "from=2024-03-10&to=2024-03-12"

	d := c.mustGet("/sites/example/sessions?"+rng, http.StatusOK)
	rows := within(d.id("table-sessions"), "session")
	if len(rows) != 6 || attr(rows[4], "data-session-id") != reporttest.SessionID("S1").String() {
		t.Fatalf("%d sessions listed; fifth %s", len(rows), attr(rows[4], "data-session-id"))
	}
	link := attr(within(rows[4], "session-link")[0], "href")
	if want := "/sites/example/sessions/" + reporttest.SessionID("S1").String() + "?"; !strings.HasPrefix(link, want) || !strings.Contains(link, rng) {
		t.Errorf("S1's link %q, want %s... with the range", link, want)
	}
	if n := d.all(func(n2 *html.Node) bool { return attr(n2, "id") == "next-page" }); len(n) != 0 {
		t.Error("6 sessions have a next page")
	}

	// The list's own filter form: direct sessions only (S2, S6).
	r0 := c.get("/sites/example/sessions?" + rng + "&fd=channel&fo=is&fv=direct")
	if loc := r0.Header.Get("Location"); r0.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/sites/example/sessions?") {
		t.Fatalf("filter form: %d to %q", r0.StatusCode, loc)
	}
	fd := c.mustGet(r0.Header.Get("Location"), http.StatusOK)
	if n := len(within(fd.id("table-sessions"), "session")); n != 2 || len(within(fd.id("filters"), "chip")) != 1 {
		t.Errorf("direct sessions: %d rows, want 2 with one chip", n)
	}

	// Pages of 4: the next page has the other 2, and links back.
	p1 := c.mustGet("/sites/example/sessions?"+rng+"&limit=4", http.StatusOK)
	next := attr(p1.id("next-page"), "href")
	p2 := c.mustGet(next, http.StatusOK)
	var paged []string
	for _, d := range []*doc{p1, p2} {
		for _, tr := range within(d.id("table-sessions"), "session") {
			paged = append(paged, attr(tr, "data-session-id"))
		}
	}
	var all []string
	for _, tr := range rows {
		all = append(all, attr(tr, "data-session-id"))
	}
	if !reflect.DeepEqual(paged, all) || attr(p2.id("first-page"), "href") == "" {
		t.Errorf("paged sessions %q, want %q", paged, all)
	}

	// S1: four pageviews, 20 s apart, then 25.5 s; a first visit.
	p := c.mustGet(link, http.StatusOK)
	var path []string
	for _, tr := range within(p.id("table-path"), "path-event") {
		path = append(path, attr(tr, "data-kind")+" "+text(within(tr, "page-path")[0])+" +"+text(within(tr, "since")[0]))
	}
	if want := []string{"pageview / +0s", "pageview /pricing +20s", "pageview / +20s", "pageview /signup +26s"}; !reflect.DeepEqual(path, want) {
		t.Errorf("S1's path = %q, want %q", path, want)
	}
	if r := p.id("start-reason"); attr(r, "data-reason") != "first_visit" || !strings.Contains(text(r), "First visit") {
		t.Errorf("start reason: %s", text(r))
	}
	// S3: the custom event with its properties.
	p = c.mustGet("/sites/example/sessions/"+reporttest.SessionID("S3").String()+"?"+rng, http.StatusOK)
	if got := text(p.id("table-path")); !strings.Contains(got, "signup_click") || !strings.Contains(got, "plan = pro") {
		t.Errorf("S3's path: %s", got)
	}
	if r := p.id("start-reason"); attr(r, "data-reason") != "inactivity" || !strings.Contains(text(r), "pause") {
		t.Errorf("S3 start reason: %s", text(r))
	}

	// V1's sessions in range: S3 and S1 (S0 and S7 are outside).
	v := c.mustGet("/sites/example/visitors/"+reporttest.VisitorID("V1").String()+"?"+rng, http.StatusOK)
	var ids []string
	for _, tr := range within(v.id("table-sessions"), "session") {
		ids = append(ids, attr(tr, "data-session-id"))
	}
	if want := []string{reporttest.SessionID("S3").String(), reporttest.SessionID("S1").String()}; !reflect.DeepEqual(ids, want) {
		t.Errorf("V1's sessions = %v, want S3, S1", ids)
	}

	for path, status := range map[string]int{
		"/sites/example/sessions/not-a-uuid?" + rng:                                  http.StatusBadRequest,
		"/sites/example/sessions/" + reporttest.SessionID("S7").String() + "?" + rng: http.StatusNotFound,
		"/sites/example/visitors/x?" + rng:                                           http.StatusBadRequest,
		"/sites/example/breakdown/nosuch?" + rng:                                     http.StatusBadRequest,
		"/sites/example/sessions?" + rng + "&f=page":                                 http.StatusBadRequest,
		"/sites/example/sessions?" + rng + "&period=x":                               http.StatusBadRequest,
	} {
		if r := c.get(path); r.StatusCode != status {
			t.Errorf("GET %s: %d, want %d", path, r.StatusCode, status)
		}
	}

	// CSV of the session list: a header and the 6 sessions.
	r := c.get("/sites/example/sessions?" + rng + "&format=csv")
	recs := readCSV(t, r)
	if len(recs) != 7 || recs[0][0] != "session_id" || recs[5][0] != reporttest.SessionID("S1").String() {
		t.Errorf("sessions CSV: %d records, %q", len(recs), recs)
	}
	// CSV of a breakdown: every row, in the page's order.
	d = c.mustGet("/sites/example/breakdown/referrer?"+rng, http.StatusOK)
	if got := tableRows(t, d, "table-referrer"); len(got) != 4 {
		t.Errorf("referrer page rows %q", got)
	}
	recs = readCSV(t, c.get("/sites/example/breakdown/referrer?"+rng+"&format=csv"))
	var keys []string
	for _, rec := range recs[1:] {
		keys = append(keys, rec[0]+"="+rec[2])
	}
	if want := []string{"google.com=2", "=2", "t.co=1", "news.ycombinator.com=1"}; !reflect.DeepEqual(keys, want) {
		t.Errorf("referrer CSV keys %q, want %q", keys, want)
	}

	// Pages: reading time and scroll depth (S4 scrolled 75% of /).
	d = c.mustGet("/sites/example/breakdown/page?"+rng, http.StatusOK)
	var scroll []string
	for _, tr := range within(d.id("table-engagement"), "row") {
		scroll = append(scroll, attr(tr, "data-key")+"="+attr(tr, "data-scroll"))
	}
	if len(scroll) == 0 || scroll[0] != "/=75%" {
		t.Errorf("engagement rows %q, want / first with 75%%", scroll)
	}
	if recs := readCSV(t, c.get("/sites/example/breakdown/page?"+rng+"&format=csv&part=engagement")); len(recs) != len(scroll)+1 {
		t.Errorf("engagement CSV: %d records for %d rows", len(recs), len(scroll))
	}
	// An event's properties.
	d = c.mustGet("/sites/example/breakdown/event?"+rng+"&event=signup_click", http.StatusOK)
	var props []string
	for _, tr := range within(d.id("table-props"), "row") {
		props = append(props, attr(tr, "data-key"))
	}
	sort.Strings(props)
	if want := []string{"from=blog", "plan=pro"}; !reflect.DeepEqual(props, want) {
		t.Errorf("signup_click properties %q, want %q", props, want)
	}
}

func readCSV(t *testing.T, r response) [][]string {
	t.Helper()
	if r.StatusCode != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") ||
		!strings.HasPrefix(r.Header.Get("Content-Disposition"), "attachment; filename=") {
		t.Fatalf("CSV: %d %s %s\n%s", r.StatusCode, r.Header.Get("Content-Type"), r.Header.Get("Content-Disposition"), r.Body)
	}
	recs, err := csv.NewReader(strings.NewReader(r.Body)).ReadAll()
	if err != nil {
		t.Fatalf("CSV: %v\n%s", err, r.Body)
	}
	return recs
}

// TestRealtimeAndCompleteness: the site page shows who is on the site now
// (the clock two minutes after S5 began: V2 on /) and, per day, the events
// the collector accepted against those stored.
func TestRealtimeAndCompleteness(t *testing.T) {
	e := newEnv(t)
	e.Clock.Add(-5*time.Hour + 2*time.Minute) // 10:02 UTC on March 12
	c := e.client(t)
	c.login()
	d := c.mustGet(mainRange, http.StatusOK)
	if rt := d.id("realtime"); attr(rt, "data-visitors") != "1" || !strings.Contains(text(rt), "1 visitor now") {
		t.Errorf("realtime: %s", text(rt))
	}
	if got := tableRows2(d, "table-realtime"); !reflect.DeepEqual(got, []string{"/=1"}) {
		t.Errorf("realtime pages %q, want [/=1]", got)
	}
	cm := d.id("completeness")
	// The data set's collector accepted one event more on the 12th than was stored.
	if attr(cm, "data-accepted") != "15" || attr(cm, "data-stored") != "14" || !strings.Contains(text(cm), "Some days stored fewer than accepted") {
		t.Errorf("completeness: %s (%s accepted, %s stored)", text(cm), attr(cm, "data-accepted"), attr(cm, "data-stored"))
	}
	var days []string
	for _, tr := range d.all(func(n *html.Node) bool { return n.Data == "tr" && attr(n, "data-day") != "" }) {
		days = append(days, attr(tr, "data-day")+" "+text(within(tr, "accepted")[0])+"/"+text(within(tr, "stored")[0]))
	}
	if want := []string{"2024-03-10 6/6", "2024-03-11 4/4", "2024-03-12 5/4"}; !reflect.DeepEqual(days, want) {
		t.Errorf("completeness days %q, want %q", days, want)
	}
}

// tableRows2 reads a two-column table as key=visitors.
func tableRows2(d *doc, id string) []string {
	var out []string
	for _, tr := range within(d.id(id), "row") {
		out = append(out, attr(tr, "data-key")+"="+attr(within(tr, "visitors")[0], "data-value"))
	}
	return out
}
