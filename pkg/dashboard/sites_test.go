package dashboard_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/teller-analytics/teller/internal/testenv"
	"github.com/teller-analytics/teller/pkg/account"
	"github.com/teller-analytics/teller/pkg/dashboard"
	"github.com/teller-analytics/teller/pkg/snippet"
)

// TestSiteSettings: an admin adds a site through the form (pkg/site's rules
// decide what is valid), is sent to its settings with the snippet to paste,
// and edits it; the site's admins may edit it, its viewers may not; the
// settings say whether events arrive.
func TestSiteSettings(t *testing.T) {
	// Sites live in a database of their own here, so that other tests keep
	// the data set's list.
	sites := testenv.OpenStore(t, srv.CH, "sites_settings")
	e := newEnv(t, func(o *envOptions) {
		o.Dashboard.Sites, o.Dashboard.SiteSaver = sites, sites
		o.Dashboard.Activity = srv.DB
		o.Dashboard.CollectorURL = "https://stats.shop.example"
	})
	c := e.client(t)
	c.login()
	tok := c.csrf()

	d := c.mustGet("/", http.StatusOK)
	if !strings.Contains(text(d.id("no-sites")), "add a site") || attr(d.id("add-site"), "href") != "/sites/new" {
		t.Errorf("an admin without sites is not told to add one: %s", text(d.id("no-sites")))
	}
	c.mustGet("/sites/new", http.StatusOK).id("site-form")

	for _, bad := range []struct {
		form url.Values
		want string
	}{
		{url.Values{"id": {"Shop!"}, "domains": {"shop.example"}}, "must be 1-64 of a-z"},
		{url.Values{"id": {"shop"}, "domains": {""}}, "needs at least one domain"},
		{url.Values{"id": {"shop"}, "domains": {"https://shop.example/path"}}, "bare host name"},
		{url.Values{"id": {"shop"}, "domains": {"shop.example"}, "timezone": {"Mars/Olympus"}}, "time zone"},
		{url.Values{"id": {"shop"}, "domains": {strings.Repeat("a.example ", 51)}}, "at most 50"},
	} {
		bad.form.Set("csrf", tok)
		r := c.post("/sites", bad.form)
		if r.StatusCode != http.StatusBadRequest || !strings.Contains(text(parse(t, r.Body).id("site-error")), bad.want) {
			t.Errorf("add %v: %d, want 400 saying %q\n%s", bad.form, r.StatusCode, bad.want, r.Body)
		}
		// What was typed is kept.
		if got := inputValue(t, r.Body, "id"); got != bad.form.Get("id") {
			t.Errorf("the form lost the id: %q", got)
		}
	}

	r := c.post("/sites", url.Values{"csrf": {tok}, "id": {"shop"}, "name": {"<b>Shop</b>"},
		"domains": {"Shop.Example\nwww.shop.example"}, "timezone": {"Europe/Berlin"}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/sites/shop/settings?done=added" {
		t.Fatalf("add: %d to %q\n%s", r.StatusCode, r.Header.Get("Location"), r.Body)
	}
	s, ok, err := sites.GetSite(context.Background(), "shop")
	if err != nil || !ok || s.Name != "<b>Shop</b>" || strings.Join(s.Domains, ",") != "shop.example,www.shop.example" || s.Timezone != "Europe/Berlin" {
		t.Fatalf("stored site %+v %v %v", s, ok, err)
	}
	d = c.mustGet("/sites/shop/settings?done=added", http.StatusOK)
	if got, want := text(d.id("snippet")), snippet.Tag("https://stats.shop.example", "shop"); got != want {
		t.Errorf("snippet %q, want %q", got, want)
	}
	if !strings.Contains(text(d.id("activity")), "No events") || !strings.Contains(text(d.id("message")), "Paste the snippet") {
		t.Errorf("a new site: %q / %q", text(d.id("activity")), text(d.id("message")))
	}
	if r := c.post("/sites", url.Values{"csrf": {tok}, "id": {"shop"}, "domains": {"x.example"}}); r.StatusCode != http.StatusConflict {
		t.Errorf("adding an existing id: %d, want 409", r.StatusCode)
	}

	// Edit: the id stays, the rest changes.
	r = c.post("/sites/shop/settings", url.Values{"csrf": {tok}, "id": {"other"}, "name": {"Shop"}, "domains": {"shop.example"}, "timezone": {"UTC"}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/sites/shop/settings?done=saved" {
		t.Fatalf("save: %d to %q\n%s", r.StatusCode, r.Header.Get("Location"), r.Body)
	}
	if s2, _, _ := sites.GetSite(context.Background(), "shop"); s2.Name != "Shop" || s2.Timezone != "UTC" || !s2.CreatedAt.Equal(s.CreatedAt) {
		t.Errorf("saved site %+v (created %s before)", s2, s.CreatedAt)
	}
	if _, ok, _ := sites.GetSite(context.Background(), "other"); ok {
		t.Error("the id changed on save")
	}
	if r := c.post("/sites/shop/settings", url.Values{"csrf": {tok}, "domains": {""}}); r.StatusCode != http.StatusBadRequest {
		t.Errorf("save without domains: %d", r.StatusCode)
	}

	// A viewer of the site reads it but cannot open or change its settings;
	// a site admin can.
	e.addUser(t, "vera", "vera's long password", map[string]account.Role{"shop": account.RoleViewer})
	e.addUser(t, "adam", "adam's long password", map[string]account.Role{"shop": account.RoleAdmin})
	vc := e.client(t)
	vc.loginAs("vera", "vera's long password")
	if r := vc.get("/sites/shop/settings"); r.StatusCode != http.StatusNotFound {
		t.Errorf("a viewer opens the settings: %d", r.StatusCode)
	}
	if r := vc.post("/sites/shop/settings", url.Values{"csrf": {vc.csrf()}, "domains": {"evil.example"}}); r.StatusCode != http.StatusNotFound {
		t.Errorf("a viewer saves the settings: %d", r.StatusCode)
	}
	ac := e.client(t)
	ac.loginAs("adam", "adam's long password")
	if r := ac.post("/sites/shop/settings", url.Values{"csrf": {ac.csrf()}, "name": {"Shop 2"}, "domains": {"shop.example"}, "timezone": {"UTC"}}); r.StatusCode != http.StatusSeeOther {
		t.Errorf("a site admin saves the settings: %d", r.StatusCode)
	}
	if r := ac.get("/sites/new"); r.StatusCode != http.StatusNotFound {
		t.Errorf("a site admin (not a Teller admin) opens /sites/new: %d", r.StatusCode)
	}

	// The data set's site has events: the latest before now, and today's.
	ex := newEnv(t, func(o *envOptions) { o.Dashboard.SiteSaver = srv.DB })
	xc := ex.client(t)
	xc.login()
	a := xc.mustGet("/sites/example/settings", http.StatusOK).id("activity")
	// Now is 15:00 UTC on March 12; S5's last event was at 10:00:15 UTC, and
	// S4 (2 events) and S5 (2) are of that Berlin day.
	if attr(a, "data-last") != "2024-03-12 11:00:15 CET" || attr(a, "data-today") != "4" || !strings.Contains(text(a), "Events are arriving") {
		t.Errorf("activity: %s (last %q, today %q)", text(a), attr(a, "data-last"), attr(a, "data-today"))
	}
}

// TestSitesReadOnly: without a SiteSaver the forms say why they cannot save.
func TestSitesReadOnly(t *testing.T) {
	e := newEnv(t)
	c := e.client(t)
	c.login()
	d := c.mustGet("/sites/example/settings", http.StatusOK)
	if !strings.Contains(text(d.id("sites-readonly")), "-accounts-clickhouse-user") {
		t.Errorf("read-only note: %q", text(d.id("sites-readonly")))
	}
	if r := c.post("/sites/example/settings", url.Values{"csrf": {c.csrf()}, "domains": {"example.com"}}); r.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("save without a SiteSaver: %d, want 503", r.StatusCode)
	}
	// Without a collector URL the snippet shows a placeholder to replace.
	if got := text(d.id("snippet")); !strings.Contains(got, dashboard.DefaultCollectorURL+"/teller.js") {
		t.Errorf("snippet without a collector URL: %q", got)
	}
}
