package collector

import lru "github.com/hashicorp/golang-lru/v2"

// sameSiteCache remembers SameRegistrableDomain per (collector host, page
// host) for the cookie's SameSite in auto mode: the public-suffix look-up
// cost about 3% of a request's CPU (docs/benchmarks.md) and the pairs are
// few. The collector host comes from the Host header, so the cache is
// bounded.
type sameSiteCache struct{ c *lru.Cache[[2]string, bool] }

func newSameSiteCache(size int) *sameSiteCache {
	c, err := lru.New[[2]string, bool](size)
	if err != nil {
		panic(err) // size is a positive constant
	}
	return &sameSiteCache{c: c}
}

func (s *sameSiteCache) same(collectorHost, pageHost string) bool {
	k := [2]string{collectorHost, pageHost}
	if v, ok := s.c.Get(k); ok {
		return v
	}
	v := SameRegistrableDomain(collectorHost, pageHost)
	s.c.Add(k, v)
	return v
}
