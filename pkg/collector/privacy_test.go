package collector_test

import (
	"testing"

	"github.com/teller-analytics/teller/pkg/collector"
	"github.com/teller-analytics/teller/pkg/enrich/campaign"
)

func TestStripURL(t *testing.T) {
	tests := []struct {
		in, want string
		extra    []string
	}{
		{"https://a.example/", "https://a.example/", nil},
		{"https://a.example/p?email=a%40b.example&token=x", "https://a.example/p", nil},
		{"https://a.example/?utm_source=s&x=1&utm_medium=m&Ref=r", "https://a.example/?utm_source=s&utm_medium=m&Ref=r", nil},
		{"https://a.example/?gclid=abc&msclkid=def", "https://a.example/?gclid=redacted&msclkid=redacted", nil},
		{"https://a.example/?gclid=&fbclid=+", "https://a.example/", nil},
		{"https://a.example/?page=2&q=secret", "https://a.example/?page=2", []string{"page"}},
		{"https://a.example/?Page=2", "https://a.example/?Page=2", []string{"page"}},
		{"https://a.example/?utm%5Fsource=s", "https://a.example/?utm%5Fsource=s", nil},
		{"https://a.example/app#/cart", "https://a.example/app#/cart", nil},
		{"https://a.example/cb#access_token=x&state=y", "https://a.example/cb", nil},
		{"https://a.example/?&&=x&", "https://a.example/", nil},
		{"", "", nil},
	}
	for _, tt := range tests {
		if got := collector.StripURL(tt.in, tt.extra); got != tt.want {
			t.Errorf("StripURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
		// The campaign survives: what enrichment reads from the stored URL is
		// what the collector read from the sent one.
		if a, b := campaign.FromURL(tt.in), campaign.FromURL(collector.StripURL(tt.in, tt.extra)); a != b {
			t.Errorf("%q: campaign %+v after stripping, %+v before", tt.in, b, a)
		}
	}
}

// FuzzStripURL: stripping never changes the campaign and is idempotent.
func FuzzStripURL(f *testing.F) {
	f.Add("https://a.example/?utm_source=s&gclid=x&email=e#f")
	f.Add("https://a.example/?UTM_CAMPAIGN=%20c%20&ref=r&utm_source=")
	f.Fuzz(func(t *testing.T, u string) {
		s := collector.StripURL(u, []string{"page"})
		if a, b := campaign.FromURL(u), campaign.FromURL(s); a != b {
			t.Fatalf("%q -> %q: campaign %+v, was %+v", u, s, b, a)
		}
		if again := collector.StripURL(s, []string{"page"}); again != s {
			t.Fatalf("not idempotent: %q -> %q -> %q", u, s, again)
		}
	})
}
