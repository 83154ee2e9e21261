package loadgen

import (
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"testing"
	"time"

	"github.com/teller-analytics/teller/pkg/identity"
)

// The visitor cookie is kept as a browser keeps it, and exactly as
// net/http/cookiejar (which the generator used before) would send it back
// to the event endpoint.
func TestVisitorCookieRules(t *testing.T) {
	const name = identity.CookieName
	now := time.Now()
	past := now.Add(-time.Hour).UTC().Format(http.TimeFormat)
	future := now.Add(time.Hour).UTC().Format(http.TimeFormat)
	for _, tc := range []struct {
		name      string
		collector string
		lines     []string // Set-Cookie lines of successive answers
		want      string   // the value sent back; "": none
	}{
		{"host cookie", "http://collector.example.com", []string{name + "=v1; Path=/; Max-Age=31536000; HttpOnly; SameSite=Lax"}, "v1"},
		{"session cookie", "http://collector.example.com", []string{name + "=v1; Path=/"}, "v1"},
		{"other cookies are not the visitor's", "http://collector.example.com", []string{"other=x; Path=/"}, ""},
		{"replaced", "http://collector.example.com", []string{name + "=v1; Path=/", name + "=v2; Path=/"}, "v2"},
		{"the same line again", "http://collector.example.com", []string{name + "=v1; Path=/; Max-Age=60", name + "=v1; Path=/; Max-Age=60"}, "v1"},
		{"parent domain", "http://collector.example.com", []string{name + "=v1; Domain=example.com; Path=/"}, "v1"},
		{"parent domain with a dot", "http://collector.example.com", []string{name + "=v1; Domain=.Example.COM; Path=/"}, "v1"},
		{"own host as domain", "http://collector.example.com:8081", []string{name + "=v1; Domain=collector.example.com"}, "v1"},
		{"another domain", "http://collector.example.com", []string{name + "=v1; Domain=example.org; Path=/"}, ""},
		{"a sibling's domain", "http://collector.example.com", []string{name + "=v1; Domain=www.example.com; Path=/"}, ""},
		{"a suffix that is no parent", "http://collector.example.com", []string{name + "=v1; Domain=ple.com; Path=/"}, ""},
		{"IP host, its own address", "http://10.1.2.3:8081", []string{name + "=v1; Domain=10.1.2.3; Path=/"}, "v1"},
		{"IP host, a suffix", "http://10.1.2.3:8081", []string{name + "=v1; Domain=2.3; Path=/"}, ""},
		{"endpoint path", "http://collector.example.com", []string{name + "=v1; Path=/api/event"}, "v1"},
		{"parent path", "http://collector.example.com", []string{name + "=v1; Path=/api"}, "v1"},
		{"parent path with slash", "http://collector.example.com", []string{name + "=v1; Path=/api/"}, "v1"},
		{"default path /api", "http://collector.example.com", []string{name + "=v1"}, "v1"},
		{"another path", "http://collector.example.com", []string{name + "=v1; Path=/dashboard"}, ""},
		{"a path prefix that is no parent", "http://collector.example.com", []string{name + "=v1; Path=/ap"}, ""},
		{"Max-Age=0 deletes", "http://collector.example.com", []string{name + "=v1; Path=/", name + "=; Path=/; Max-Age=0"}, ""},
		{"negative Max-Age deletes", "http://collector.example.com", []string{name + "=v1; Path=/", name + "=v1; Path=/; Max-Age=-1"}, ""},
		{"Expires in the past deletes", "http://collector.example.com", []string{name + "=v1; Path=/", name + "=v1; Path=/; Expires=" + past}, ""},
		{"Expires in the future", "http://collector.example.com", []string{name + "=v1; Path=/; Expires=" + future}, "v1"},
		{"Max-Age wins over Expires", "http://collector.example.com", []string{name + "=v1; Path=/; Max-Age=60; Expires=" + past}, "v1"},
		{"Secure over http", "http://collector.example.com", []string{name + "=v1; Path=/; Secure; SameSite=None"}, ""},
		{"Secure over https", "https://collector.example.com", []string{name + "=v1; Path=/; Secure; SameSite=None"}, "v1"},
		{"Secure over http to loopback", "http://127.0.0.1:8081", []string{name + "=v1; Path=/; Secure; SameSite=None"}, "v1"},
		{"Secure over http to localhost", "http://localhost:8081", []string{name + "=v1; Path=/; Secure; SameSite=None"}, "v1"},
		{"a refused cookie leaves the kept one", "http://collector.example.com", []string{name + "=v1; Path=/", name + "=v2; Domain=example.org"}, "v1"},
		{"malformed line", "http://collector.example.com", []string{"=novalue"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, err := url.Parse(tc.collector)
			if err != nil {
				t.Fatal(err)
			}
			rules := newCookieRules(u, "/api/event")
			var v visitorCookie
			jar, _ := cookiejar.New(nil)
			endpoint, _ := url.Parse(tc.collector + "/api/event")
			for _, line := range tc.lines {
				rules.apply(&v, []byte(line), now)
				if c, err := http.ParseSetCookie(line); err == nil {
					jar.SetCookies(endpoint, []*http.Cookie{c})
				}
			}
			got := ""
			if v.held(now) {
				got = v.value
			}
			if got != tc.want {
				t.Fatalf("cookie sent %q, want %q", got, tc.want)
			}
			fromJar := ""
			for _, c := range jar.Cookies(endpoint) {
				if c.Name == name {
					fromJar = c.Value
				}
			}
			if fromJar != got {
				t.Fatalf("cookie sent %q; net/http/cookiejar would send %q", got, fromJar)
			}
		})
	}
	// A cookie expires while the browser holds it.
	u, _ := url.Parse("http://collector.example.com")
	var v visitorCookie
	newCookieRules(u, "/api/event").apply(&v, []byte(name+"=v1; Path=/; Max-Age=60"), now)
	if !v.held(now.Add(59*time.Second)) || v.held(now.Add(61*time.Second)) {
		t.Fatal("a cookie of Max-Age 60 is not held for 60 seconds exactly")
	}
}
