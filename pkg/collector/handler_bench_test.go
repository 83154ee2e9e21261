package collector_test

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/teller-analytics/teller/internal/collectorbench"
	"github.com/teller-analytics/teller/internal/testenv"
	"github.com/teller-analytics/teller/pkg/collector"
	"github.com/teller-analytics/teller/pkg/identity"
	"github.com/teller-analytics/teller/pkg/service"
	"github.com/teller-analytics/teller/pkg/site"
	"github.com/teller-analytics/teller/pkg/spool"
)

// benchSpoolEngine is the production engine serving a collector in the
// product's default set-up (the spool, fsync every 100 ms) on one site,
// bench.example, with limits that never refuse.
func benchSpoolEngine(b *testing.B) (http.Handler, *identity.Signer) {
	b.Helper()
	sp, err := spool.Open(spool.Options{Dir: b.TempDir(), MaxBytes: 8 << 30, Fsync: spool.FsyncEvery(100e6), Logger: testenv.Logger(b)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { sp.Close() })
	signer, err := identity.NewSigner(collectorbench.Key)
	if err != nil {
		b.Fatal(err)
	}
	st := site.Site{ID: collectorbench.SiteID, Domains: []string{"bench.example"}}
	if err := st.Normalize(); err != nil {
		b.Fatal(err)
	}
	unlimited := collector.Rate{PerSecond: 1e9, Burst: 1e9}
	col, err := collector.New(collector.Options{Publisher: collector.NewSpoolPublisher(sp, nil, collector.SpoolOptions{}),
		Sites: benchCollectorSites{st}, Signer: signer, Logger: testenv.Logger(b), Registerer: service.NewRegistry(),
		Limits: collector.Limits{Client: unlimited, ClientAgent: unlimited}})
	if err != nil {
		b.Fatal(err)
	}
	r := service.NewEngine(testenv.Logger(b))
	col.Mount(r)
	return r, signer
}

// BenchmarkHandleEventSpool is the collector's own work per request in the
// product's default set-up (the spool, fsync every 100 ms), without the
// network: scripts/bench-collector.sh's request (collectorbench's body,
// cookie, origin and a Chrome user agent) served by the production engine
// into a recorder. Its allocs/op and B/op are the figures to watch; the
// drainer does not run (nothing is sent to Kafka here).
func BenchmarkHandleEventSpool(b *testing.B) {
	r, _ := benchSpoolEngine(b)
	cookie := collectorbench.Cookie()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/api/event", strings.NewReader(collectorbench.Body))
		req.Header.Set("Content-Type", "text/plain")
		req.Header.Set("Cookie", cookie)
		req.Header.Set("Origin", collectorbench.Origin)
		req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36")
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		if w.Code != http.StatusAccepted {
			b.Fatalf("answered %d: %s", w.Code, w.Body)
		}
	}
}

// mixAgents are user agents in about the shares internal/loadgen sends
// (desktop and mobile Chrome, Safari, Firefox, and a few crawlers, which
// the collector keeps and the sessionizer flags).
var mixAgents = []string{
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Mobile Safari/537.36",
	"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Mobile Safari/537.36",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.5 Mobile/15E148 Safari/604.1",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.5 Mobile/15E148 Safari/604.1",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.5 Safari/605.1.15",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:140.0) Gecko/20100101 Firefox/140.0",
	"Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.7204.100 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
}

// mixRequest is one request of the mix: its body and the page it is from.
type mixRequest struct{ body, page string }

// mixRequests are the requests of internal/loadgen's visits: landing page
// views (direct, from a search engine or social site, or with a
// newsletter's campaign), page views reached by a link, custom events with
// properties, and the engagement event sent on leaving.
func mixRequests(r *rand.Rand, n int) []mixRequest {
	paths := []string{"/", "/pricing", "/docs/getting-started", "/blog/why-sessions-matter", "/features", "/docs/api", "/about"}
	landing := []struct{ referrer, query string }{
		{"", ""}, {"", ""}, {"https://www.google.com/", ""}, {"https://t.co/", ""}, {"https://news.ycombinator.com/", ""},
		{"", "utm_source=newsletter&utm_medium=email&utm_campaign=monthly-digest"},
	}
	out := make([]mixRequest, n)
	for i := range out {
		path := paths[r.IntN(len(paths))]
		page := "https://bench.example" + path
		var body string
		switch k := r.IntN(20); {
		case k < 5: // a visit's first page view
			l := landing[r.IntN(len(landing))]
			if l.query != "" {
				page += "?" + l.query
			}
			body = fmt.Sprintf(`{"site":"bench","kind":"pageview","name":"pageview","url":%q,"title":"Page %d – Bench","screen_width":1920,"screen_height":1080`, page, i%97)
			if l.referrer != "" {
				body += fmt.Sprintf(`,"referrer":%q`, l.referrer)
			}
			body += "}"
		case k < 14: // a page view reached by a link
			body = fmt.Sprintf(`{"site":"bench","kind":"pageview","name":"pageview","url":%q,"title":"Page %d – Bench","screen_width":390,"screen_height":844,"referrer":"https://bench.example/"}`, page, i%97)
		case k < 16: // a custom event with properties
			body = fmt.Sprintf(`{"site":"bench","kind":"event","name":"Signup","url":%q,"title":"Pricing – Bench","screen_width":1440,"screen_height":900,"props":{"plan":"pro"}}`, page)
		default: // the engagement event on leaving the page
			body = fmt.Sprintf(`{"site":"bench","kind":"engagement","name":"engagement","url":%q,"title":"Page %d – Bench","screen_width":1536,"screen_height":864,"engaged_ms":%d,"scroll_depth":%d}`,
				page, i%97, 1000+r.IntN(120_000), 10+r.IntN(91))
		}
		out[i] = mixRequest{body: body, page: page}
	}
	return out
}

// BenchmarkHandleEventSpoolMix is BenchmarkHandleEventSpool with the whole
// pipeline's traffic (internal/loadgen's model, as pipebench sends it):
// 20,000 browsers with the mix of user agents and their own cookies, one
// request in 25 from a browser on its first visit (no cookie: a new
// visitor id and its Set-Cookie), page views with referrers and campaign
// URLs, custom events with properties and engagement events, each with the
// Origin and Referer a page's fetch sends.
func BenchmarkHandleEventSpoolMix(b *testing.B) {
	r, signer := benchSpoolEngine(b)
	const browsers = 20_000
	rnd := rand.New(rand.NewPCG(1, 2))
	cookies, agents := make([]string, browsers), make([]string, browsers)
	for i := range cookies {
		cookies[i] = identity.CookieName + "=" + signer.Sign(identity.NewVisitorID())
		agents[i] = mixAgents[rnd.IntN(len(mixAgents))]
	}
	reqs := mixRequests(rnd, 4096)
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		br, m := rnd.IntN(browsers), &reqs[i%len(reqs)]
		i++
		req := httptest.NewRequest(http.MethodPost, "/api/event", strings.NewReader(m.body))
		req.Header.Set("Content-Type", "text/plain")
		if i%25 != 0 {
			req.Header.Set("Cookie", cookies[br])
		}
		req.Header.Set("Origin", "https://bench.example")
		req.Header.Set("Referer", m.page)
		req.Header.Set("User-Agent", agents[br])
		req.Header.Set("Accept", "*/*")
		req.Header.Set("Accept-Language", "en-US,en;q=0.9")
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		if w.Code != http.StatusAccepted {
			b.Fatalf("answered %d: %s\n%s", w.Code, w.Body, m.body)
		}
	}
}
