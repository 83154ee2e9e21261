package account

import (
	"net/http"
	"strings"
	"time"
)

// Cookie names. Over HTTPS every cookie carries the __Host- prefix, which a
// browser accepts only with Secure, Path=/ and no Domain: no subdomain or
// plain-HTTP page can set or overwrite it. Over plain HTTP (a development
// set-up) the prefix is impossible, and the bare name is used.
const (
	// LoginCookie holds the login id: 256 random bits and nothing else.
	LoginCookie = "teller_login"
	// PreLoginCookie binds the sign-in form's CSRF token to the browser
	// that loaded the form.
	PreLoginCookie = "teller_csrf"
	// DeviceCookie marks a browser that signed in before: a correct
	// password from it passes its user's failure limit (so that strangers
	// cannot lock a user out), never the address limit.
	DeviceCookie = "teller_device"
	// HostPrefix is prepended to each name over HTTPS.
	HostPrefix = "__Host-"
)

// deviceTTL is how long a device stays known.
const deviceTTL = 365 * 24 * time.Hour

// IsTLS reports whether r came over HTTPS, directly or through a proxy that
// says so.
func IsTLS(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

// CookieName is the name cookie has on r's scheme.
func CookieName(r *http.Request, name string) string {
	if IsTLS(r) {
		return HostPrefix + name
	}
	return name
}

// ReadCookie returns the value of the named cookie under the name it has on
// r's scheme ("" when absent): an HTTPS request never reads an unprefixed
// cookie, which a plain-HTTP page could have planted.
func ReadCookie(r *http.Request, name string) string {
	ck, err := r.Cookie(CookieName(r, name))
	if err != nil {
		return ""
	}
	return ck.Value
}

// SetCookie sets an HttpOnly, SameSite=Lax cookie for the whole dashboard,
// Secure and __Host- prefixed over HTTPS. A zero expires makes a cookie
// that ends when the browser closes.
func SetCookie(w http.ResponseWriter, r *http.Request, name, value string, expires time.Time) {
	ck := &http.Cookie{Name: CookieName(r, name), Value: value, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: IsTLS(r)}
	if !expires.IsZero() {
		ck.Expires = expires.UTC()
	}
	http.SetCookie(w, ck)
}

// ClearCookie deletes the named cookie.
func ClearCookie(w http.ResponseWriter, r *http.Request, name string) {
	http.SetCookie(w, &http.Cookie{Name: CookieName(r, name), Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: IsTLS(r)})
}
