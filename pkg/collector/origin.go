package collector

import (
	"fmt"
	"net/url"

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
