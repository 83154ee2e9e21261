package collector

import (
	"net/http"
	"testing"

	"github.com/teller-analytics/teller/pkg/identity"
)

// visitorCookie writes the visitor cookie without http.Cookie.String's
// checks when it needs none; whatever the fields, it must say what String
// says.
func TestVisitorCookieIsString(t *testing.T) {
	values := []string{"9Ior4pg3Q7-t3nyuBd8O5A.c210elHOlJzFuYdGANhjNA", "a", "with space", `quo"te`, "comma,", ""}
	sameSites := []http.SameSite{0, http.SameSiteDefaultMode, http.SameSiteLaxMode, http.SameSiteStrictMode, http.SameSiteNoneMode}
	for _, v := range values {
		for _, ss := range sameSites {
			for _, secure := range []bool{false, true} {
				for _, domain := range []string{"", "example.com", ".example.com"} {
					for _, maxAge := range []int{34128000, 1, 0, -1} {
						ck := http.Cookie{Name: identity.CookieName, Value: v, Path: "/", Domain: domain, MaxAge: maxAge,
							HttpOnly: true, Secure: secure, SameSite: ss}
						if got, want := visitorCookie(&ck), ck.String(); got != want {
							t.Errorf("%+v:\n got %q\nwant %q", ck, got, want)
						}
					}
				}
			}
		}
	}
}
