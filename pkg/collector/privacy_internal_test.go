package collector

import "testing"

var stripURLSeeds = []string{
	"", "https://a.example/", "https://a.example/?", "https://a.example/#", "https://a.example/?#", "https://a.example/?a=1&",
	"https://a.example/?&utm_source=s", "https://a.example/?utm_source=s&&ref=r", "https://a.example/?utm_source=s&ref=r#/route",
	"https://a.example/?utm_source=s#a=b", "https://a.example/?gclid=redacted", "https://a.example/?gclid=x", "https://a.example/?gclid=",
	"https://a.example/?page=2", "https://a.example/?Page=2&q=1", "https://a.example/?utm%5Fsource=s", "https://a.example/?=x",
	"https://a.example/p?x?y=1", "https://a.example/?ref", "https://a.example/?utm_source=s?t#f?g", "https://www.google.com/",
}

// The shortcut (return the URL itself) is taken only when rebuilding would
// give the same string back.
func TestStripURLShortcut(t *testing.T) {
	for _, u := range stripURLSeeds {
		if got, want := StripURL(u, []string{"page"}), rebuildURL(u, []string{"page"}); got != want {
			t.Errorf("StripURL(%q) = %q, rebuilt %q", u, got, want)
		}
	}
}

func FuzzStripURLShortcut(f *testing.F) {
	for _, u := range stripURLSeeds {
		f.Add(u)
	}
	f.Fuzz(func(t *testing.T, u string) {
		if got, want := StripURL(u, []string{"page"}), rebuildURL(u, []string{"page"}); got != want {
			t.Fatalf("StripURL(%q) = %q, rebuilt %q", u, got, want)
		}
	})
}
