package dashboard_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"golang.org/x/net/html"

	"github.com/teller-analytics/teller/internal/reporttest"
	"github.com/teller-analytics/teller/pkg/account"
	"github.com/teller-analytics/teller/pkg/dashboard"
)

// HTTP-level tests of logins, accounts and access, against the real
// ClickHouse and the dashboard on a real TCP port.

// addUser creates a user with grants, as an admin would.
func (e *env) addUser(t *testing.T, name, password string, grants map[string]account.Role) {
	t.Helper()
	ctx := context.Background()
	if err := e.Accounts.AddUser(ctx, name, password, false); err != nil {
		t.Fatal(err)
	}
	for site, role := range grants {
		if err := e.Accounts.SetRole(ctx, name, site, role); err != nil {
			t.Fatal(err)
		}
	}
}

// raw sends a body of any type.
func (c *client) raw(method, path, contentType string, body io.Reader) response {
	c.t.Helper()
	req, err := http.NewRequest(method, c.env.URL+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	for k, v := range c.header {
		req.Header[k] = v
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{Response: resp, Body: string(b)}
}

// signedIn reports whether the client's login still opens the site list.
func (c *client) signedIn() bool {
	c.t.Helper()
	r := c.get("/")
	switch r.StatusCode {
	case http.StatusOK:
		return true
	case http.StatusSeeOther:
		return false
	}
	c.t.Fatalf("GET /: %d\n%s", r.StatusCode, r.Body)
	return false
}

// copyLogin is another browser (of env e) holding c's login cookie, as an
// attacker who copied it would.
func (c *client) copyLogin(t *testing.T, e *env) *client {
	o := e.client(t)
	o.jar.set(dashboard.LoginCookie, c.jar.get(dashboard.LoginCookie))
	return o
}

func TestFixation(t *testing.T) {
	e := newEnv(t)
	c := e.client(t)
	// A login id planted before sign-in (by a subdomain, a shared
	// computer) is not adopted: sign-in issues a new one.
	planted := strings.Repeat("A", 43)
	c.jar.set(dashboard.LoginCookie, planted)
	c.login()
	first := c.jar.get(dashboard.LoginCookie)
	if first == planted || len(first) != 43 {
		t.Fatalf("login cookie after sign-in = %q", first)
	}
	attacker := e.client(t)
	attacker.jar.set(dashboard.LoginCookie, planted)
	if attacker.signedIn() {
		t.Fatal("the planted id signs in")
	}
	// Signing in again gives a new id and ends the previous login.
	old := c.copyLogin(t, e)
	c.login()
	if got := c.jar.get(dashboard.LoginCookie); got == first {
		t.Error("a second sign-in kept the login id")
	}
	if old.signedIn() {
		t.Error("the previous login of the browser still works after a new sign-in")
	}
	if !c.signedIn() {
		t.Error("the new login does not work")
	}
}

func TestLogoutEndsLoginEverywhere(t *testing.T) {
	a := newEnv(t)
	b := newEnv(t, secondInstance(a))
	c := a.client(t)
	c.login()
	onB := c.copyLogin(t, b)
	if !onB.signedIn() {
		t.Fatal("the login does not work on the second instance")
	}
	cookie := c.jar.get(dashboard.LoginCookie)
	if r := c.post("/logout", url.Values{"csrf": {c.csrf()}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d", r.StatusCode)
	}
	// At once, with no wait, on both instances, for pages and the API.
	for i, e := range []*env{a, b} {
		x := e.client(t)
		x.jar.set(dashboard.LoginCookie, cookie)
		if x.signedIn() {
			t.Errorf("instance %d: the copied cookie still opens pages after logout", i+1)
		}
		x.jar.set(dashboard.LoginCookie, cookie)
		if r := x.get("/api/sites/example/summary"); r.StatusCode != http.StatusUnauthorized {
			t.Errorf("instance %d: API after logout: %d, want 401", i+1, r.StatusCode)
		}
	}
}

func TestPasswordChangeEndsLogins(t *testing.T) {
	a := newEnv(t)
	b := newEnv(t, secondInstance(a))
	a.addUser(t, "ann", "ann's first password", map[string]account.Role{"example": account.RoleViewer})
	laptop, phone := a.client(t), b.client(t)
	laptop.loginAs("ann", "ann's first password")
	phone.loginAs("ann", "ann's first password")
	stolen := laptop.copyLogin(t, b)

	tok := laptop.csrf()
	for _, tt := range []struct {
		form   url.Values
		status int
		msg    string
	}{
		{url.Values{"current": {"wrong"}, "new": {"ann's new password"}, "confirm": {"ann's new password"}}, http.StatusUnauthorized, "The current password is wrong."},
		{url.Values{"current": {"ann's first password"}, "new": {"short"}, "confirm": {"short"}}, http.StatusBadRequest, "at least 10 characters"},
		{url.Values{"current": {"ann's first password"}, "new": {"ann's new password"}, "confirm": {"typo"}}, http.StatusBadRequest, "differ"},
	} {
		tt.form.Set("csrf", tok)
		r := laptop.post("/account/password", tt.form)
		if r.StatusCode != tt.status || !strings.Contains(r.Body, tt.msg) {
			t.Errorf("password change %v: %d, want %d with %q", tt.form, r.StatusCode, tt.status, tt.msg)
		}
	}
	if !phone.signedIn() || !stolen.signedIn() {
		t.Fatal("a refused password change ended logins")
	}
	r := laptop.post("/account/password", url.Values{"csrf": {tok}, "current": {"ann's first password"},
		"new": {"ann's new password"}, "confirm": {"ann's new password"}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/account?done=password" {
		t.Fatalf("password change: %d to %q\n%s", r.StatusCode, r.Header.Get("Location"), r.Body)
	}
	// Every other login ends at once on both instances; the browser that
	// changed it got a new login.
	if phone.signedIn() {
		t.Error("the phone's login (second instance) survived the password change")
	}
	if stolen.signedIn() {
		t.Error("a copied cookie survived the password change")
	}
	if !laptop.signedIn() {
		t.Error("the browser that changed the password was signed out")
	}
	if r := phone.post("/login", url.Values{"csrf": {phone.loginToken()}, "username": {"ann"}, "password": {"ann's first password"}}); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("the old password: %d, want 401", r.StatusCode)
	}
	phone.loginAs("ann", "ann's new password")
}

func TestActiveLoginsAndRemoval(t *testing.T) {
	a := newEnv(t)
	b := newEnv(t, secondInstance(a))
	a.addUser(t, "ann", "ann's long password", map[string]account.Role{"example": account.RoleViewer})
	laptop, phone := a.client(t), b.client(t)
	phone.header.Set("User-Agent", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1")
	laptop.header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0")
	laptop.loginAs("ann", "ann's long password")
	phone.loginAs("ann", "ann's long password")

	d := laptop.mustGet("/account", http.StatusOK)
	rows := within(d.id("table-logins"), "login-row")
	if len(rows) != 2 {
		t.Fatalf("%d active logins listed, want 2", len(rows))
	}
	var other string
	for _, r := range rows {
		txt := text(r)
		if attr(r, "data-current") == "true" {
			if !strings.Contains(txt, "Firefox 125 on Linux (desktop)") || !strings.Contains(txt, "this browser") {
				t.Errorf("this browser's row: %q", txt)
			}
		} else {
			other = attr(r, "data-login")
			if !strings.Contains(txt, "Safari 17 on iOS (mobile)") || !strings.Contains(txt, "127.0.0.1") {
				t.Errorf("the phone's row: %q", txt)
			}
		}
	}
	if r := laptop.post("/account/logins/end", url.Values{"csrf": {laptop.csrf()}, "login": {other}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("end the phone's login: %d\n%s", r.StatusCode, r.Body)
	}
	if phone.signedIn() {
		t.Error("the ended login still works on the second instance")
	}
	if !laptop.signedIn() {
		t.Error("ending another login ended this one")
	}
	// Ann cannot end the admin's logins by guessing handles.
	admin := a.client(t)
	admin.login()
	if r := laptop.post("/account/logins/end", url.Values{"csrf": {laptop.csrf()}, "login": {"0000000000000000"}}); r.StatusCode != http.StatusNotFound {
		t.Errorf("end an unknown login: %d, want 404", r.StatusCode)
	}

	// Removing the user ends their logins at once, on every instance.
	phone.loginAs("ann", "ann's long password")
	r := admin.post("/users/remove", url.Values{"csrf": {admin.csrf()}, "username": {"ann"}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("remove ann: %d\n%s", r.StatusCode, r.Body)
	}
	if laptop.signedIn() || phone.signedIn() {
		t.Error("a removed user is still signed in")
	}
	if r := admin.post("/users/remove", url.Values{"csrf": {admin.csrf()}, "username": {adminUser}}); r.StatusCode != http.StatusBadRequest {
		t.Errorf("an admin removing themselves: %d, want 400", r.StatusCode)
	}
}

func TestUsersPage(t *testing.T) {
	e := newEnv(t)
	admin := e.client(t)
	admin.login()
	tok := admin.csrf()
	for _, tt := range []struct {
		path   string
		form   url.Values
		status int
	}{
		{"/users", url.Values{"username": {"bob"}, "password": {"bob's long password"}}, http.StatusSeeOther},
		{"/users", url.Values{"username": {"bob"}, "password": {"bob's long password"}}, http.StatusBadRequest},
		{"/users", url.Values{"username": {"eve"}, "password": {"short"}}, http.StatusBadRequest},
		{"/users/grant", url.Values{"username": {"bob"}, "site": {"other"}, "role": {"viewer"}}, http.StatusSeeOther},
		{"/users/grant", url.Values{"username": {"bob"}, "site": {"nosuch"}, "role": {"viewer"}}, http.StatusBadRequest},
		{"/users/grant", url.Values{"username": {"bob"}, "site": {"other"}, "role": {"owner"}}, http.StatusBadRequest},
		{"/users/grant", url.Values{"username": {"nobody"}, "site": {"other"}, "role": {"viewer"}}, http.StatusNotFound},
	} {
		tt.form.Set("csrf", tok)
		if r := admin.post(tt.path, tt.form); r.StatusCode != tt.status {
			t.Errorf("POST %s %v: %d, want %d\n%s", tt.path, tt.form, r.StatusCode, tt.status, r.Body)
		}
	}
	d := admin.mustGet("/users", http.StatusOK)
	var users []string
	for _, r := range within(d.id("table-users"), "user-row") {
		u := attr(r, "data-user")
		for _, g := range within(r, "grant") {
			u += " " + attr(g, "data-site") + ":" + attr(g, "data-role")
		}
		users = append(users, u)
	}
	if got := fmt.Sprint(users); got != "[admin bob other:viewer]" {
		t.Errorf("users page: %s, want [admin bob other:viewer]", got)
	}
	bob := e.client(t)
	bob.loginAs("bob", "bob's long password")
	if r := bob.get("/users"); r.StatusCode != http.StatusNotFound {
		t.Errorf("a non-admin opening /users: %d, want 404", r.StatusCode)
	}
	if r := bob.post("/users", url.Values{"csrf": {bob.csrf()}, "username": {"mallory"}, "password": {"a long password!"}}); r.StatusCode != http.StatusNotFound {
		t.Errorf("a non-admin adding a user: %d, want 404", r.StatusCode)
	}
	if _, ok, _ := e.Accounts.User(context.Background(), "mallory"); ok {
		t.Error("a non-admin added a user")
	}
}

// TestCrossSiteAccess: a user sees only the sites granted to them; every
// page, report and API route of another site answers exactly as for a site
// that does not exist.
func TestCrossSiteAccess(t *testing.T) {
	e := newEnv(t)
	e.addUser(t, "olga", "olga's long password", map[string]account.Role{"other": account.RoleViewer})
	c := e.client(t)
	c.loginAs("olga", "olga's long password")

	d := c.mustGet("/", http.StatusOK)
	var ids []string
	for _, li := range within(d.id("sites"), "site") {
		ids = append(ids, attr(li, "data-site-id"))
	}
	if fmt.Sprint(ids) != "[other]" {
		t.Errorf("olga's sites: %v, want [other]", ids)
	}
	if r := c.get("/sites/other?from=2024-03-10&to=2024-03-12"); r.StatusCode != http.StatusOK {
		t.Fatalf("granted site: %d", r.StatusCode)
	}
	tok := c.csrf()
	routes := []struct{ method, path string }{
		{"GET", "/sites/%s"},
		{"GET", "/sites/%s?from=2024-03-10&to=2024-03-12&bots=1"},
		{"GET", "/sites/%s/tokens"},
		{"POST", "/sites/%s/tokens"},
		{"POST", "/sites/%s/tokens/revoke"},
		{"GET", "/sites/%s/settings"},
		{"POST", "/sites/%s/settings"},
		{"POST", "/sites/%s/goals"},
		{"POST", "/sites/%s/goals/remove"},
		{"GET", "/api/sites/%s/summary"},
		{"GET", "/api/sites/%s/breakdown/pages"},
		{"GET", "/api/sites/%s/breakdown/channels"},
		{"GET", "/api/sites/%s/timeseries"},
		{"GET", "/api/sites/%s/sessions"},
	}
	// Viewers may read these; the list ends with the routes only a site's
	// admins may use (tokens, settings), checked again below.
	routes = append(routes[:2], append(readRoutes(), routes[2:]...)...)
	for _, rt := range routes {
		get := func(id string) response {
			path := fmt.Sprintf(rt.path, id)
			if rt.method == "POST" {
				return c.post(path, url.Values{"csrf": {tok}, "name": {"x"}, "token": {"x"}})
			}
			return c.get(path)
		}
		denied, missing := get("example"), get("nosuch")
		if denied.StatusCode != http.StatusNotFound {
			t.Errorf("%s %s of a site not granted: %d, want 404", rt.method, fmt.Sprintf(rt.path, "example"), denied.StatusCode)
		}
		// Same answer as for a site that does not exist, but for the id.
		if denied.StatusCode != missing.StatusCode || strings.ReplaceAll(denied.Body, "example", "ID") != strings.ReplaceAll(missing.Body, "nosuch", "ID") {
			t.Errorf("%s %s: not granted and missing answer differently:\n%s\n%s", rt.method, rt.path, denied.Body, missing.Body)
		}
	}
	// A viewer of a site may read it but not manage its tokens or settings.
	admin := routes[2+len(readRoutes()):]
	for _, rt := range admin[:7] {
		path := fmt.Sprintf(rt.path, "other")
		var r response
		if rt.method == "POST" {
			r = c.post(path, url.Values{"csrf": {tok}, "name": {"x"}, "token": {"x"}})
		} else {
			r = c.get(path)
		}
		if r.StatusCode != http.StatusNotFound {
			t.Errorf("viewer: %s %s: %d, want 404", rt.method, path, r.StatusCode)
		}
	}
	if list, _ := e.Accounts.Tokens(context.Background(), "other"); len(list) != 0 {
		t.Errorf("a viewer created tokens: %+v", list)
	}
	// And every read route answers the viewer of "other".
	for _, rt := range readRoutes() {
		path := strings.ReplaceAll(fmt.Sprintf(rt.path, "other"), "SESSION", reporttest.SessionID("O1").String())
		path = strings.ReplaceAll(path, "VISITOR", reporttest.VisitorID("V1").String())
		if r := c.get(path); r.StatusCode != http.StatusOK {
			t.Errorf("viewer: %s %s: %d, want 200", rt.method, path, r.StatusCode)
		}
	}
	// Adding a site is for admins only.
	if r := c.get("/sites/new"); r.StatusCode != http.StatusForbidden && r.StatusCode != http.StatusNotFound {
		t.Errorf("a viewer opens /sites/new: %d", r.StatusCode)
	}
	if r := c.post("/sites", url.Values{"csrf": {tok}, "id": {"mine"}, "domains": {"mine.example"}}); r.StatusCode != http.StatusForbidden && r.StatusCode != http.StatusNotFound {
		t.Errorf("a viewer adds a site: %d", r.StatusCode)
	}
}

// readRoutes are the report routes of a site (%s), for the cross-site test:
// every page, export and API call that reads a site's data. SESSION and
// VISITOR stand for ids of that site's data.
func readRoutes() []struct{ method, path string } {
	const rng = "?from=2024-03-10&to=2024-03-12"
	var out []struct{ method, path string }
	for _, p := range []string{
		"/sites/%s/sessions" + rng, "/sites/%s/sessions" + rng + "&format=csv",
		"/sites/%s/sessions/SESSION" + rng, "/sites/%s/visitors/VISITOR" + rng,
		"/sites/%s/breakdown/page" + rng, "/sites/%s/breakdown/channel" + rng + "&format=csv",
		"/api/sites/%s/series" + rng, "/api/sites/%s/sessions/list" + rng, "/api/sites/%s/sessions/SESSION" + rng,
		"/api/sites/%s/visitors/VISITOR" + rng, "/api/sites/%s/realtime" + rng, "/api/sites/%s/completeness" + rng,
		"/api/sites/%s/goals" + rng, "/api/sites/%s/funnel" + rng + "&step=page:/&step=page:/x", "/api/sites/%s/bots" + rng,
		"/api/sites/%s/engagement" + rng, "/api/sites/%s/event_props" + rng + "&event=x",
		"/sites/%s/goals" + rng, "/sites/%s/bots" + rng, "/sites/%s/breakdown/page" + rng + "&format=csv&part=engagement",
	} {
		out = append(out, struct{ method, path string }{"GET", p})
	}
	return out
}

func TestAPITokens(t *testing.T) {
	a := newEnv(t)
	b := newEnv(t, secondInstance(a))
	admin := a.client(t)
	admin.login()
	// The account page links to the token pages of the sites one manages.
	links := find(admin.mustGet("/account", http.StatusOK).id("managed-sites"), func(n *html.Node) bool { return n.Data == "a" }, nil)
	if len(links) != 2 || attr(links[0], "href") != "/sites/example/tokens" {
		t.Errorf("account page token links: %d, first %q", len(links), attr(links[0], "href"))
	}
	r := admin.post("/sites/example/tokens", url.Values{"csrf": {admin.csrf()}, "name": {"nightly export"}})
	if r.StatusCode != http.StatusOK {
		t.Fatalf("create token: %d\n%s", r.StatusCode, r.Body)
	}
	d := parse(t, r.Body)
	secret := text(d.id("token-secret"))
	id := attr(within(d.id("table-tokens"), "token-row")[0], "data-token")
	if !strings.HasPrefix(secret, "teller_") || id == "" {
		t.Fatalf("token %q, id %q", secret, id)
	}
	// Shown once: the list shows the id only.
	if strings.Contains(admin.get("/sites/example/tokens").Body, secret) {
		t.Error("the token is shown again")
	}
	var n uint64
	if err := a.AccountsDB.Conn().QueryRow(context.Background(), "SELECT count() FROM dashboard_tokens WHERE position(token_hash, ?) > 0 OR token_id = ?",
		secret, secret).Scan(&n); err != nil || n != 0 {
		t.Errorf("the token is stored in clear: %d, %v", n, err)
	}

	bearer := func(e *env, method, path, token string) response {
		c := e.client(t)
		c.header.Set("Authorization", "Bearer "+token)
		if method == "POST" {
			return c.post(path, url.Values{})
		}
		return c.get(path)
	}
	var byToken, byLogin map[string]any
	for _, e := range []*env{a, b} {
		r := bearer(e, "GET", "/api/sites/example/summary?from=2024-03-10&to=2024-03-12", secret)
		if r.StatusCode != http.StatusOK {
			t.Fatalf("token on the API: %d\n%s", r.StatusCode, r.Body)
		}
	}
	tc := a.client(t)
	tc.header.Set("Authorization", "Bearer "+secret)
	getJSON(t, tc, "/api/sites/example/summary?from=2024-03-10&to=2024-03-12", http.StatusOK, &byToken)
	getJSON(t, admin, "/api/sites/example/summary?from=2024-03-10&to=2024-03-12", http.StatusOK, &byLogin)
	if fmt.Sprint(byToken) != fmt.Sprint(byLogin) || byToken["sessions"] != 6.0 {
		t.Errorf("token summary %v, login summary %v", byToken, byLogin)
	}
	for _, tt := range []struct {
		method, path, token string
		status              int
	}{
		{"GET", "/api/sites/other/summary", secret, http.StatusNotFound},             // another site
		{"GET", "/api/sites/example/summary", secret + "x", http.StatusUnauthorized}, // mistyped
		{"GET", "/api/sites/example/summary", "", http.StatusUnauthorized},
		{"POST", "/api/sites/example/summary", secret, http.StatusNotFound}, // read-only: no such route
		{"GET", "/sites/example", secret, http.StatusSeeOther},              // pages need a login
		{"GET", "/sites/example/tokens", secret, http.StatusSeeOther},
	} {
		if r := bearer(a, tt.method, tt.path, tt.token); r.StatusCode != tt.status {
			t.Errorf("%s %s with token %.10q: %d, want %d", tt.method, tt.path, tt.token, r.StatusCode, tt.status)
		}
	}

	// Revoked on one instance: refused at once on both.
	if r := admin.post("/sites/example/tokens/revoke", url.Values{"csrf": {admin.csrf()}, "token": {id}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("revoke: %d\n%s", r.StatusCode, r.Body)
	}
	for _, e := range []*env{a, b} {
		if r := bearer(e, "GET", "/api/sites/example/summary", secret); r.StatusCode != http.StatusUnauthorized {
			t.Errorf("revoked token: %d, want 401", r.StatusCode)
		}
	}
}

func TestCSRFOnEveryForm(t *testing.T) {
	e := newEnv(t)
	c := e.client(t)
	c.login()
	forms := map[string]url.Values{
		"/logout":                      {},
		"/account/password":            {"current": {adminPassword}, "new": {"another long password"}, "confirm": {"another long password"}},
		"/account/logins/end":          {"login": {"x"}},
		"/users":                       {"username": {"mallory"}, "password": {"mallory's password"}},
		"/users/remove":                {"username": {"mallory"}},
		"/users/grant":                 {"username": {"admin"}, "site": {"example"}, "role": {"viewer"}},
		"/sites/example/tokens":        {"name": {"x"}},
		"/sites/example/tokens/revoke": {"token": {"x"}},
		"/sites":                       {"id": {"x"}, "domains": {"x.example"}, "bots": {"drop"}},
		"/sites/example/settings":      {"domains": {"example.com"}, "cookie-mode": {"cookieless"}},
	}
	other := e.client(t)
	other.login()
	for path, form := range forms {
		for name, token := range map[string]string{"no token": "", "sign-in form's token": c.loginToken(), "another login's token": other.csrf()} {
			f := url.Values{}
			for k, v := range form {
				f[k] = v
			}
			if token != "" {
				f.Set("csrf", token)
			}
			if r := c.post(path, f); r.StatusCode != http.StatusForbidden {
				t.Errorf("POST %s with %s: %d, want 403", path, name, r.StatusCode)
			}
		}
	}
	// Nothing happened.
	if !c.signedIn() {
		t.Error("a refused logout signed out")
	}
	if _, ok, _ := e.Accounts.User(context.Background(), "mallory"); ok {
		t.Error("a refused form added a user")
	}
	if list, _ := e.Accounts.Tokens(context.Background(), "example"); len(list) != 0 {
		t.Error("a refused form created a token")
	}
	c.login() // the password did not change
}

// TestConcurrentSignIns: 200 wrong passwords sent at once from one address
// are not all checked: each attempt reserves a slot before its check.
func TestConcurrentSignIns(t *testing.T) {
	e := newEnv(t)
	c := e.client(t)
	token := c.loginToken()
	var wg sync.WaitGroup
	codes := make([]int, 200)
	start := make(chan struct{})
	for i := range codes {
		wg.Go(func() {
			<-start
			req, _ := http.NewRequest("POST", e.URL+"/login", strings.NewReader(url.Values{"csrf": {token}, "username": {adminUser}, "password": {"wrong"}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.AddCookie(&http.Cookie{Name: dashboard.PreLoginCookie, Value: c.jar.get(dashboard.PreLoginCookie)})
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			codes[i] = resp.StatusCode
		})
	}
	close(start)
	wg.Wait()
	count := map[int]int{}
	for _, code := range codes {
		count[code]++
	}
	checked, throttled := counter(t, e, "credentials"), counter(t, e, "throttled")
	if checked > float64(account.LoginFailureLimit) || count[http.StatusUnauthorized] > account.LoginFailureLimit ||
		count[http.StatusTooManyRequests] < 200-account.LoginFailureLimit || checked+throttled != 200 {
		t.Errorf("200 concurrent wrong passwords: answers %v, %v checked, %v throttled; want at most %d checked",
			count, checked, throttled, account.LoginFailureLimit)
	}
	t.Logf("200 concurrent wrong passwords: answers %v", count)
	if r := c.post("/login", url.Values{"csrf": {token}, "username": {adminUser}, "password": {adminPassword}}); r.StatusCode != http.StatusTooManyRequests {
		t.Errorf("the right password from the blocked address: %d, want 429", r.StatusCode)
	}
}

// TestLockedOutUser: failures spread over many addresses block the user
// name for new browsers, but the user still gets in from a browser that
// signed in before.
func TestLockedOutUser(t *testing.T) {
	e := newEnv(t, trustProxy)
	known := e.client(t)
	known.header.Set("X-Forwarded-For", "192.0.2.10")
	known.login()
	if r := known.post("/logout", url.Values{"csrf": {known.csrf()}}); r.StatusCode != http.StatusSeeOther {
		t.Fatal(r.StatusCode)
	}
	attacker := e.client(t)
	token := attacker.loginToken()
	for i := 0; i < account.UserFailureLimit; i++ {
		attacker.header.Set("X-Forwarded-For", fmt.Sprintf("203.0.113.%d", i+1))
		if r := attacker.post("/login", url.Values{"csrf": {token}, "username": {adminUser}, "password": {"guess"}}); r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d, want 401", i+1, r.StatusCode)
		}
	}
	stranger := e.client(t)
	stranger.header.Set("X-Forwarded-For", "198.51.100.1")
	r := stranger.post("/login", url.Values{"csrf": {stranger.loginToken()}, "username": {adminUser}, "password": {adminPassword}})
	if r.StatusCode != http.StatusTooManyRequests || !strings.Contains(r.Body, "Too many failed sign-ins for this user") {
		t.Errorf("a new browser after %d failures for the user: %d, want 429\n%s", account.UserFailureLimit, r.StatusCode, r.Body)
	}
	if !strings.Contains(r.Body, "from a browser that signed in as this user before") {
		t.Error("the refusal does not say how to get in")
	}
	// The admin's own browser passes, with the right password only.
	if r := known.post("/login", url.Values{"csrf": {known.loginToken()}, "username": {adminUser}, "password": {"guess"}}); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("known browser, wrong password: %d, want 401", r.StatusCode)
	}
	known.login()
	// A device cookie of another user does not help.
	e.addUser(t, "mallory", "mallory's password", nil)
	m := e.client(t)
	m.header.Set("X-Forwarded-For", "198.51.100.2")
	m.loginAs("mallory", "mallory's password")
	for i := 0; i < account.UserFailureLimit; i++ {
		attacker.header.Set("X-Forwarded-For", fmt.Sprintf("203.0.114.%d", i+1))
		attacker.post("/login", url.Values{"csrf": {token}, "username": {adminUser}, "password": {"guess"}})
	}
	if r := m.post("/login", url.Values{"csrf": {m.loginToken()}, "username": {adminUser}, "password": {adminPassword}}); r.StatusCode != http.StatusTooManyRequests {
		t.Errorf("another user's known browser: %d, want 429", r.StatusCode)
	}
}

// TestBodyLimits: bodies are bounded and must be URL-encoded forms, before
// anything parses them (the CSRF check included).
func TestBodyLimits(t *testing.T) {
	e := newEnv(t)
	c := e.client(t)
	token := c.loginToken()
	big := url.Values{"csrf": {token}, "username": {adminUser}, "password": {strings.Repeat("x", 20<<10)}}.Encode()
	multipart := "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x\"\r\n\r\n" + strings.Repeat("x", 1<<20) + "\r\n--b--\r\n"
	for _, tt := range []struct {
		name, path, ctype string
		body              io.Reader
		status            int
	}{
		{"multipart", "/login", "multipart/form-data; boundary=b", strings.NewReader(multipart), http.StatusUnsupportedMediaType},
		{"endless multipart", "/login", "multipart/form-data; boundary=b", endless{}, http.StatusUnsupportedMediaType},
		{"json", "/login", "application/json", strings.NewReader(`{"username":"admin"}`), http.StatusUnsupportedMediaType},
		{"20 KiB form", "/login", "application/x-www-form-urlencoded", strings.NewReader(big), http.StatusRequestEntityTooLarge},
		{"endless form", "/login", "application/x-www-form-urlencoded", endless{}, http.StatusRequestEntityTooLarge},
		{"endless form, signed out", "/logout", "application/x-www-form-urlencoded", endless{}, http.StatusRequestEntityTooLarge},
		{"setup", "/setup", "multipart/form-data; boundary=b", strings.NewReader(multipart), http.StatusUnsupportedMediaType},
	} {
		if r := c.raw("POST", tt.path, tt.ctype, tt.body); r.StatusCode != tt.status {
			t.Errorf("%s: %d, want %d", tt.name, r.StatusCode, tt.status)
		}
	}
	if got := counter(t, e, "csrf") + counter(t, e, "credentials"); got != 0 {
		t.Errorf("refused bodies reached the sign-in checks: %v", got)
	}
	c.login()
}

// endless is a body that never ends.
type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	return len(p), nil
}

// TestNoUserEnumeration: an unknown user name gets the answer a wrong
// password gets.
func TestNoUserEnumeration(t *testing.T) {
	e := newEnv(t)
	c := e.client(t)
	token := c.loginToken()
	body := func(user string) (int, string) {
		r := c.post("/login", url.Values{"csrf": {token}, "username": {user}, "password": {"wrong"}})
		return r.StatusCode, strings.ReplaceAll(r.Body, `value="`+user+`"`, `value="USER"`)
	}
	s1, b1 := body(adminUser)
	s2, b2 := body("nosuchuser")
	if s1 != s2 || b1 != b2 {
		t.Errorf("known and unknown user answer differently: %d vs %d\n%s\n%s", s1, s2, b1, b2)
	}
}

func TestSetupLink(t *testing.T) {
	e := newEnv(t, func(o *envOptions) { o.Accounts.AdminUser, o.Accounts.AdminPassword = "", "" })
	// newEnv's Bootstrap made a setup token; a second Bootstrap replaces it.
	token, err := e.Accounts.Bootstrap(context.Background())
	if err != nil || token == "" {
		t.Fatalf("Bootstrap: %q, %v", token, err)
	}
	c := e.client(t)
	if r := c.get("/setup?token=wrong"); r.StatusCode != http.StatusNotFound {
		t.Errorf("setup with a wrong token: %d", r.StatusCode)
	}
	r := c.get("/setup?token=" + url.QueryEscape(token))
	if r.StatusCode != http.StatusOK {
		t.Fatalf("setup form: %d", r.StatusCode)
	}
	form := url.Values{"csrf": {inputValue(t, r.Body, "csrf")}, "token": {token}, "username": {"root"},
		"password": {"root's long password"}, "confirm": {"root's long password"}}
	if r := c.post("/setup", url.Values{"token": {token}, "username": {"x"}, "password": {"0123456789"}, "confirm": {"0123456789"}}); r.StatusCode != http.StatusForbidden {
		t.Errorf("setup without CSRF token: %d, want 403", r.StatusCode)
	}
	if r := c.post("/setup", form); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("setup: %d\n%s", r.StatusCode, r.Body)
	}
	if r := c.post("/setup", form); r.StatusCode != http.StatusNotFound {
		t.Errorf("setup twice: %d, want 404", r.StatusCode)
	}
	c.loginAs("root", "root's long password")
	if d := c.mustGet("/", http.StatusOK); len(d.all(func(n *html.Node) bool { return attr(n, "id") == "nav-users" })) != 1 {
		t.Error("the first user is not an admin")
	}
}

func TestSecurityHeaders(t *testing.T) {
	c := newEnv(t).client(t)
	for _, https := range []bool{false, true} {
		if https {
			c.header.Set("X-Forwarded-Proto", "https")
		}
		r := c.get("/login")
		h := r.Header
		if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("X-Frame-Options") != "DENY" || h.Get("Referrer-Policy") != "same-origin" ||
			!strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
			t.Errorf("https=%v: headers %v", https, h)
		}
		if got := h.Get("Strict-Transport-Security"); (got != "") != https {
			t.Errorf("https=%v: Strict-Transport-Security %q", https, got)
		}
		ck := setCookie(r, account.CookieName(&http.Request{Header: http.Header{"X-Forwarded-Proto": {map[bool]string{true: "https"}[https]}}}, dashboard.PreLoginCookie))
		if ck == nil || ck.Secure != https || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode {
			t.Errorf("https=%v: pre-login cookie %+v", https, ck)
		}
	}
	// Over https an unprefixed cookie (which plain http could plant) is
	// ignored.
	c = newEnv(t).client(t)
	c.login()
	c.header.Set("X-Forwarded-Proto", "https")
	if c.signedIn() {
		t.Error("an unprefixed login cookie is read over https")
	}
}
