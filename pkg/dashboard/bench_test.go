package dashboard_test

import (
	"net/http"
	"testing"
)

// BenchmarkSitePage is one signed-in request of the site page over HTTP on
// the data set: what the dashboard itself adds (a dozen small reports,
// at most 4 at once, and the template) to ClickHouse's work.
//
//	go test ./pkg/dashboard/ -run '^$' -bench SitePage -benchtime 30x
func BenchmarkSitePage(b *testing.B) {
	e := newEnv(b)
	c := e.client(b)
	c.login()
	for _, path := range []string{mainRange} {
		if r := c.get(path); r.StatusCode != http.StatusOK {
			b.Fatalf("GET %s: %d", path, r.StatusCode)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		if r := c.get(mainRange); r.StatusCode != http.StatusOK {
			b.Fatalf("GET %s: %d", mainRange, r.StatusCode)
		}
	}
}
