package collector_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/teller-analytics/teller/internal/testenv"
	"github.com/teller-analytics/teller/pkg/bus"
	"github.com/teller-analytics/teller/pkg/collector"
	"github.com/teller-analytics/teller/pkg/config"
	"github.com/teller-analytics/teller/pkg/identity"
	"github.com/teller-analytics/teller/pkg/service"
	"github.com/teller-analytics/teller/pkg/site"
	"github.com/teller-analytics/teller/pkg/snippet"
)

// The roadmap's goal for the collector: at least 70% of a bare net/http
// handler's request rate, measured in the same run. Each server below is
// driven by the same parallel client (keep-alive connections over loopback
// TCP) with the same request: a snippet page view from a returning visitor
// (signed cookie) on a registered site's page.

const benchCollectorTopic = "bench.events"

// benchCollectorParallelism times GOMAXPROCS goroutines send at once: the
// collector answers only after Kafka acknowledged the batch (up to the
// producer's 5 ms batch timeout), so it needs many requests in flight, as
// a busy collector has.
const benchCollectorParallelism = 64

type benchCollectorSites struct{ site.Site }

func (s benchCollectorSites) Lookup(id string) (site.Site, bool) { return s.Site, id == s.ID }
func (s benchCollectorSites) All() []site.Site                   { return []site.Site{s.Site} }

// benchCountingPublisher is the "collector edge without Kafka": it only
// counts. It exists to split the benchmark's cost between the HTTP edge and
// Kafka, never to test correctness (every test publishes to a broker).
type benchCountingPublisher struct{ n atomic.Int64 }

func (p *benchCountingPublisher) Publish(_ context.Context, msgs ...bus.Message) error {
	p.n.Add(int64(len(msgs)))
	return nil
}

func benchCollectorServer(b *testing.B, pub collector.Publisher, signer *identity.Signer) *httptest.Server {
	b.Helper()
	log := testenv.Logger(b)
	col, err := collector.New(collector.Options{Publisher: pub, Signer: signer, Snippet: snippet.Handler(),
		Sites:  benchCollectorSites{site.Site{ID: "bench", Domains: []string{"bench.example"}, Timezone: "UTC"}},
		Logger: log, Registerer: service.NewRegistry()})
	if err != nil {
		b.Fatal(err)
	}
	r := service.NewEngine(log) // the production engine: recovery and access log
	col.Mount(r)
	srv := httptest.NewServer(r)
	b.Cleanup(srv.Close)
	return srv
}

func BenchmarkCollectorVsBareHTTP(b *testing.B) {
	signer, err := identity.NewSigner("bench-cookie-secret-0123456789")
	if err != nil {
		b.Fatal(err)
	}
	cookies := make([]string, 1024)
	for i := range cookies {
		cookies[i] = identity.CookieName + "=" + signer.Sign(identity.NewVisitorID())
	}
	body := []byte(`{"site":"bench","kind":"pageview","name":"pageview","url":"https://bench.example/pricing?utm_source=newsletter&utm_medium=email","title":"Pricing – Bench","screen_width":1440,"screen_height":900,"referrer":"https://www.google.com/"}`)

	bare := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusAccepted)
	}))
	b.Cleanup(bare.Close)
	producer := bus.NewProducer(bus.Config{Brokers: config.StringList(testenv.Kafka(b, benchCollectorTopic, 6)), Topic: benchCollectorTopic},
		testenv.Logger(b))
	b.Cleanup(func() { producer.Close() })
	withKafka := benchCollectorServer(b, producer, signer)
	counter := &benchCountingPublisher{}
	edgeOnly := benchCollectorServer(b, counter, signer)

	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, IdleConnTimeout: time.Minute}}
	var visitor atomic.Int64
	var bareRate float64
	measure := func(name, url string, reportShare bool) {
		b.Run(name, func(b *testing.B) {
			b.SetParallelism(benchCollectorParallelism)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				cookie := cookies[visitor.Add(1)%int64(len(cookies))]
				for pb.Next() {
					req, _ := http.NewRequest(http.MethodPost, url+"/api/event", bytes.NewReader(body))
					req.Header.Set("Content-Type", "text/plain")
					req.Header.Set("Origin", "https://bench.example")
					req.Header.Set("User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Safari/537.36")
					req.Header.Set("Cookie", cookie)
					resp, err := client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusAccepted {
						b.Errorf("%s answered %d", name, resp.StatusCode)
						return
					}
				}
			})
			rate := float64(b.N) / b.Elapsed().Seconds()
			b.ReportMetric(rate, "req/s")
			switch {
			case !reportShare:
				bareRate = rate
			case bareRate > 0: // not when -bench left the bare handler out
				b.ReportMetric(100*rate/bareRate, "pct_of_bare")
			}
		})
	}
	measure("bare_net_http", bare.URL, false)
	measure("collector_with_kafka", withKafka.URL, true)
	measure("collector_edge_without_kafka", edgeOnly.URL, true)
}
