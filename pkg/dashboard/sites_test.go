package dashboard_test

import (
	"context"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/teller-analytics/teller/internal/testenv"
	"github.com/teller-analytics/teller/pkg/account"
	"github.com/teller-analytics/teller/pkg/dashboard"
	"github.com/teller-analytics/teller/pkg/site"
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
	for _, name := range snippet.AttrNames {
		if !strings.Contains(text(d.id("snippet-options")), name) {
			t.Errorf("the install panel does not explain the tag's %s", name)
		}
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

// TestSiteCollectorSettings: the site form offers every collector setting
// (site.Fields), shows the stored values, saves them, keeps what was typed
// when pkg/site refuses it, and an edit keeps the settings it does not
// change (it sends them all, as shown).
func TestSiteCollectorSettings(t *testing.T) {
	sites := testenv.OpenStore(t, srv.CH, "sites_collector_settings")
	e := newEnv(t, func(o *envOptions) { o.Dashboard.Sites, o.Dashboard.SiteSaver = sites, sites })
	c := e.client(t)
	c.login()
	tok := c.csrf()

	// A new site's form shows the defaults.
	d := c.mustGet("/sites/new", http.StatusOK)
	for _, f := range site.Fields {
		if n := d.id("setting-" + f.Name); attr(n, "name") != f.Name {
			t.Errorf("no form field %s", f.Name)
		}
	}
	if got := selectedValues(d); got["cookie-mode"] != "cookie" || got["same-site"] != "auto" || got["bots"] != "flag" ||
		got["respect-dnt"] != "off" || got["midnight-split"] != "default" || got["campaign-split"] != "default" {
		t.Errorf("defaults selected: %v", got)
	}
	// Each setting sits in its group's fieldset.
	for id, names := range map[string][]string{"collector-settings": {"cookie-mode", "respect-dnt"}, "sessions-settings": {"session-gap", "midnight-split", "campaign-split"}} {
		fs := d.id(id)
		if fs == nil {
			t.Fatalf("no fieldset %s", id)
		}
		for _, name := range names {
			if !strings.Contains(renderNode(fs), `id="setting-`+name+`"`) {
				t.Errorf("fieldset %s lacks %s", id, name)
			}
		}
	}

	form := url.Values{"csrf": {tok}, "id": {"blog"}, "domains": {"blog.example"}, "timezone": {"UTC"},
		"cookie-mode": {"cookieless"}, "cookie-domain": {"Blog.Example"}, "same-site": {"none"}, "bots": {"drop"},
		"query-params": {"page lang\nQ"}, "rate-limit": {"2.5"}, "rate-burst": {"30"},
		"respect-dnt": {"on"}, "midnight-split": {"on"}, "campaign-split": {"off"}, "session-gap": {"2h"}}
	if r := c.post("/sites", form); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("add: %d\n%s", r.StatusCode, r.Body)
	}
	want := site.Settings{CookieMode: "cookieless", CookieDomain: "blog.example", SameSite: "none", Bots: "drop",
		QueryParams: []string{"page", "lang", "q"}, RateLimit: 2.5, RateBurst: 30,
		RespectDNT: true, MidnightSplit: "on", CampaignSplit: "off", SessionGap: 2 * time.Hour}
	s, _, err := sites.GetSite(context.Background(), "blog")
	if err != nil || !reflect.DeepEqual(s.Settings, want) {
		t.Fatalf("stored settings %+v (%v), want %+v", s.Settings, err, want)
	}
	d = c.mustGet("/sites/blog/settings", http.StatusOK)
	if got := selectedValues(d); got["cookie-mode"] != "cookieless" || got["same-site"] != "none" || got["bots"] != "drop" ||
		got["respect-dnt"] != "on" || got["midnight-split"] != "on" || got["campaign-split"] != "off" {
		t.Errorf("stored choices shown: %v", got)
	}
	for name, v := range map[string]string{"cookie-domain": "blog.example", "query-params": "page,lang,q", "rate-limit": "2.5", "rate-burst": "30", "session-gap": "2h"} {
		if got := attr(d.id("setting-"+name), "value"); got != v {
			t.Errorf("%s shown as %q, want %q", name, got, v)
		}
	}

	// Refused by pkg/site's rules: 400 naming the problem, nothing saved,
	// what was typed kept.
	for _, bad := range []struct{ field, value, want string }{
		{"rate-limit", "fast", "rate limit"},
		{"rate-burst", "-2", "rate burst"},
		{"cookie-mode", "fingerprint", "cookie mode"},
		{"bots", "keep", "bot handling"},
		{"cookie-domain", "co.uk", "public suffix"},
		{"query-params", "a=b", "query parameter"},
		{"respect-dnt", "maybe", "respect-dnt"},
		{"midnight-split", "sometimes", "midnight split"},
		{"session-gap", "forever", "session gap"},
	} {
		f := url.Values{}
		for k, v := range form {
			f[k] = v
		}
		f.Del("id")
		f.Set(bad.field, bad.value)
		r := c.post("/sites/blog/settings", f)
		if r.StatusCode != http.StatusBadRequest || !strings.Contains(text(parse(t, r.Body).id("site-error")), bad.want) {
			t.Errorf("%s=%q: %d, want 400 saying %q\n%s", bad.field, bad.value, r.StatusCode, bad.want, r.Body)
			continue
		}
		if got := attr(parse(t, r.Body).id("setting-rate-limit"), "value"); bad.field == "rate-limit" && got != "fast" {
			t.Errorf("the form lost the typed rate limit: %q", got)
		}
	}
	if s2, _, _ := sites.GetSite(context.Background(), "blog"); !reflect.DeepEqual(s2.Settings, want) {
		t.Fatalf("a refused form changed the settings: %+v", s2.Settings)
	}

	// An edit as the form sends it: one setting changed, the rest as shown.
	edit := url.Values{"csrf": {tok}, "name": {"Blog"}, "domains": {"blog.example"}, "timezone": {"UTC"}}
	for _, f := range site.Fields {
		edit.Set(f.Name, want.Value(f.Name))
	}
	edit.Set("bots", "flag")
	if r := c.post("/sites/blog/settings", edit); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("edit: %d\n%s", r.StatusCode, r.Body)
	}
	want.Bots = "flag"
	if s2, _, _ := sites.GetSite(context.Background(), "blog"); !reflect.DeepEqual(s2.Settings, want) || s2.Name != "Blog" {
		t.Fatalf("after the edit: %+v, want settings %+v", s2, want)
	}
}

// selectedValues is each select's selected option, by the select's name.
func selectedValues(d *doc) map[string]string {
	out := map[string]string{}
	for _, sel := range d.all(func(n *html.Node) bool { return n.Data == "select" }) {
		for o := sel.FirstChild; o != nil; o = o.NextSibling {
			if o.Data == "option" && hasAttr(o, "selected") {
				out[attr(sel, "name")] = attr(o, "value")
			}
		}
	}
	return out
}

func hasAttr(n *html.Node, key string) bool {
	for _, a := range n.Attr {
		if a.Key == key {
			return true
		}
	}
	return false
}
