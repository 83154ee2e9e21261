package collector_test

import (
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
		if w := serveBench(r, collectorbench.Body, cookie); w.Code != http.StatusAccepted {
			b.Fatalf("answered %d: %s", w.Code, w.Body)
		}
	}
}

// serveBench serves scripts/bench-collector.sh's request with body: a
// returning visitor's snippet POST from a Chrome page of the site.
func serveBench(r http.Handler, body, cookie string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/api/event", strings.NewReader(body))
	req.Header.Set("Content-Type", "text/plain")
	req.Header.Set("Cookie", cookie)
	req.Header.Set("Origin", collectorbench.Origin)
	req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36")
	w := httptest.NewRecorder()
	r.ServeHTTP(w, req)
	return w
}

// BenchmarkHandleEventSpoolMix is BenchmarkHandleEventSpool with the whole
// pipeline's traffic (collectorbench.Mix: internal/loadgen's model, as
// pipebench sends it): 4,096 browsers with the mix of user agents and
// their own cookies, one in 25 on its first visit (no cookie: a new
// visitor id and its Set-Cookie), page views with referrers and campaign
// URLs, custom events with properties and engagement events, each with the
// headers a page's fetch to another origin sends.
func BenchmarkHandleEventSpoolMix(b *testing.B) {
	r, _ := benchSpoolEngine(b)
	reqs := collectorbench.Mix(4096, 1)
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		m := &reqs[i%len(reqs)]
		i++
		req := httptest.NewRequest(http.MethodPost, "/api/event", strings.NewReader(m.Body))
		for _, h := range collectorbench.MixHeaders {
			req.Header.Set(h[0], h[1])
		}
		if m.Cookie != "" {
			req.Header.Set("Cookie", m.Cookie)
		}
		req.Header.Set("Origin", collectorbench.Origin)
		req.Header.Set("Referer", collectorbench.Origin+"/")
		req.Header.Set("User-Agent", m.UserAgent)
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		if w.Code != http.StatusAccepted {
			b.Fatalf("answered %d: %s\n%s", w.Code, w.Body, m.Body)
		}
	}
}

// BenchmarkHandleEventSpoolAppNavigation is BenchmarkHandleEventSpool with
// the request the snippet sends on an app navigation: the page left's
// engagement and the new page view in one batch. Compare its ns/op with
// BenchmarkHandleEventSpool's: the second event should cost far less than
// a request.
func BenchmarkHandleEventSpoolAppNavigation(b *testing.B) {
	r, _ := benchSpoolEngine(b)
	cookie := collectorbench.Cookie()
	body := `[{"site":"` + collectorbench.SiteID + `","kind":"engagement","name":"engagement","url":"https://bench.example/pricing","title":"Pricing","screen_width":1440,"screen_height":900,"engaged_ms":12000,"scroll_depth":70},` +
		collectorbench.Body + `]`
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if w := serveBench(r, body, cookie); w.Code != http.StatusAccepted || !strings.Contains(w.Body.String(), `"ids":[`) {
			b.Fatalf("answered %d: %s", w.Code, w.Body)
		}
	}
}
