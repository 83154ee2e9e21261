package collector

import (
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
