package collector_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/teller-analytics/teller/internal/geotest"
	"github.com/teller-analytics/teller/internal/testenv"
	"github.com/teller-analytics/teller/pkg/bus"
	"github.com/teller-analytics/teller/pkg/collector"
	"github.com/teller-analytics/teller/pkg/config"
	"github.com/teller-analytics/teller/pkg/event"
	"github.com/teller-analytics/teller/pkg/geo"
	"github.com/teller-analytics/teller/pkg/identity"
	"github.com/teller-analytics/teller/pkg/service"
	"github.com/teller-analytics/teller/pkg/site"
)

const pageview = `{"site":"shop","kind":"pageview","url":"https://shop.example/"}`

// An event whose Origin or Referer is present must come from one of the
// site's hosts over http(s); the refusal is a 403, counted by its header.
func TestOriginAndRefererRefusals(t *testing.T) {
	brokers := testenv.Kafka(t, topic, 2)
	srv, reg := newServerWithRegistry(t, brokers, nil)
	tests := []struct {
		name   string
		header map[string]string
		status int
	}{
		{"site origin", map[string]string{"Origin": "https://shop.example"}, 202},
		{"subdomain origin over http", map[string]string{"Origin": "http://www.shop.example:8080"}, 202},
		{"site referer", map[string]string{"Referer": "https://shop.example/a?b=c"}, 202},
		{"neither header", nil, 202},
		{"foreign origin", map[string]string{"Origin": "https://evil.example"}, 403},
		{"look-alike origin", map[string]string{"Origin": "https://shop.example.evil.example"}, 403},
		{"ftp origin", map[string]string{"Origin": "ftp://shop.example"}, 403},
		{"userinfo origin", map[string]string{"Origin": "http://evil@shop.example"}, 403},
		{"null origin", map[string]string{"Origin": "null"}, 403},
		{"foreign referer", map[string]string{"Referer": "https://www.google.com/"}, 403},
		{"site origin, foreign referer", map[string]string{"Origin": "https://shop.example", "Referer": "https://evil.example/"}, 403},
		{"javascript referer", map[string]string{"Referer": "javascript:alert(1)"}, 403},
	}
	refused := map[string]int{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := post(t, http.DefaultClient, srv.URL, pageview, tt.header)
			if resp.StatusCode != tt.status {
				t.Fatalf("got %d %s, want %d", resp.StatusCode, body, tt.status)
			}
			if tt.status == 403 {
				var e struct{ Error string }
				if json.Unmarshal([]byte(body), &e) != nil || e.Error == "" {
					t.Fatalf("not a JSON error: %s", body)
				}
				if resp.Header.Get("Access-Control-Allow-Origin") != "" && tt.header["Origin"] != "https://shop.example" {
					t.Fatal("CORS allowed for a refused origin")
				}
				reason := "referer"
				if o := tt.header["Origin"]; o != "" && o != "https://shop.example" {
					reason = "origin"
				}
				refused[reason]++
			}
		})
	}
	if msgs := readAll(t, brokers, 4); len(msgs) != 4 {
		t.Fatalf("%d events in Kafka, want the 4 accepted", len(msgs))
	}
	want := "# HELP teller_collector_events_rejected_total Requests refused, by reason.\n# TYPE teller_collector_events_rejected_total counter\n" +
		"teller_collector_events_rejected_total{reason=\"origin\"} " + strconv.Itoa(refused["origin"]) + "\n" +
		"teller_collector_events_rejected_total{reason=\"referer\"} " + strconv.Itoa(refused["referer"]) + "\n"
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "teller_collector_events_rejected_total"); err != nil {
		t.Fatal(err)
	}
}

// Each bucket kind answers 429 with Retry-After once it is empty, counted by
// its own reason, and never lets an event through to Kafka.
func TestRateLimits(t *testing.T) {
	slow := collector.Rate{PerSecond: 0.01, Burst: 3}
	tests := []struct {
		name   string
		limits collector.Limits
		// agents sends from this many user agents (the address is one).
		agents int
		sites  site.Settings
		reason string
	}{
		{"per address", collector.Limits{Client: slow}, 3, site.Settings{}, "rate_client"},
		{"per browser", collector.Limits{ClientAgent: slow}, 1, site.Settings{}, "rate_browser"},
		{"per site, collector default", collector.Limits{Site: slow}, 3, site.Settings{}, "rate_site"},
		{"per site, site setting", collector.Limits{}, 3, site.Settings{RateLimit: 0.01, RateBurst: 3}, "rate_site"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			brokers := testenv.Kafka(t, topic, 2)
			st := site.Site{ID: "shop", Domains: []string{"shop.example"}, Settings: tt.sites}
			if err := st.Normalize(); err != nil {
				t.Fatal(err)
			}
			srv, reg := newServerWith(t, brokers, func(o *collector.Options) {
				o.Limits = tt.limits
				o.Sites = staticSites{st}
			})
			for i := 0; i < 3; i++ {
				ua := "UA/" + strconv.Itoa(i%tt.agents)
				if resp, body := post(t, http.DefaultClient, srv.URL, pageview, map[string]string{"User-Agent": ua}); resp.StatusCode != 202 {
					t.Fatalf("event %d within the burst: %d %s", i, resp.StatusCode, body)
				}
			}
			resp, body := post(t, http.DefaultClient, srv.URL, pageview, map[string]string{"User-Agent": "UA/0"})
			if resp.StatusCode != http.StatusTooManyRequests {
				t.Fatalf("event past the burst: %d %s, want 429", resp.StatusCode, body)
			}
			if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || s < 1 || s > 101 {
				t.Fatalf("Retry-After %q: want the seconds until a token (1..101)", resp.Header.Get("Retry-After"))
			}
			if err := testutil.GatherAndCompare(reg, strings.NewReader(rejected(tt.reason, 1)), "teller_collector_events_rejected_total"); err != nil {
				t.Fatal(err)
			}
			if msgs := readAll(t, brokers, 3); len(msgs) != 3 {
				t.Fatalf("%d events in Kafka, want 3", len(msgs))
			}
		})
	}
}

// The stored URL and referrer keep only the allow-list; the campaign is read
// before stripping, so it is whole.
func TestQueryStringStripped(t *testing.T) {
	brokers := testenv.Kafka(t, topic, 2)
	st := site.Site{ID: "shop", Domains: []string{"shop.example"}, Settings: site.Settings{QueryParams: []string{"page"}}}
	if err := st.Normalize(); err != nil {
		t.Fatal(err)
	}
	srv, _ := newServerWith(t, brokers, func(o *collector.Options) { o.Sites = staticSites{st} })
	body := `{"site":"shop","kind":"pageview",` +
		`"url":"https://shop.example/reset?token=s3cret&email=a%40b.example&UTM_Source=news&page=2&gclid=CjwKCAiA&ref=x#access_token=abc",` +
		`"referrer":"https://search.example/?q=my+name&utm_medium=email&fbclid=IwAR"}`
	if resp, b := post(t, http.DefaultClient, srv.URL, body, nil); resp.StatusCode != 202 {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	ev, err := event.Unmarshal(readAll(t, brokers, 1)[0].Value)
	if err != nil {
		t.Fatal(err)
	}
	if want := "https://shop.example/reset?UTM_Source=news&page=2&gclid=redacted&ref=x"; ev.URL != want {
		t.Errorf("stored URL %s, want %s", ev.URL, want)
	}
	if want := "https://search.example/?utm_medium=email&fbclid=redacted"; ev.Referrer != want {
		t.Errorf("stored referrer %s, want %s", ev.Referrer, want)
	}
	if want := (event.Campaign{Source: "news", ClickIDType: "gclid"}); ev.Campaign != want {
		t.Errorf("campaign %+v, want %+v", ev.Campaign, want)
	}
	raw := string(readAll(t, brokers, 1)[0].Value)
	for _, secret := range []string{"s3cret", "a%40b", "CjwKCAiA", "IwAR", "my+name", "access_token", "127.0.0.1"} {
		if strings.Contains(raw, secret) {
			t.Errorf("%q reached Kafka: %s", secret, raw)
		}
	}
}

// A cookieless site gets no cookie; the same browser is the same visitor.
func TestCookielessSite(t *testing.T) {
	brokers := testenv.Kafka(t, topic, 2)
	st := site.Site{ID: "shop", Domains: []string{"shop.example"}, Settings: site.Settings{CookieMode: site.CookieModeCookieless}}
	if err := st.Normalize(); err != nil {
		t.Fatal(err)
	}
	srv, _ := newServerWith(t, brokers, func(o *collector.Options) { o.Sites = staticSites{st} })
	for _, ua := range []string{"UA/1", "UA/1", "UA/2"} {
		resp, b := post(t, http.DefaultClient, srv.URL, pageview, map[string]string{"User-Agent": ua})
		if resp.StatusCode != 202 || len(resp.Cookies()) != 0 {
			t.Fatalf("%d %s, cookies %v: want 202 without a cookie", resp.StatusCode, b, resp.Cookies())
		}
	}
	visitors := map[string]map[string]bool{}
	for _, m := range readAll(t, brokers, 3) {
		ev, err := event.Unmarshal(m.Value)
		if err != nil {
			t.Fatal(err)
		}
		if visitors[ev.UserAgent] == nil {
			visitors[ev.UserAgent] = map[string]bool{}
		}
		visitors[ev.UserAgent][ev.Visitor.String()] = true
	}
	if len(visitors["UA/1"]) != 1 || len(visitors["UA/2"]) != 1 {
		t.Fatalf("visitors by user agent: %v", visitors)
	}
	for v := range visitors["UA/1"] {
		if visitors["UA/2"][v] {
			t.Fatal("two browsers share a cookieless id")
		}
	}
}

// SameSite follows the site's rule; in auto mode a collector on the site's
// registrable domain sets a first-party Lax cookie, with the site's Domain.
func TestCookieAttributes(t *testing.T) {
	tests := []struct {
		name     string
		settings site.Settings
		host     string
		https    bool
		sameSite http.SameSite
		secure   bool
		domain   string
	}{
		{"auto, same registrable domain", site.Settings{}, "stats.shop.example", false, http.SameSiteLaxMode, false, ""},
		{"auto, same domain over https", site.Settings{CookieDomain: "shop.example"}, "stats.shop.example", true, http.SameSiteLaxMode, true, "shop.example"},
		{"auto, another domain", site.Settings{}, "collector.other.example", false, http.SameSiteNoneMode, true, ""},
		{"strict", site.Settings{SameSite: "strict"}, "collector.other.example", false, http.SameSiteStrictMode, false, ""},
		{"none", site.Settings{SameSite: "none"}, "stats.shop.example", false, http.SameSiteNoneMode, true, ""},
	}
	brokers := testenv.Kafka(t, topic, 2)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := site.Site{ID: "shop", Domains: []string{"shop.example"}, Settings: tt.settings}
			if err := st.Normalize(); err != nil {
				t.Fatal(err)
			}
			srv, _ := newServerWith(t, brokers, func(o *collector.Options) { o.Sites = staticSites{st} })
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/event", strings.NewReader(pageview))
			req.Host = tt.host
			if tt.https {
				req.Header.Set("X-Forwarded-Proto", "https")
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			var c *http.Cookie
			for _, x := range resp.Cookies() {
				if x.Name == identity.CookieName {
					c = x
				}
			}
			if c == nil || !c.HttpOnly || c.SameSite != tt.sameSite || c.Secure != tt.secure || c.Domain != tt.domain ||
				c.MaxAge != int(collector.DefaultCookieMaxAge.Seconds()) {
				t.Fatalf("cookie %+v: want SameSite %v, Secure %v, Domain %q", c, tt.sameSite, tt.secure, tt.domain)
			}
		})
	}
}

// rejected is the expected exposition of one refusal reason's count.
func rejected(reason string, n int) string {
	return "# HELP teller_collector_events_rejected_total Requests refused, by reason.\n# TYPE teller_collector_events_rejected_total counter\n" +
		"teller_collector_events_rejected_total{reason=\"" + reason + "\"} " + strconv.Itoa(n) + "\n"
}

// A body trickled in (one byte every 300 ms against a 1 s read timeout; the
// service default is 10 s against a byte every 4.5 s) is cut: the
// connection closes and nothing is published.
func TestSlowBodyIsCut(t *testing.T) {
	brokers := testenv.Kafka(t, topic, 2)
	signer, _ := identity.NewSigner("collector-test-key-0123456789")
	p := bus.NewProducer(bus.Config{Brokers: config.StringList(brokers), Topic: topic}, testenv.Logger(t))
	t.Cleanup(func() { p.Close() })
	c, err := collector.New(collector.Options{Publisher: p, Sites: sites, Signer: signer, Logger: testenv.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	r := service.NewEngine(testenv.Logger(t))
	c.Mount(r)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- service.ServeListenerTimeouts(ctx, l, r, service.Timeouts{Read: time.Second}, nil) }()
	t.Cleanup(func() { cancel(); <-done })

	conn, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /api/event HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n", len(pageview))
	start := time.Now()
	var writeErr error
	for i := 0; i < len(pageview) && writeErr == nil && time.Since(start) < 10*time.Second; i++ {
		_, writeErr = conn.Write([]byte{pageview[i]})
		time.Sleep(300 * time.Millisecond)
		if conn.SetReadDeadline(time.Now().Add(time.Millisecond)) == nil {
			if _, err := conn.Read(make([]byte, 1)); err != nil && !isTimeout(err) {
				writeErr = err // the server closed the connection
			}
		}
	}
	took := time.Since(start)
	if writeErr == nil {
		t.Fatalf("the connection stayed open for %v of trickled body", took)
	}
	if took > 3*time.Second {
		t.Fatalf("cut after %v, want about the 1 s read timeout", took)
	}
	if msgs := readAll(t, brokers, 0); len(msgs) != 0 {
		t.Fatalf("%d events published from a cut body", len(msgs))
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// Prefetches are kept and flagged; a site that drops bots gets neither them
// nor crawlers (204, counted by class); the country comes from the address,
// which itself never reaches Kafka.
func TestBotsPrefetchesAndCountry(t *testing.T) {
	countries, err := geo.Open(geotest.Countries(t, map[string]string{"127.0.0.0/8": "DE"}))
	if err != nil {
		t.Fatal(err)
	}
	defer countries.Close()
	flagSite := site.Site{ID: "shop", Domains: []string{"shop.example"}}
	dropSite := site.Site{ID: "blog", Domains: []string{"blog.example"}, Settings: site.Settings{Bots: site.BotsDrop}}
	for _, s := range []*site.Site{&flagSite, &dropSite} {
		if err := s.Normalize(); err != nil {
			t.Fatal(err)
		}
	}
	brokers := testenv.Kafka(t, topic, 2)
	srv, reg := newServerWith(t, brokers, func(o *collector.Options) {
		o.Sites = staticSites{flagSite, dropSite}
		o.Countries = countries
	})
	browser := "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	blog := `{"site":"blog","kind":"pageview","url":"https://blog.example/"}`
	tests := []struct {
		name, body string
		header     map[string]string
		status     int
	}{
		{"browser", pageview, map[string]string{"User-Agent": browser}, 202},
		{"prefetch kept", pageview, map[string]string{"User-Agent": browser, "Sec-Purpose": "prefetch;prerender"}, 202},
		{"browser on the dropping site", blog, map[string]string{"User-Agent": browser}, 202},
		{"prefetch dropped", blog, map[string]string{"User-Agent": browser, "Purpose": "prefetch"}, 204},
		{"crawler dropped", blog, map[string]string{"User-Agent": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"}, 204},
		{"headless dropped", blog, map[string]string{"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36"}, 204},
	}
	for _, tt := range tests {
		if resp, body := post(t, http.DefaultClient, srv.URL, tt.body, tt.header); resp.StatusCode != tt.status {
			t.Errorf("%s: %d %s, want %d", tt.name, resp.StatusCode, body, tt.status)
		}
	}
	msgs := readAll(t, brokers, 3)
	if len(msgs) != 3 {
		t.Fatalf("%d events in Kafka, want 3", len(msgs))
	}
	flagged := 0
	for _, m := range msgs {
		ev, err := event.Unmarshal(m.Value)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Country != "DE" {
			t.Errorf("country %q, want DE", ev.Country)
		}
		if ev.Bot == "prefetch" {
			flagged++
		}
		if strings.Contains(string(m.Value), "127.0.0.1") {
			t.Errorf("the client address reached Kafka: %s", m.Value)
		}
	}
	if flagged != 1 {
		t.Errorf("%d events flagged as prefetch, want 1", flagged)
	}
	want := "# HELP teller_collector_bots_dropped_total Events dropped because their site drops bots, by class (prefetch, crawler, headless, ...).\n# TYPE teller_collector_bots_dropped_total counter\n" +
		"teller_collector_bots_dropped_total{class=\"crawler\"} 1\nteller_collector_bots_dropped_total{class=\"headless\"} 1\nteller_collector_bots_dropped_total{class=\"prefetch\"} 1\n"
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "teller_collector_bots_dropped_total"); err != nil {
		t.Fatal(err)
	}
}
