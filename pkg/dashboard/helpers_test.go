package dashboard_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/net/html"

	"github.com/teller-analytics/teller/internal/reporttest"
	"github.com/teller-analytics/teller/internal/testenv"
	"github.com/teller-analytics/teller/pkg/account"
	"github.com/teller-analytics/teller/pkg/dashboard"
	"github.com/teller-analytics/teller/pkg/report"
	"github.com/teller-analytics/teller/pkg/service"
	"github.com/teller-analytics/teller/pkg/site"
	"github.com/teller-analytics/teller/pkg/store"
)

// srv is the package's one ClickHouse, seeded with reporttest's data set.
var srv *reporttest.Server

func TestMain(m *testing.M) { os.Exit(reporttest.Main(m, "pkg/dashboard", &srv)) }

const (
	adminUser     = "admin"
	adminPassword = "correct horse battery staple"
)

// now is the tests' default clock: the afternoon of the data set's last day.
var now = time.Date(2024, 3, 12, 15, 0, 0, 0, time.UTC)

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is a dashboard served over a real TCP listener, with account tables
// of its own (a fresh database on srv) unless it shares another env's.
type env struct {
	URL      string
	Clock    *clock
	Reg      *prometheus.Registry
	D        *dashboard.Dashboard
	Accounts *account.Accounts
	// AccountsDB holds the account tables.
	AccountsDB *store.DB
}

// envOptions are what a test may change before the env starts.
type envOptions struct {
	Dashboard dashboard.Options
	Accounts  account.Options
	// Shared, when set, is the env whose account tables this one uses: a
	// second dashboard instance.
	Shared *env
	// Clock, when set, is shared with another env.
	Clock *clock
	// AccountsDB, when set, holds the account tables.
	AccountsDB *store.DB
}

type option func(*envOptions)

// trustProxy makes the dashboard read client addresses from X-Forwarded-For.
func trustProxy(o *envOptions) { o.Dashboard.TrustProxy = true }

// secondInstance makes a dashboard that shares first's account tables and
// clock, as a second instance behind a load balancer would.
func secondInstance(first *env) option {
	return func(o *envOptions) { o.Shared, o.Clock = first, first.Clock }
}

var accountDBs atomic.Int64

// newAccountsDB opens a fresh, migrated database on srv for account tables.
func newAccountsDB(t testing.TB) *store.DB {
	t.Helper()
	name := fmt.Sprintf("accounts_%d", accountDBs.Add(1))
	return testenv.OpenStore(t, srv.CH, name)
}

func newEnv(t testing.TB, opts ...option) *env {
	t.Helper()
	reg := prometheus.NewRegistry()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	o := envOptions{
		Dashboard: dashboard.Options{Reports: report.New(srv.DB), Sites: srv.DB, Logger: log, Registerer: reg},
		Accounts: account.Options{AdminUser: adminUser, AdminPassword: adminPassword,
			Key: []byte("0123456789abcdef0123456789abcdef"), Logger: log},
	}
	for _, f := range opts {
		f(&o)
	}
	e := &env{Reg: reg, Clock: o.Clock}
	if e.Clock == nil {
		e.Clock = &clock{t: now}
	}
	switch {
	case o.AccountsDB != nil:
		e.AccountsDB = o.AccountsDB
	case o.Shared != nil:
		e.AccountsDB = o.Shared.AccountsDB
	default:
		e.AccountsDB = newAccountsDB(t)
	}
	o.Accounts.Conn = e.AccountsDB.Conn()
	a, err := account.New(o.Accounts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Bootstrap(context.Background()); err != nil {
		t.Fatal(err)
	}
	o.Dashboard.Accounts = a
	d, err := dashboard.New(o.Dashboard)
	if err != nil {
		t.Fatal(err)
	}
	d.SetClock(e.Clock.Now)
	r := service.NewEngine(log)
	d.Mount(r)
	hs := httptest.NewServer(r)
	t.Cleanup(hs.Close)
	e.URL, e.D, e.Accounts = hs.URL, d, a
	return e
}

// jar is a cookie jar that ignores expiry dates (the tests' clock is in
// 2024), keeps one cookie per name and forgets cookies set with Max-Age < 0.
type jar struct {
	mu sync.Mutex
	m  map[string]*http.Cookie
}

func (j *jar) SetCookies(_ *url.URL, cookies []*http.Cookie) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, c := range cookies {
		if c.MaxAge < 0 {
			delete(j.m, c.Name)
		} else {
			j.m[c.Name] = c
		}
	}
}

func (j *jar) Cookies(*url.URL) []*http.Cookie {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []*http.Cookie
	for _, c := range j.m {
		out = append(out, &http.Cookie{Name: c.Name, Value: c.Value})
	}
	return out
}

func (j *jar) get(name string) string {
	j.mu.Lock()
	defer j.mu.Unlock()
	if c := j.m[name]; c != nil {
		return c.Value
	}
	return ""
}

func (j *jar) del(name string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	delete(j.m, name)
}

func (j *jar) set(name, value string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.m[name] = &http.Cookie{Name: name, Value: value}
}

// client is one browser: a cookie jar, redirects not followed.
type client struct {
	t   testing.TB
	env *env
	jar *jar
	hc  *http.Client
	// header is added to every request.
	header http.Header
}

func (e *env) client(t testing.TB) *client {
	j := &jar{m: map[string]*http.Cookie{}}
	return &client{t: t, env: e, jar: j, header: http.Header{}, hc: &http.Client{
		Jar: j, Timeout: 60 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

type response struct {
	*http.Response
	Body string
}

func (c *client) do(method, path string, form url.Values) response {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, c.env.URL+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range c.header {
		req.Header[k] = v
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return response{Response: resp, Body: string(b)}
}

func (c *client) get(path string) response { c.t.Helper(); return c.do(http.MethodGet, path, nil) }
func (c *client) post(path string, form url.Values) response {
	c.t.Helper()
	return c.do(http.MethodPost, path, form)
}

// loginToken loads the login form and returns its CSRF token. A signed-in
// browser is sent on by /login, so the form is loaded without the login
// cookie, which is then put back (to sign in again over a login).
func (c *client) loginToken() string {
	c.t.Helper()
	if id := c.jar.get(dashboard.LoginCookie); id != "" {
		c.jar.del(dashboard.LoginCookie)
		defer c.jar.set(dashboard.LoginCookie, id)
	}
	r := c.get("/login")
	if r.StatusCode != http.StatusOK {
		c.t.Fatalf("GET /login: %d", r.StatusCode)
	}
	return inputValue(c.t, r.Body, "csrf")
}

// login signs in as the admin through the form and checks the redirect.
func (c *client) login() { c.t.Helper(); c.loginAs(adminUser, adminPassword) }

// loginAs signs in as user through the form and checks the redirect.
func (c *client) loginAs(user, password string) {
	c.t.Helper()
	r := c.post("/login", url.Values{"csrf": {c.loginToken()}, "username": {user}, "password": {password}, "next": {"/"}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/" {
		c.t.Fatalf("login as %s: %d to %q, want 303 to /\n%s", user, r.StatusCode, r.Header.Get("Location"), r.Body)
	}
}

// csrf is the CSRF token of a signed-in page (the sign-out form's).
func (c *client) csrf() string {
	c.t.Helper()
	return inputValue(c.t, c.get("/account").Body, "csrf")
}

func (c *client) mustGet(path string, status int) *doc {
	c.t.Helper()
	r := c.get(path)
	if r.StatusCode != status {
		c.t.Fatalf("GET %s: %d, want %d\n%s", path, r.StatusCode, status, r.Body)
	}
	return parse(c.t, r.Body)
}

// doc is a parsed HTML page.
type doc struct {
	t    testing.TB
	root *html.Node
}

func parse(t testing.TB, body string) *doc {
	t.Helper()
	n, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return &doc{t: t, root: n}
}

func find(n *html.Node, match func(*html.Node) bool, out []*html.Node) []*html.Node {
	if n.Type == html.ElementNode && match(n) {
		out = append(out, n)
	}
	for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
		out = find(ch, match, out)
	}
	return out
}

func (d *doc) all(match func(*html.Node) bool) []*html.Node { return find(d.root, match, nil) }

func (d *doc) id(id string) *html.Node {
	d.t.Helper()
	found := d.all(func(n *html.Node) bool { return attr(n, "id") == id })
	if len(found) != 1 {
		d.t.Fatalf("%d elements with id %q, want 1", len(found), id)
	}
	return found[0]
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func hasClass(n *html.Node, class string) bool {
	for _, c := range strings.Fields(attr(n, "class")) {
		if c == class {
			return true
		}
	}
	return false
}

func within(n *html.Node, class string) []*html.Node {
	return find(n, func(n *html.Node) bool { return hasClass(n, class) }, nil)
}

func text(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
			walk(ch)
		}
	}
	walk(n)
	return strings.Join(strings.Fields(b.String()), " ")
}

// inputValue is the value of the input named name.
func inputValue(t testing.TB, body, name string) string {
	t.Helper()
	found := parse(t, body).all(func(n *html.Node) bool { return n.Data == "input" && attr(n, "name") == name })
	if len(found) == 0 || attr(found[0], "value") == "" {
		t.Fatalf("no input %q with a value in\n%s", name, body)
	}
	return attr(found[0], "value")
}

// tableRows reads a breakdown table as key: visitors/sessions/pageviews.
func tableRows(t testing.TB, d *doc, id string) []string {
	t.Helper()
	var out []string
	for _, tr := range within(d.id(id), "row") {
		cell := func(class string) string {
			c := within(tr, class)
			if len(c) != 1 {
				t.Fatalf("%s: row %q has %d %s cells", id, attr(tr, "data-key"), len(c), class)
			}
			return attr(c[0], "data-value")
		}
		out = append(out, fmt.Sprintf("%s|%s: %s/%s/%s", attr(tr, "data-key"), text(within(tr, "key")[0]),
			cell("visitors"), cell("sessions"), cell("pageviews")))
	}
	return out
}

// setCookie finds the named cookie in a response's Set-Cookie headers.
func setCookie(r response, name string) *http.Cookie {
	for _, c := range r.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// siteLister is a SiteLister with fixed answers.
type siteLister struct {
	sites []site.Site
	err   error
}

func (s siteLister) ListSites(context.Context) ([]site.Site, error) { return s.sites, s.err }

func (s siteLister) GetSite(_ context.Context, id string) (site.Site, bool, error) {
	for _, x := range s.sites {
		if x.ID == id {
			return x, true, s.err
		}
	}
	return site.Site{}, false, s.err
}
