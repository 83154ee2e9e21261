package collector

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

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

var cookieHeaders = [][]string{
	nil, {""}, {"teller_vid=abc.def"}, {"a=1; teller_vid=abc.def; b=2"}, {" teller_vid = abc.def "}, {`teller_vid="abc.def"`},
	{`teller_vid="abc`}, {`teller_vid=a"b`, "teller_vid=second"}, {"teller_vid=a\\b; teller_vid=good"}, {"teller_vid=%41%zz"},
	{"teller_vid=%41b+c"}, {"teller_vid"}, {"teller_vid="}, {";;teller_vid=x;;"}, {"other=1", "teller_vid=x"},
	{"TELLER_VID=x"}, {"teller_vid=x y"}, {"teller_vid=x\x7f"}, {"tel ler_vid=x; teller_vid=y"}, {"teller_vid=\"\""},
	{"teller_vid=a=b"}, {"\tteller_vid=tab\t"}, {strings.Repeat("a=1;", 70) + "teller_vid=many"},
	{strings.Repeat("a=1;", 3000) + "teller_vid=too_many"},
}

// cookieValue answers what gin's Context.Cookie answers.
func TestCookieValueIsGins(t *testing.T) {
	for _, lines := range cookieHeaders {
		checkCookieValue(t, lines)
	}
}

func FuzzCookieValueIsGins(f *testing.F) {
	for _, lines := range cookieHeaders {
		f.Add(strings.Join(lines, "\n"))
	}
	f.Fuzz(func(t *testing.T, header string) {
		checkCookieValue(t, strings.Split(header, "\n"))
	})
}

func checkCookieValue(t *testing.T, lines []string) {
	t.Helper()
	g, _ := gin.CreateTestContext(httptest.NewRecorder())
	g.Request = httptest.NewRequest(http.MethodPost, "/api/event", nil)
	g.Request.Header["Cookie"] = lines
	want, _ := g.Cookie(identity.CookieName)
	got, ok := cookieValue(g.Request.Header, identity.CookieName)
	if !ok {
		got, _ = g.Cookie(identity.CookieName) // what visitor does then
	}
	if got != want {
		t.Errorf("cookie lines %q: cookieValue %q (ok %v), gin %q", lines, got, ok, want)
	}
}
