package loadgen

import (
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/teller-analytics/teller/pkg/identity"
)

// Each simulated browser keeps the collector's visitor cookie as a browser
// does (RFC 6265), without a net/http/cookiejar per browser: the load
// generator talks to one host and one path, and only the visitor cookie
// (identity.CookieName) matters to it.

// cookieRules are a browser's rules for the cookies of the collector's
// event endpoint.
type cookieRules struct {
	host   string // the collector's host, lower case, without port
	isIP   bool   // host is an IP address: a Domain attribute must equal it
	path   string // the endpoint's path, /api/event
	secure bool   // https, or a host browsers trust as secure (localhost, loopback)
}

func newCookieRules(collector *url.URL, path string) cookieRules {
	host := strings.ToLower(collector.Hostname())
	r := cookieRules{host: host, path: path, secure: collector.Scheme == "https"}
	if ip, err := netip.ParseAddr(host); err == nil {
		r.isIP = true
		// Browsers (and cookiejar) treat loopback as a secure origin.
		r.secure = r.secure || ip.IsLoopback()
	}
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		r.secure = true
	}
	return r
}

// visitorCookie is the browser's visitor cookie.
type visitorCookie struct {
	value   string
	expires time.Time // zero: until the browser closes (never, in a run)
	// lastLine is the Set-Cookie line it was last set from, and maxAge
	// that line's Max-Age: the collector repeats the same line on every
	// answer, which is then not parsed again (only the expiry moves on).
	lastLine string
	maxAge   int
}

// held reports whether the browser sends the cookie at now.
func (v *visitorCookie) held(now time.Time) bool {
	return v.value != "" && (v.expires.IsZero() || now.Before(v.expires))
}

// apply updates v with one Set-Cookie line of an answer from the
// collector's endpoint at now. Other cookies, and a visitor cookie the
// browser would not send back to the endpoint (another Domain or Path,
// Secure over plain http), are ignored; Max-Age <= 0 or an Expires in the
// past deletes it.
func (r cookieRules) apply(v *visitorCookie, line []byte, now time.Time) {
	if v.lastLine != "" && string(line) == v.lastLine {
		if v.maxAge > 0 {
			v.expires = now.Add(time.Duration(v.maxAge) * time.Second)
		}
		return
	}
	c, err := http.ParseSetCookie(string(line))
	if err != nil || c.Name != identity.CookieName || !r.keeps(c) {
		return
	}
	switch {
	case c.MaxAge < 0: // Max-Age=0 or less
		*v = visitorCookie{}
		return
	case c.MaxAge > 0:
		v.expires = now.Add(time.Duration(c.MaxAge) * time.Second)
	case !c.Expires.IsZero():
		if !c.Expires.After(now) {
			*v = visitorCookie{}
			return
		}
		v.expires = c.Expires
	default:
		v.expires = time.Time{}
	}
	v.value, v.lastLine, v.maxAge = c.Value, string(line), c.MaxAge
}

// keeps reports whether a browser would send c back to the endpoint.
func (r cookieRules) keeps(c *http.Cookie) bool {
	if c.Secure && !r.secure {
		return false
	}
	if d := strings.TrimPrefix(strings.ToLower(c.Domain), "."); d != "" {
		if d != r.host && (r.isIP || !strings.HasSuffix(r.host, "."+d)) {
			return false
		}
	}
	path := c.Path
	if path == "" || path[0] != '/' {
		path = defaultCookiePath(r.path)
	}
	return pathMatch(r.path, path)
}

// defaultCookiePath is RFC 6265's default-path of a request path: up to
// its last slash, or "/".
func defaultCookiePath(requestPath string) string {
	i := strings.LastIndexByte(requestPath, '/')
	if i <= 0 {
		return "/"
	}
	return requestPath[:i]
}

// pathMatch is RFC 6265's path-match of a request path and a cookie path.
func pathMatch(requestPath, cookiePath string) bool {
	if requestPath == cookiePath {
		return true
	}
	if !strings.HasPrefix(requestPath, cookiePath) {
		return false
	}
	return cookiePath[len(cookiePath)-1] == '/' || requestPath[len(cookiePath)] == '/'
}
