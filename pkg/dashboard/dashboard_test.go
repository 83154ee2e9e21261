package dashboard_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/teller-analytics/teller/internal/reporttest"
	"github.com/teller-analytics/teller/pkg/account"
	"github.com/teller-analytics/teller/pkg/dashboard"
	"github.com/teller-analytics/teller/pkg/report"
)

// mainRange is the data set's Berlin days: 6 sessions, 4 visitors, 10
// pageviews, 3 bounces, 93.5 s of duration (see reporttest).
const mainRange = "/sites/example?from=2024-03-10&to=2024-03-12"

func TestLoginFlow(t *testing.T) {
	e := newEnv(t)
	c := e.client(t)

	// Unauthenticated pages redirect to the login form, keeping the target.
	for path, next := range map[string]string{"/": "/", mainRange: mainRange} {
		r := c.get(path)
		if want := "/login?next=" + url.QueryEscape(next); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != want {
			t.Fatalf("GET %s signed out: %d to %q, want 303 to %q", path, r.StatusCode, r.Header.Get("Location"), want)
		}
	}

	r := c.get("/login?next=" + url.QueryEscape(mainRange))
	if r.StatusCode != http.StatusOK || setCookie(r, dashboard.PreLoginCookie) == nil {
		t.Fatalf("GET /login: %d, pre-login cookie %v", r.StatusCode, setCookie(r, dashboard.PreLoginCookie))
	}
	token, next := inputValue(t, r.Body, "csrf"), inputValue(t, r.Body, "next")
	if next != mainRange {
		t.Errorf("form's next = %q, want %q", next, mainRange)
	}

	for _, cred := range [][2]string{{adminUser, "wrong"}, {"root", adminPassword}, {"", ""}} {
		r = c.post("/login", url.Values{"csrf": {token}, "username": {cred[0]}, "password": {cred[1]}, "next": {next}})
		if r.StatusCode != http.StatusUnauthorized || !strings.Contains(r.Body, "Wrong user name or password.") {
			t.Fatalf("login as %q/%q: %d, want 401 with the message\n%s", cred[0], cred[1], r.StatusCode, r.Body)
		}
		if setCookie(r, dashboard.LoginCookie) != nil || c.jar.get(dashboard.LoginCookie) != "" {
			t.Fatal("a failed login set a login cookie")
		}
		if inputValue(t, r.Body, "csrf") != token {
			t.Error("the form shown again has another CSRF token")
		}
		if n := parse(t, r.Body).all(func(n *html.Node) bool { return attr(n, "id") == "logout" }); len(n) != 0 {
			t.Error("the login form shows a sign-out button")
		}
	}

	r = c.post("/login", url.Values{"csrf": {token}, "username": {adminUser}, "password": {adminPassword}, "next": {next}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != mainRange {
		t.Fatalf("login: %d to %q, want 303 to %q", r.StatusCode, r.Header.Get("Location"), mainRange)
	}
	ck := setCookie(r, dashboard.LoginCookie)
	if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || ck.Secure ||
		!ck.Expires.Equal(now.Add(account.DefaultLifetime)) {
		t.Fatalf("login cookie = %+v, want HttpOnly, SameSite=Lax, Path=/, not Secure over http, expiring 7 days on", ck)
	}
	if pre := setCookie(r, dashboard.PreLoginCookie); pre == nil || pre.MaxAge >= 0 {
		t.Errorf("the pre-login cookie is not deleted after login: %+v", pre)
	}

	// Signed in, /login goes on.
	if r = c.get("/login?next=/sites/other"); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/sites/other" {
		t.Errorf("GET /login signed in: %d to %q", r.StatusCode, r.Header.Get("Location"))
	}

	d := c.mustGet(mainRange, http.StatusOK)
	kpis := map[string][2]string{
		"kpi-visitors":              {"4", "4"},
		"kpi-sessions":              {"6", "6"},
		"kpi-pageviews":             {"10", "10"},
		"kpi-bounce-rate":           {"0.5", "50.0%"},
		"kpi-avg-duration":          {"15.583333333333334", "16s"},
		"kpi-pageviews-per-session": {"1.6666666666666667", "1.67"},
	}
	for id, want := range kpis {
		n := d.id(id)
		if got := attr(n, "data-value"); got != want[0] {
			t.Errorf("#%s data-value = %q, want %q", id, got, want[0])
		}
		if got := text(within(n, "value")[0]); got != want[1] {
			t.Errorf("#%s shows %q, want %q", id, got, want[1])
		}
	}

	// Sign out with the page's token.
	logout := inputValue(t, c.get(mainRange).Body, "csrf")
	r = c.post("/logout", url.Values{"csrf": {logout}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login" {
		t.Fatalf("logout: %d to %q, want 303 to /login", r.StatusCode, r.Header.Get("Location"))
	}
	if ck := setCookie(r, dashboard.LoginCookie); ck == nil || ck.MaxAge >= 0 {
		t.Errorf("logout does not delete the login cookie: %+v", ck)
	}
	if r = c.get("/"); r.StatusCode != http.StatusSeeOther {
		t.Errorf("GET / after logout: %d, want 303", r.StatusCode)
	}
}

func TestSitePage(t *testing.T) {
	e := newEnv(t)
	c := e.client(t)
	c.login()
	d := c.mustGet(mainRange, http.StatusOK)

	if got := text(d.id("site-name")); got != "Example" {
		t.Errorf("site name %q", got)
	}
	// Each card shows one tab; ?t_<card>= picks another. Channels show readable names.
	tables := map[string][]string{
		"table-page": {"/|/: 3/4/5", reporttest.XSSPath + "|" + reporttest.XSSPath + ": 1/1/1", "/about|/about: 1/1/1",
			"/blog/hello|/blog/hello: 1/1/1", "/pricing|/pricing: 1/1/1", "/signup|/signup: 1/1/1"},
		"table-entry_page": {"/|/: 3/3/6", reporttest.XSSPath + "|" + reporttest.XSSPath + ": 1/1/2", "/about|/about: 1/1/1", "/blog/hello|/blog/hello: 1/1/1"},
		"table-exit_page":  {"/|/: 2/3/4", "/signup|/signup: 1/1/4", "/about|/about: 1/1/1", "/blog/hello|/blog/hello: 1/1/1"},
		"table-referrer": {"google.com|google.com: 2/2/5", "|(direct): 2/2/2", "t.co|t.co: 1/1/2",
			"news.ycombinator.com|news.ycombinator.com: 1/1/1"},
		"table-channel": {"organic_search|Organic search: 2/2/5", "direct|Direct: 2/2/2", "organic_social|Organic social: 1/1/2",
			"referral|Referral: 1/1/1"},
	}
	tabs := map[string]string{"table-page": "", "table-entry_page": "&t_pages=entry_page", "table-exit_page": "&t_pages=exit_page",
		"table-referrer": "&t_sources=referrer", "table-channel": ""}
	for id, want := range tables {
		d := d
		if tabs[id] != "" {
			d = c.mustGet(mainRange+tabs[id], http.StatusOK)
		}
		if got := tableRows(t, d, id); !reflect.DeepEqual(got, want) {
			t.Errorf("%s =\n%q, want\n%q", id, got, want)
		}
	}

	// The chart: one bar per Berlin day; S4 (23:30 UTC on the 11th) is on the 12th.
	var bars []string
	for _, b := range within(d.id("chart-daily"), "bar") {
		bars = append(bars, attr(b, "data-day")+"="+attr(b, "data-sessions"))
	}
	if want := []string{"2024-03-10=3", "2024-03-11=1", "2024-03-12=2"}; !reflect.DeepEqual(bars, want) {
		t.Errorf("chart bars = %v, want %v", bars, want)
	}

	// Latest sessions first, start times in Berlin.
	rows := within(d.id("table-sessions"), "session")
	if len(rows) != 6 {
		t.Fatalf("%d sessions listed, want 6", len(rows))
	}
	first := rows[0]
	if attr(first, "data-session-id") != reporttest.SessionID("S5").String() ||
		text(within(first, "started")[0]) != "2024-03-12 11:00:00" ||
		text(within(first, "duration")[0]) != "15s" ||
		text(within(first, "entry")[0]) != reporttest.XSSPath || text(within(first, "exit")[0]) != "/" ||
		text(within(first, "reason")[0]) != "inactivity" || attr(first, "data-bounce") != "false" {
		t.Errorf("first session row: %s", renderNode(first))
	}
	s1 := rows[4]
	if attr(s1, "data-session-id") != reporttest.SessionID("S1").String() ||
		text(within(s1, "duration")[0]) != "1m 06s" || text(within(s1, "referrer")[0]) != "google.com Organic search" ||
		text(within(s1, "agent")[0]) != "Firefox / Linux / desktop" {
		t.Errorf("S1 row: %s", renderNode(s1))
	}
	if text(within(rows[3], "referrer")[0]) != "(direct) Direct" || attr(rows[3], "data-bounce") != "true" {
		t.Errorf("S2 row: %s", renderNode(rows[3]))
	}

	// Bots on request.
	d = c.mustGet(mainRange+"&bots=1", http.StatusOK)
	if got := attr(d.id("kpi-sessions"), "data-value"); got != "7" {
		t.Errorf("with bots: %s sessions, want 7", got)
	}

	// Default range: the last 7 days in Berlin, today (the 12th) included.
	// S0 (23:59:59 on the 9th in Berlin) is in, S7 (the 13th) is not.
	d = c.mustGet("/sites/example", http.StatusOK)
	rng := d.id("range")
	if attr(rng, "data-from") != "2024-03-06" || attr(rng, "data-to") != "2024-03-12" || attr(d.id("kpi-sessions"), "data-value") != "7" {
		t.Errorf("default range %s..%s with %s sessions, want 2024-03-06..2024-03-12 with 7",
			attr(rng, "data-from"), attr(rng, "data-to"), attr(d.id("kpi-sessions"), "data-value"))
	}
	if bars := within(d.id("chart-daily"), "bar"); len(bars) != 7 || attr(bars[0], "data-sessions") != "0" {
		t.Errorf("default range: %d bars, want 7 with zeros first", len(bars))
	}

	// No sessions: zeros and empty tables.
	d = c.mustGet("/sites/example?from=2023-01-01&to=2023-01-31", http.StatusOK)
	if attr(d.id("kpi-sessions"), "data-value") != "0" || attr(d.id("kpi-avg-duration"), "data-value") != "0" ||
		len(within(d.id("table-page"), "empty")) != 1 || len(within(d.id("table-sessions"), "empty")) != 1 {
		t.Error("an empty range does not render zeros and empty tables")
	}

	// The report metric saw every report of the page.
	series := gather(t, e)
	for _, name := range []string{"summary", "timeseries", "sessions", "page", "entry_page", "exit_page", "referrer", "channel", "site"} {
		if !strings.Contains(series, `teller_dashboard_report_seconds report="`+name+`"`) {
			t.Errorf("no teller_dashboard_report_seconds series for %s in\n%s", name, series)
		}
	}
}

func gather(t *testing.T, e *env) string {
	t.Helper()
	mfs, err := e.Reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			b.WriteString(mf.GetName())
			for _, l := range m.GetLabel() {
				b.WriteString(" " + l.GetName() + `="` + l.GetValue() + `"`)
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}

func renderNode(n *html.Node) string {
	var b strings.Builder
	_ = html.Render(&b, n)
	return b.String()
}

func TestIndex(t *testing.T) {
	c := newEnv(t).client(t)
	c.login()
	d := c.mustGet("/", http.StatusOK)
	var ids []string
	for _, li := range within(d.id("sites"), "site") {
		ids = append(ids, attr(li, "data-site-id"))
		a := find(li, func(n *html.Node) bool { return n.Data == "a" }, nil)
		if len(a) != 1 || attr(a[0], "href") != "/sites/"+attr(li, "data-site-id") {
			t.Errorf("site %s: link %v", attr(li, "data-site-id"), a)
		}
	}
	if want := []string{"example", "other"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("sites = %v, want %v", ids, want)
	}

	// No sites yet: the hint. A failing lister: 500 without details.
	c = newEnv(t, func(o *envOptions) { o.Dashboard.Sites = siteLister{} }).client(t)
	c.login()
	if d := c.mustGet("/", http.StatusOK); !strings.Contains(text(d.id("no-sites")), "teller site add") {
		t.Errorf("no-sites hint: %q", text(d.id("no-sites")))
	}
	c = newEnv(t, func(o *envOptions) { o.Dashboard.Sites = siteLister{err: errors.New("secret detail")} }).client(t)
	c.login()
	if r := c.get("/"); r.StatusCode != http.StatusInternalServerError || strings.Contains(r.Body, "secret detail") {
		t.Errorf("failing lister: %d\n%s", r.StatusCode, r.Body)
	}
}

func TestCSRF(t *testing.T) {
	e := newEnv(t)
	login := func(c *client, token string) response {
		return c.post("/login", url.Values{"csrf": {token}, "username": {adminUser}, "password": {adminPassword}})
	}

	// No pre-login cookie, no token, a wrong token, another browser's token.
	a, b := e.client(t), e.client(t)
	if r := login(a, ""); r.StatusCode != http.StatusForbidden {
		t.Errorf("login without cookie or token: %d, want 403", r.StatusCode)
	}
	tokenA := a.loginToken()
	b.loginToken()
	for name, token := range map[string]string{"no token": "", "wrong token": "x" + tokenA, "other browser's token": tokenA} {
		if r := login(b, token); r.StatusCode != http.StatusForbidden || b.jar.get(dashboard.LoginCookie) != "" {
			t.Errorf("login with %s: %d, want 403", name, r.StatusCode)
		}
	}
	if r := login(a, tokenA); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("login with the right token: %d", r.StatusCode)
	}

	// Logout needs the login's token; the sign-in form's token does not do.
	for name, token := range map[string]string{"no token": "", "login token": tokenA} {
		if r := a.post("/logout", url.Values{"csrf": {token}}); r.StatusCode != http.StatusForbidden {
			t.Errorf("logout with %s: %d, want 403", name, r.StatusCode)
		}
	}
	if r := a.get("/"); r.StatusCode != http.StatusOK {
		t.Errorf("still signed in after refused logouts? GET / = %d", r.StatusCode)
	}
	// Another login's logout token does not end this one.
	b.login()
	tokenB := inputValue(t, b.get("/").Body, "csrf")
	if r := a.post("/logout", url.Values{"csrf": {tokenB}}); r.StatusCode != http.StatusForbidden {
		t.Errorf("logout with another login's token: %d, want 403", r.StatusCode)
	}
	if got := counter(t, e, "csrf"); got != 4 {
		t.Errorf("csrf login failures = %v, want 4", got)
	}
}

func TestAPI(t *testing.T) {
	e := newEnv(t)
	anon := e.client(t)
	r := anon.get("/api/sites/example/summary")
	if r.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") ||
		!strings.Contains(r.Body, `"error"`) {
		t.Errorf("API signed out: %d %s %s", r.StatusCode, r.Header.Get("Content-Type"), r.Body)
	}
	// Forged and foreign cookies are refused too.
	other := newEnv(t, func(o *envOptions) { o.Accounts.Key = []byte("another key, another deployment!") })
	foreign := other.client(t)
	foreign.login()
	for name, v := range map[string]string{"garbage": "v1.e30.AAAA", "foreign": foreign.jar.get(dashboard.LoginCookie)} {
		anon.jar.set(dashboard.LoginCookie, v)
		if r := anon.get("/api/sites/example/summary"); r.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s login cookie: %d, want 401", name, r.StatusCode)
		}
	}

	c := e.client(t)
	c.login()
	var sum map[string]any
	getJSON(t, c, "/api/sites/example/summary?from=2024-03-10&to=2024-03-12", http.StatusOK, &sum)
	// The previous period (the three days before) has one session, S0.
	if prev, _ := sum["previous"].(map[string]any); prev["sessions"] != 1.0 {
		t.Errorf("previous period: %v", sum["previous"])
	}
	if ch, _ := sum["change"].(map[string]any); ch["sessions"] != 5.0 || ch["events"] != nil {
		t.Errorf("change: %v", sum["change"])
	}
	delete(sum, "previous")
	delete(sum, "change")
	want := map[string]any{"site": "example", "from": "2024-03-10", "to": "2024-03-12", "timezone": "Europe/Berlin",
		"include_bots": false, "filters": []any{}, "visitors": 4.0, "sessions": 6.0, "pageviews": 10.0, "events": 1.0,
		"bounce_rate": 0.5, "avg_duration_sec": 93.5 / 6, "pageviews_per_session": 10.0 / 6}
	if !reflect.DeepEqual(sum, want) {
		t.Errorf("summary =\n%v, want\n%v", sum, want)
	}

	type rows struct {
		Rows []struct {
			Key                           string
			Visitors, Sessions, Pageviews uint64
		}
	}
	var ref rows
	getJSON(t, c, "/api/sites/example/breakdown/referrers?from=2024-03-10&to=2024-03-12&limit=2", http.StatusOK, &ref)
	if len(ref.Rows) != 2 || ref.Rows[0].Key != "google.com" || ref.Rows[0].Sessions != 2 || ref.Rows[0].Pageviews != 5 ||
		ref.Rows[1].Key != "" || ref.Rows[1].Visitors != 2 {
		t.Errorf("referrers = %+v", ref.Rows)
	}
	var pages rows
	getJSON(t, c, "/api/sites/example/breakdown/pages?from=2024-03-10&to=2024-03-12&bots=1", http.StatusOK, &pages)
	if len(pages.Rows) != 7 || pages.Rows[0].Key != "/" || pages.Rows[0].Pageviews != 6 {
		t.Errorf("pages with bots = %+v", pages.Rows)
	}
	var empty map[string]any
	getJSON(t, c, "/api/sites/example/breakdown/channels?from=2023-01-01&to=2023-01-02", http.StatusOK, &empty)
	if rows, ok := empty["rows"].([]any); !ok || len(rows) != 0 {
		t.Errorf("an empty breakdown has rows %#v, want []", empty["rows"])
	}

	var ts struct {
		Days []struct {
			Day                           string
			Visitors, Sessions, Pageviews uint64
		}
	}
	getJSON(t, c, "/api/sites/example/timeseries?from=2024-03-09&to=2024-03-12", http.StatusOK, &ts)
	var days []string
	for _, d := range ts.Days {
		days = append(days, d.Day+"="+strings.Repeat("|", int(d.Sessions)))
	}
	if want := []string{"2024-03-09=|", "2024-03-10=|||", "2024-03-11=|", "2024-03-12=||"}; !reflect.DeepEqual(days, want) {
		t.Errorf("timeseries = %v, want %v", days, want)
	}

	var sessions struct {
		Sessions []map[string]any `json:"sessions"`
	}
	getJSON(t, c, "/api/sites/example/sessions?from=2024-03-10&to=2024-03-12&limit=2", http.StatusOK, &sessions)
	if len(sessions.Sessions) != 2 || sessions.Sessions[0]["id"] != reporttest.SessionID("S5").String() ||
		sessions.Sessions[0]["entry_path"] != reporttest.XSSPath || sessions.Sessions[0]["started"] != "2024-03-12T10:00:00Z" ||
		sessions.Sessions[1]["bounce"] != true || sessions.Sessions[1]["duration_ms"] != 8000.0 {
		t.Errorf("sessions = %v", sessions.Sessions)
	}

	bad := map[string]int{
		"/api/sites/example/summary?from=2024-3-10":                      http.StatusBadRequest,
		"/api/sites/example/summary?from=2024-03-12&to=2024-03-10":       http.StatusBadRequest,
		"/api/sites/example/summary?from=2020-01-01&to=2024-03-10":       http.StatusBadRequest,
		"/api/sites/example/summary?to=1999-12-31":                       http.StatusBadRequest,
		"/api/sites/example/summary?bots=yes":                            http.StatusBadRequest,
		"/api/sites/example/breakdown/countries":                         http.StatusBadRequest,
		"/api/sites/example/breakdown/pages?limit=0":                     http.StatusBadRequest,
		"/api/sites/example/breakdown/pages?limit=ten":                   http.StatusBadRequest,
		"/api/sites/example/sessions?limit=1001":                         http.StatusBadRequest,
		"/api/sites/nope/summary":                                        http.StatusNotFound,
		"/api/sites/nope/timeseries?from=2024-03-10&to=2024-03-12":       http.StatusNotFound,
		"/api/sites/%3Cscript%3E/sessions?from=2024-03-10&to=2024-03-12": http.StatusNotFound,
	}
	for path, status := range bad {
		var body map[string]string
		getJSON(t, c, path, status, &body)
		if body["error"] == "" {
			t.Errorf("%s: no error message", path)
		}
	}
}

func getJSON(t *testing.T, c *client, path string, status int, v any) {
	t.Helper()
	r := c.get(path)
	if r.StatusCode != status || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("GET %s: %d %s, want %d JSON\n%s", path, r.StatusCode, r.Header.Get("Content-Type"), status, r.Body)
	}
	if err := json.Unmarshal([]byte(r.Body), v); err != nil {
		t.Fatalf("GET %s: %v\n%s", path, err, r.Body)
	}
}

func TestBadPages(t *testing.T) {
	c := newEnv(t).client(t)
	c.login()
	tests := []struct {
		path   string
		status int
		msg    string
	}{
		{"/sites/example?from=2024-02-30", http.StatusBadRequest, `from="2024-02-30" is not a date: want YYYY-MM-DD`},
		{"/sites/example?to=yesterday", http.StatusBadRequest, `to="yesterday" is not a date`},
		{"/sites/example?from=2024-03-12&to=2024-03-10", http.StatusBadRequest, "from (2024-03-12) is after to (2024-03-10)"},
		{"/sites/example?from=2020-01-01&to=2024-03-10", http.StatusBadRequest, "at most 1096 are allowed"},
		{"/sites/nope", http.StatusNotFound, `There is no site "nope".`},
		{"/sites/%3Cb%3Ebold", http.StatusNotFound, `There is no site "<b>bold".`},
	}
	for _, tt := range tests {
		d := c.mustGet(tt.path, tt.status)
		if got := text(d.id("error-message")); !strings.Contains(got, tt.msg) {
			t.Errorf("GET %s: message %q, want %q", tt.path, got, tt.msg)
		}
		if len(d.all(func(n *html.Node) bool { return n.Data == "b" })) != 0 {
			t.Errorf("GET %s: markup from the request reached the page", tt.path)
		}
	}
}

// TestXSS: a page path with markup is shown as text, in the page and in the
// API, and the page forbids scripts anyway.
func TestXSS(t *testing.T) {
	c := newEnv(t).client(t)
	c.login()
	r := c.get(mainRange)
	if r.StatusCode != http.StatusOK {
		t.Fatal(r.StatusCode)
	}
	if !strings.Contains(r.Body, "/&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Error("the page does not show the escaped path")
	}
	// The only scripts are the dashboard's own files, none inline, and the
	// policy allows no other.
	d := parse(t, r.Body)
	scripts := d.all(func(n *html.Node) bool { return n.Data == "script" })
	for _, n := range scripts {
		if src := attr(n, "src"); !strings.HasPrefix(src, "/static/") || n.FirstChild != nil {
			t.Errorf("script element %s", renderNode(n))
		}
	}
	if strings.Count(r.Body, "<script") != len(scripts) || len(scripts) != 2 {
		t.Errorf("%d '<script' in the page, %d script elements, want the 2 of the dashboard", strings.Count(r.Body, "<script"), len(scripts))
	}
	if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "script-src 'self';") || !strings.Contains(csp, "connect-src 'self';") ||
		strings.Contains(csp, "unsafe") {
		t.Errorf("Content-Security-Policy = %q", csp)
	}
	api := c.get("/api/sites/example/breakdown/entry_pages?from=2024-03-10&to=2024-03-12")
	if strings.Contains(api.Body, "<script") || !strings.Contains(api.Body, `\u003cscript\u003e`) {
		t.Errorf("API body does not escape markup: %s", api.Body)
	}
}

func TestRateLimit(t *testing.T) {
	e := newEnv(t)
	c := e.client(t)
	token := c.loginToken()
	try := func(password string) response {
		return c.post("/login", url.Values{"csrf": {token}, "username": {adminUser}, "password": {password}})
	}
	for i := 0; i < account.LoginFailureLimit; i++ {
		// A forged X-Forwarded-For must not give a fresh allowance.
		c.header.Set("X-Forwarded-For", "203.0.113."+strconv.Itoa(i+1))
		if r := try("wrong"); r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d, want 401", i+1, r.StatusCode)
		}
		e.Clock.Add(time.Minute)
	}
	r := try(adminPassword)
	if r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") != "300" ||
		!strings.Contains(r.Body, "Too many failed sign-ins from your address. Try again in 5 minutes.") {
		t.Fatalf("11th attempt: %d, Retry-After %q, want 429 after 300 s\n%s", r.StatusCode, r.Header.Get("Retry-After"), r.Body)
	}
	// The first failure leaves the window 15 min after it: one more try.
	e.Clock.Add(5*time.Minute + 30*time.Second)
	if r := try("wrong again"); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("after the oldest failure expired: %d, want 401", r.StatusCode)
	}
	if r := try(adminPassword); r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") != "30" {
		t.Fatalf("right after another failure: %d, Retry-After %q; want 429 after 30 s", r.StatusCode, r.Header.Get("Retry-After"))
	}
	e.Clock.Add(2 * time.Minute)
	if r := try(adminPassword); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("after the window: %d, want 303", r.StatusCode)
	}
	if got := counter(t, e, "credentials"); got != 11 {
		t.Errorf("credential failures = %v, want 11", got)
	}
	if got := counter(t, e, "throttled"); got != 2 {
		t.Errorf("throttled = %v, want 2", got)
	}

	// With TrustProxy, addresses come from X-Forwarded-For (gin trusts
	// every proxy by default).
	e = newEnv(t, trustProxy)
	c = e.client(t)
	token = c.loginToken()
	c.header.Set("X-Forwarded-For", "203.0.113.1")
	for i := 0; i <= account.LoginFailureLimit; i++ {
		try("wrong")
	}
	if r := try(adminPassword); r.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("blocked address: %d, want 429", r.StatusCode)
	}
	c.header.Set("X-Forwarded-For", "203.0.113.2")
	if r := try(adminPassword); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("another address: %d, want 303", r.StatusCode)
	}
}

// counter reads a login-failure counter from the env's registry.
func counter(t *testing.T, e *env, reason string) float64 {
	t.Helper()
	mfs, err := e.Reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "teller_dashboard_login_failures_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "reason" && l.GetValue() == reason {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatalf("no login failure counter for %s", reason)
	return 0
}

func TestLoginExpiry(t *testing.T) {
	e := newEnv(t)
	c := e.client(t)
	c.login()
	first := c.jar.get(dashboard.LoginCookie)

	// Used within the idle timeout, the login lives on with the same id
	// (the server keeps the last use); 22 h after sign-in it is still
	// valid.
	e.Clock.Add(11 * time.Hour)
	r := c.get("/")
	if r.StatusCode != http.StatusOK || setCookie(r, dashboard.LoginCookie) != nil {
		t.Fatalf("11 h on: %d, cookie %+v; want 200 and the cookie left alone", r.StatusCode, setCookie(r, dashboard.LoginCookie))
	}
	e.Clock.Add(11 * time.Hour)
	if r := c.get("/"); r.StatusCode != http.StatusOK {
		t.Fatalf("22 h on, used 11 h ago: %d", r.StatusCode)
	}
	if c.jar.get(dashboard.LoginCookie) != first {
		t.Error("the login id changed without a sign-in")
	}

	// Idle for 12 h: signed out, on the server.
	e.Clock.Add(account.DefaultIdleTimeout)
	if r := c.get("/"); r.StatusCode != http.StatusSeeOther || c.jar.get(dashboard.LoginCookie) != "" {
		t.Fatalf("idle 12 h: %d, cookie %q; want 303 and the cookie deleted", r.StatusCode, c.jar.get(dashboard.LoginCookie))
	}
	// Used every 11 h, the login still ends 7 days after sign-in.
	c.login()
	start := e.Clock.Now()
	for e.Clock.Now().Add(11 * time.Hour).Before(start.Add(account.DefaultLifetime)) {
		e.Clock.Add(11 * time.Hour)
		if r := c.get("/"); r.StatusCode != http.StatusOK {
			t.Fatalf("%s after login: %d", e.Clock.Now().Sub(start), r.StatusCode)
		}
	}
	e.Clock.Add(start.Add(account.DefaultLifetime).Sub(e.Clock.Now()))
	if r := c.get("/"); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("7 days after login: %d, want 303", r.StatusCode)
	}

	// Configured timeouts are honoured: 30 min idle, 2 h at most.
	e = newEnv(t, func(o *envOptions) { o.Accounts.IdleTimeout, o.Accounts.Lifetime = 30*time.Minute, 2*time.Hour })
	c = e.client(t)
	c.login()
	e.Clock.Add(29 * time.Minute)
	if r := c.get("/"); r.StatusCode != http.StatusOK {
		t.Fatalf("29 min idle: %d, want 200", r.StatusCode)
	}
	e.Clock.Add(30 * time.Minute)
	if r := c.get("/"); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("30 min idle: %d, want 303", r.StatusCode)
	}
	c.login()
	for i := 0; i < 4; i++ {
		e.Clock.Add(29 * time.Minute)
		if r := c.get("/"); r.StatusCode != http.StatusOK {
			t.Fatalf("%d min after login: %d, want 200", 29*(i+1), r.StatusCode)
		}
	}
	e.Clock.Add(4 * time.Minute) // 2 h after sign-in
	if r := c.get("/"); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("2 h after login: %d, want 303", r.StatusCode)
	}
}

// TestLastUseWrites: requests record a login's last use at most once a
// minute, whatever their number.
func TestLastUseWrites(t *testing.T) {
	e := newEnv(t)
	c := e.client(t)
	c.login()
	rows := func() uint64 {
		t.Helper()
		var n uint64
		if err := e.AccountsDB.Conn().QueryRow(context.Background(), "SELECT count() FROM dashboard_logins").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := rows(); n != 1 {
		t.Fatalf("%d login rows after sign-in, want 1", n)
	}
	for i := 0; i < 30; i++ {
		if r := c.get("/"); r.StatusCode != http.StatusOK {
			t.Fatal(r.StatusCode)
		}
		e.Clock.Add(time.Second)
	}
	if n := rows(); n != 1 {
		t.Errorf("%d login rows after 30 requests within a minute, want 1", n)
	}
	e.Clock.Add(time.Minute)
	for i := 0; i < 10; i++ {
		c.get("/")
	}
	if n := rows(); n != 2 {
		t.Errorf("%d login rows a minute on, want 2", n)
	}
}

func TestCookieFlagsAndRedirects(t *testing.T) {
	c := newEnv(t).client(t)
	// Behind a TLS-terminating proxy the cookies are Secure, with the
	// __Host- prefix.
	preLogin, login := account.HostPrefix+dashboard.PreLoginCookie, account.HostPrefix+dashboard.LoginCookie
	c.header.Set("X-Forwarded-Proto", "https")
	r := c.get("/login")
	if ck := setCookie(r, preLogin); ck == nil || !ck.Secure || !ck.HttpOnly {
		t.Errorf("pre-login cookie over https: %+v", ck)
	}
	token, pre := inputValue(t, r.Body, "csrf"), c.jar.get(preLogin)
	for next, want := range map[string]string{
		"//evil.example/x":      "/",
		"https://evil.example/": "/",
		"/\\evil.example":       "/",
		"javascript:alert(1)":   "/",
		"/sites/example?x=1":    "/sites/example?x=1",
	} {
		r = c.post("/login", url.Values{"csrf": {token}, "username": {adminUser}, "password": {adminPassword}, "next": {next}})
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != want {
			t.Errorf("next %q: %d to %q, want %q", next, r.StatusCode, r.Header.Get("Location"), want)
		}
		if ck := setCookie(r, login); ck == nil || !ck.Secure || ck.Path != "/" || ck.Domain != "" {
			t.Errorf("login cookie over https: %+v", ck)
		}
		c.jar.set(preLogin, pre) // login deleted it: post the same form again
	}
}

func TestNew(t *testing.T) {
	a, err := account.New(account.Options{Conn: srv.DB.Conn(), Key: make([]byte, 16)})
	if err != nil {
		t.Fatal(err)
	}
	base := dashboard.Options{Reports: report.New(srv.DB), Sites: srv.DB, Accounts: a}
	if _, err := dashboard.New(base); err != nil {
		t.Fatalf("New(%+v): %v", base, err)
	}
	for name, f := range map[string]func(*dashboard.Options){
		"no reports":  func(o *dashboard.Options) { o.Reports = nil },
		"no sites":    func(o *dashboard.Options) { o.Sites = nil },
		"no accounts": func(o *dashboard.Options) { o.Accounts = nil },
	} {
		o := base
		f(&o)
		if _, err := dashboard.New(o); err == nil {
			t.Errorf("%s: New accepted %+v", name, o)
		}
	}
}

// TestSitePageReadsFinalOnce: the site page's statements read
// session_versions FINAL in one stream each (they run at once and keep the
// cores busy), though the range is long enough for report.Query's default
// split by session day.
func TestSitePageReadsFinalOnce(t *testing.T) {
	e := newEnv(t)
	c := e.client(t)
	c.login()
	const path = "/sites/example?from=2024-03-01&to=2024-03-20" // 20 days: split by default
	r := c.get(path)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", path, r.StatusCode)
	}
	body := string(r.Body)
	if !strings.Contains(body, "FROM session_versions FINAL") {
		t.Fatalf("the page shows no statement reading session_versions FINAL: the check proves nothing")
	}
	if strings.Contains(body, "UNION ALL\n  SELECT session_id, visitor_id, started_at") {
		t.Errorf("a statement of the page reads FINAL in slices")
	}
}
