package collector

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/teller-analytics/teller/pkg/site"
)

// checkSource returns why a request whose Origin or Referer header is present
// does not come from one of the site's pages ("" when it does): the header
// must be an http(s) URL without user info on one of the site's hosts. A
// missing header is no evidence either way (pixels in e-mail, privacy
// settings), so it passes; "null" (a sandboxed or privacy-sensitive context)
// names no host of the site and is refused.
func checkSource(st *site.Site, origin, referer string) (header, msg string) {
	if origin != "" {
		if err := fromSite(st, origin); err != nil {
			return "Origin", "Origin " + err.Error()
		}
	}
	// A page's fetch to another origin sends only its origin as Referer
	// (strict-origin-when-cross-origin, browsers' default): the URL the
	// Origin check just parsed with a "/" after it, which parses to the same
	// scheme, host and user (TestRefererOfOriginPasses), so it passes too.
	if referer != "" && (origin == "" || len(referer) != len(origin)+1 || referer[len(origin)] != '/' || referer[:len(origin)] != origin) {
		if err := fromSite(st, referer); err != nil {
			return "Referer", "Referer " + err.Error()
		}
	}
	return "", ""
}

func fromSite(st *site.Site, raw string) error {
	// Every fetch of the snippet carries an Origin: its usual form is
	// checked without url.Parse (a URL and its parts per request). Anything
	// else, and every refusal with its message, takes the parse below.
	if host, ok := originHost(raw); ok && st.OwnsHost(host) {
		return nil
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil || u.Host == "":
		return fmt.Errorf("%.200q is not an http(s) URL of site %s", raw, st.ID)
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("%.200q: scheme %q is not http or https", raw, u.Scheme)
	case u.User != nil:
		return fmt.Errorf("%.200q carries user info", raw)
	case !st.OwnsHost(u.Hostname()):
		return fmt.Errorf("%.200q is not on a host of site %s", raw, st.ID)
	}
	return nil
}

// originHost is raw's host when raw is an origin in the form browsers
// serialize it: "http://" or "https://", a host of lowercase letters,
// digits, dots and hyphens, and an optional port of 1-5 digits. url.Parse
// reads that form as that scheme, that host and no user info
// (TestOriginHostIsURLParse, FuzzOriginHostIsURLParse), so fromSite may skip
// the parse. ok is false for anything else (upper case, IPv6, paths, user
// info, escapes...), which fromSite parses in full.
func originHost(raw string) (host string, ok bool) {
	rest, found := strings.CutPrefix(raw, "https://")
	if !found {
		if rest, found = strings.CutPrefix(raw, "http://"); !found {
			return "", false
		}
	}
	host, port, hasPort := strings.Cut(rest, ":")
	if hasPort {
		if len(port) == 0 || len(port) > 5 {
			return "", false
		}
		for j := 0; j < len(port); j++ {
			if port[j] < '0' || port[j] > '9' {
				return "", false
			}
		}
	}
	if host == "" {
		return "", false
	}
	for j := 0; j < len(host); j++ {
		switch b := host[j]; {
		case b >= 'a' && b <= 'z', b >= '0' && b <= '9', b == '.', b == '-':
		default:
			return "", false
		}
	}
	return host, true
}
