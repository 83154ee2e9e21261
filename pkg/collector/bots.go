package collector

import (
	"net/http"
	"strings"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/teller-analytics/teller/pkg/enrich"
)

// prefetch reports whether the request is a speculative fetch the browser
// made before (or without) the person seeing the page.
func prefetch(h http.Header) bool {
	for _, name := range []string{"Sec-Purpose", "Purpose", "X-Purpose", "X-Moz"} {
		if v := h.Get(name); v != "" && (strings.Contains(strings.ToLower(v), "prefetch") || strings.Contains(strings.ToLower(v), "prerender")) {
			return true
		}
	}
	return false
}

// botCache remembers pkg/enrich's verdict per user agent, so bot detection
// (a few microseconds) runs once per distinct agent.
type botCache struct{ c *lru.Cache[string, string] }

func newBotCache(size int) *botCache {
	c, err := lru.New[string, string](size)
	if err != nil {
		panic(err) // size is a positive constant
	}
	return &botCache{c: c}
}

// reason is why the request is not a person viewing the page ("" if it is):
// a prefetch first, then the user agent as pkg/enrich classifies it.
func (b *botCache) reason(h http.Header, ua string) string {
	if prefetch(h) {
		return "prefetch"
	}
	if ua == "" {
		return ""
	}
	if r, ok := b.c.Get(ua); ok {
		return r
	}
	r := enrich.BotReason(ua)
	b.c.Add(ua, r)
	return r
}
