package collector

import (
	"net/url"
	"strings"

	"github.com/teller-analytics/teller/pkg/enrich/campaign"
)

// clickIDPlaceholder replaces a click id's value in a stored URL: the
// parameter's name says which network sent the visitor (campaign.FromURL
// still reads the type from it), the id itself, which identifies the click
// and through it the person, is not kept.
const clickIDPlaceholder = "redacted"

// StripURL returns rawURL with its query reduced to the allow-list: utm_*
// parameters, ref, and the site's own additions (lower-case names, extra).
// Click-id parameters keep their name with clickIDPlaceholder as value.
// Everything else (e-mail addresses, reset tokens, search terms) is dropped,
// in order of appearance otherwise unchanged. A fragment is kept only when it
// looks like a route (no '=' in it), since OAuth and similar flows put tokens
// there. The campaign must be read before: campaign.FromURL(StripURL(u))
// equals campaign.FromURL(u) for the utm_* and ref values and the click-id
// type.
func StripURL(rawURL string, extra []string) string {
	if keepsAll(rawURL, extra) {
		return rawURL // most page URLs and referrers: no copy to make
	}
	return rebuildURL(rawURL, extra)
}

// keepsAll reports whether rebuildURL would return rawURL unchanged: every
// query pair kept as it is, no empty pair or empty query, and no fragment or
// one that stays. TestStripURLShortcut holds it to rebuildURL.
func keepsAll(rawURL string, extra []string) bool {
	rest, frag, hasFrag := strings.Cut(rawURL, "#")
	if hasFrag && (frag == "" || strings.ContainsAny(frag, "=")) {
		return false
	}
	_, query, hasQuery := strings.Cut(rest, "?")
	if !hasQuery {
		return true
	}
	if query == "" {
		return false
	}
	for query != "" {
		var pair string
		var more bool
		pair, query, more = strings.Cut(query, "&")
		if kept, ok := keepParam(pair, extra); !ok || kept != pair || (more && query == "") {
			return false
		}
	}
	return true
}

// rebuildURL is StripURL writing the kept parts into a new string.
func rebuildURL(rawURL string, extra []string) string {
	rest, frag, hasFrag := strings.Cut(rawURL, "#")
	base, query, hasQuery := strings.Cut(rest, "?")
	var b strings.Builder
	b.Grow(len(rawURL))
	b.WriteString(base)
	if hasQuery {
		first := true
		for query != "" {
			var pair string
			pair, query, _ = strings.Cut(query, "&")
			kept, ok := keepParam(pair, extra)
			if !ok {
				continue
			}
			if first {
				b.WriteByte('?')
				first = false
			} else {
				b.WriteByte('&')
			}
			b.WriteString(kept)
		}
	}
	if hasFrag && frag != "" && !strings.ContainsAny(frag, "=") {
		b.WriteByte('#')
		b.WriteString(frag)
	}
	return b.String()
}

// keepParam says whether one key=value pair of a query stays, and as what.
func keepParam(pair string, extra []string) (string, bool) {
	key, value, _ := strings.Cut(pair, "=")
	if key == "" {
		return "", false
	}
	name := key
	if strings.ContainsAny(name, "%+") {
		if u, err := url.QueryUnescape(name); err == nil {
			name = u
		}
	}
	name = strings.ToLower(name)
	if strings.HasPrefix(name, "utm_") || name == "ref" {
		return pair, true
	}
	if _, ok := campaign.LookupClickID(name); ok {
		if strings.TrimSpace(strings.ReplaceAll(value, "+", " ")) == "" {
			return "", false // an empty click id names no click
		}
		return key + "=" + clickIDPlaceholder, true
	}
	for _, e := range extra {
		if name == e {
			return pair, true
		}
	}
	return "", false
}
