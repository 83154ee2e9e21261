package collector

import (
	"net/http"
	"strings"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/teller-analytics/teller/pkg/enrich"
)

// prefetch reports whether the request is a speculative fetch the browser
// made before (or without) the person seeing the page.
// It is asked on every event: the names are canonical already, so the map
// is read directly (what Header.Get does after canonicalizing the name).
func prefetch(h http.Header) bool {
	for _, name := range purposeHeaders {
		if v := h[name]; len(v) > 0 && v[0] != "" && (strings.Contains(strings.ToLower(v[0]), "prefetch") || strings.Contains(strings.ToLower(v[0]), "prerender")) {
			return true
		}
	}
	return false
}

// purposeHeaders name a speculative fetch, in canonical form.
var purposeHeaders = [...]string{"Sec-Purpose", "Purpose", "X-Purpose", "X-Moz"}

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
