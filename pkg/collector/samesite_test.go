package collector

import (
	"net"
	"testing"
)

// The cache answers what SameRegistrableDomain answers, the first time and
// from the cache, and holds no more pairs than its size.
func TestSameSiteCache(t *testing.T) {
	c := newSameSiteCache(2)
	pairs := []struct {
		collector, page string
		want            bool
	}{
		{"stats.shop.example", "www.shop.example", true},
		{"stats.example.com", "shop.example", false},
		{"collector.github.io", "site.github.io", false}, // a public suffix: two owners
		{"STATS.shop.example.", "shop.example", true},
	}
	for round := 0; round < 2; round++ {
		for _, p := range pairs {
			if got := c.same(p.collector, p.page); got != p.want || got != SameRegistrableDomain(p.collector, p.page) {
				t.Fatalf("round %d: same(%q, %q) = %v, want %v", round, p.collector, p.page, got, p.want)
			}
		}
	}
	if n := c.c.Len(); n > 2 {
		t.Fatalf("%d pairs cached, bound 2", n)
	}
}

// hostWithoutPort answers what the SplitHostPort-or-the-whole-value it
// replaces answered, for every shape of Host header.
func TestHostWithoutPortIsSplitHostPort(t *testing.T) {
	hosts := []string{"", "example.com", "example.com:8080", "stats.example.com:443", "127.0.0.1", "127.0.0.1:80",
		"[::1]", "[::1]:8080", "::1", "a:b:c", "example.com:", ":80", "[::1", "::1]", "[fe80::1%25en0]:443", "x]:1", "[a]b:1"}
	for _, h := range hosts {
		want, _, err := net.SplitHostPort(h)
		if err != nil {
			want = h
		}
		if got := hostWithoutPort(h); got != want {
			t.Errorf("hostWithoutPort(%q) = %q, want %q", h, got, want)
		}
	}
}
