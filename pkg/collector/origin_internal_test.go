package collector

import (
	"net/url"
	"testing"

	"github.com/teller-analytics/teller/pkg/site"
)

// checkSource skips parsing a Referer that is the Origin it just accepted
// with a "/" after it (what a page's fetch to another origin sends). That
// holds only if every Origin fromSite accepts stays accepted with the "/":
// this ties the shortcut to fromSite, and checkSource's answers to those of
// the two checks made in full.
func TestRefererOfOriginPasses(t *testing.T) {
	st := site.Site{ID: "shop", Domains: []string{"shop.example", "blog.example"}}
	if err := st.Normalize(); err != nil {
		t.Fatal(err)
	}
	for _, origin := range refererOfOriginSeeds {
		checkRefererOfOrigin(t, &st, origin)
	}
}

var refererOfOriginSeeds = []string{
	"https://shop.example", "http://shop.example", "https://shop.example:8443", "https://shop.example:",
	"https://blog.example", "https://shop.example/", "https://shop.example/a", "https://shop.example?q",
	"https://shop.example#f", "https://shop.example#%", "https://shop.example/%4", "https://user@shop.example",
	"ftp://shop.example", "null", "", "https://evil.example", "https://shop.example.evil.example",
	"https://[::1]", "HTTPS://SHOP.EXAMPLE", "https://shop.example\\@evil.example", "https://shop.example%2f",
}

func FuzzRefererOfOriginPasses(f *testing.F) {
	for _, s := range refererOfOriginSeeds {
		f.Add(s)
	}
	st := site.Site{ID: "shop", Domains: []string{"shop.example", "blog.example"}}
	if err := st.Normalize(); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, origin string) { checkRefererOfOrigin(t, &st, origin) })
}

func checkRefererOfOrigin(t *testing.T, st *site.Site, origin string) {
	t.Helper()
	referer := origin + "/"
	if fromSite(st, origin) == nil && fromSite(st, referer) != nil {
		t.Fatalf("Origin %q passes, Referer %q does not: %v", origin, referer, fromSite(st, referer))
	}
	// checkSource answers as the two checks made in full would.
	header, _ := checkSource(st, origin, referer)
	want := ""
	if origin != "" && fromSite(st, origin) != nil {
		want = "Origin"
	} else if fromSite(st, referer) != nil {
		want = "Referer"
	}
	if header != want {
		t.Fatalf("checkSource(%q, %q) refuses %q, want %q", origin, referer, header, want)
	}
}

// fromSite skips url.Parse for an origin in the form originHost accepts:
// every such string must parse to an http(s) URL with that host and no user
// info, so the shortcut accepts exactly what the parse would.
func TestOriginHostIsURLParse(t *testing.T) {
	for _, tc := range []struct {
		raw, host string
		ok        bool
	}{
		{"https://shop.example", "shop.example", true},
		{"http://shop.example", "shop.example", true},
		{"https://shop.example:8443", "shop.example", true},
		{"https://www.shop-1.example", "www.shop-1.example", true},
		{"https://127.0.0.1:38609", "127.0.0.1", true},
		{"https://shop.example:", "", false},       // an empty port: parsed in full
		{"https://shop.example:123456", "", false}, // six digits
		{"https://shop.example:8x", "", false},
		{"https://shop.example/", "", false},
		{"https://shop.example?q", "", false},
		{"https://shop.example#f", "", false},
		{"https://user@shop.example", "", false},
		{"https://SHOP.example", "", false},
		{"HTTPS://shop.example", "", false},
		{"https://[::1]", "", false},
		{"https://shop.example%2f", "", false},
		{"https://shop.example\\@evil.example", "", false},
		{"https://", "", false},
		{"https://:443", "", false},
		{"ftp://shop.example", "", false},
		{"null", "", false},
		{"", "", false},
	} {
		host, ok := originHost(tc.raw)
		if host != tc.host || ok != tc.ok {
			t.Errorf("originHost(%q) = %q, %v; want %q, %v", tc.raw, host, ok, tc.host, tc.ok)
		}
		checkOriginHost(t, originHostSite(t), tc.raw)
	}
}

func FuzzOriginHostIsURLParse(f *testing.F) {
	for _, s := range refererOfOriginSeeds {
		f.Add(s)
	}
	f.Add("https://127.0.0.1:38609")
	st := originHostSite(f)
	f.Fuzz(func(t *testing.T, raw string) { checkOriginHost(t, st, raw) })
}

func originHostSite(t testing.TB) *site.Site {
	st := site.Site{ID: "shop", Domains: []string{"shop.example", "127.0.0.1"}}
	if err := st.Normalize(); err != nil {
		t.Fatal(err)
	}
	return &st
}

// checkOriginHost fails when originHost accepts raw but url.Parse does not
// read it as an http(s) URL with that host and no user info, and when
// fromSite's answer with the shortcut differs from the parse's alone.
func checkOriginHost(t *testing.T, st *site.Site, raw string) {
	t.Helper()
	host, ok := originHost(raw)
	if ok {
		u, err := url.Parse(raw)
		switch {
		case err != nil:
			t.Fatalf("originHost(%q) accepts what url.Parse refuses: %v", raw, err)
		case u.Scheme != "http" && u.Scheme != "https", u.User != nil, u.Host == "", u.Hostname() != host:
			t.Fatalf("originHost(%q) = %q; url.Parse reads scheme %q, user %v, host %q", raw, host, u.Scheme, u.User, u.Hostname())
		}
	}
	if got, want := fromSite(st, raw) == nil, parsedFromSite(st, raw); got != want {
		t.Fatalf("fromSite(%q) accepts: %v, the parse alone: %v", raw, got, want)
	}
}

// parsedFromSite is fromSite's rule through url.Parse only, as before the
// shortcut.
func parsedFromSite(st *site.Site, raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && u.Host != "" && (u.Scheme == "http" || u.Scheme == "https") && u.User == nil && st.OwnsHost(u.Hostname())
}
