package snippet_test

// The visitor cookie as the browser stores it: the snippet on a page, the
// real collector (pkg/collector, publishing to an in-process Kafka broker)
// setting the cookie, and its attributes read back from Chromium over the
// DevTools protocol (Network.getCookies), not from the response headers.

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/segmentio/kafka-go"

	"github.com/teller-analytics/teller/internal/browser"
	"github.com/teller-analytics/teller/internal/testenv"
	"github.com/teller-analytics/teller/pkg/bus"
	"github.com/teller-analytics/teller/pkg/collector"
	"github.com/teller-analytics/teller/pkg/config"
	"github.com/teller-analytics/teller/pkg/event"
	"github.com/teller-analytics/teller/pkg/identity"
	"github.com/teller-analytics/teller/pkg/service"
	sites "github.com/teller-analytics/teller/pkg/site"
	"github.com/teller-analytics/teller/pkg/snippet"
)

// oneSite is the collector's registry: the one site of the test.
type oneSite sites.Site

func (s oneSite) Lookup(id string) (sites.Site, bool) { return sites.Site(s), id == s.ID }
func (s oneSite) All() []sites.Site                   { return []sites.Site{sites.Site(s)} }

const cookieTopic = "events"

// startCollector serves the real collector for st, over TLS if tls, and
// returns its URL with host in place of 127.0.0.1 (the browser maps *.test
// names to 127.0.0.1) and the broker's addresses.
func startCollector(t *testing.T, st sites.Site, tls bool, host string) (string, []string) {
	t.Helper()
	if err := st.Normalize(); err != nil {
		t.Fatal(err)
	}
	brokers := testenv.Kafka(t, cookieTopic, 1)
	producer := bus.NewProducer(bus.Config{Brokers: config.StringList(brokers), Topic: cookieTopic}, testenv.Logger(t))
	t.Cleanup(func() { producer.Close() })
	signer, err := identity.NewSigner("snippet-cookie-test-key-0123456789")
	if err != nil {
		t.Fatal(err)
	}
	c, err := collector.New(collector.Options{Publisher: producer, Sites: oneSite(st), Signer: signer,
		Snippet: snippet.Handler(), PublishTimeout: 5 * time.Second, Logger: testenv.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	r := service.NewEngine(testenv.Logger(t))
	c.Mount(r)
	srv := httptest.NewUnstartedServer(r)
	if tls {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return strings.Replace(srv.URL, "127.0.0.1", host, 1), brokers
}

// visitors reads the visitor ids of the first n events in the topic.
func visitors(t *testing.T, brokers []string, n int) []string {
	t.Helper()
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, Topic: cookieTopic, Partition: 0, MaxWait: 100 * time.Millisecond})
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	var out []string
	for len(out) < n {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			t.Fatalf("read event %d of %d: %v", len(out)+1, n, err)
		}
		ev, err := event.Unmarshal(m.Value)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ev.Visitor.String())
	}
	return out
}

func TestBrowserVisitorCookieAttributes(t *testing.T) {
	const pagesHost = "www.shop.test"
	tests := []struct {
		name          string
		collectorHost string
		tls           bool
		settings      sites.Settings
		// thirdParty lifts Chromium's default block of third-party
		// cookies, which keeps a cross-site collector's cookie whatever
		// its attributes (docs: host the collector on a subdomain of the
		// site, or use cookieless).
		thirdParty bool
		// blockedByDefault: the browser refuses the cookie (a cross-site
		// collector with Chromium's default preference).
		blockedByDefault bool
		// What the browser stores.
		domain   string // "" for a host-only cookie of the collector's host
		sameSite network.CookieSameSite
		secure   bool
	}{
		// The collector on a subdomain of the site: first-party, Lax, and the
		// site's cookie domain covers its subdomains.
		{"same site over http, site cookie domain", "stats.shop.test", false, sites.Settings{CookieDomain: "shop.test"}, false, false,
			".shop.test", network.CookieSameSiteLax, false},
		// The collector elsewhere, over HTTPS: SameSite=None, which browsers
		// keep only with Secure.
		{"cross site over https, third-party cookies allowed", "stats.collector.test", true, sites.Settings{}, true, false,
			"", network.CookieSameSiteNone, true},
		{"cross site over https, Chromium's default", "stats.collector.test", true, sites.Settings{}, false, true,
			"", network.CookieSameSiteNone, true},
		{"same site over https, Strict asked", "stats.shop.test", true, sites.Settings{SameSite: sites.SameSiteStrict}, false, false,
			"", network.CookieSameSiteStrict, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := sites.Site{ID: siteID, Domains: []string{"shop.test"}, Settings: tt.settings}
			collectorURL, brokers := startCollector(t, st, tt.tls, tt.collectorHost)
			pages := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/favicon.ico" {
					http.NotFound(w, r)
					return
				}
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				fmt.Fprintf(w, pageHTML, pageTitle, snippet.Stub, snippet.Tag(collectorURL, siteID), "http://elsewhere.test")
			}))
			// The pages use the collector's scheme: browsers treat http and
			// https of one site as two sites (schemeful same-site).
			if tt.tls {
				pages.StartTLS()
			} else {
				pages.Start()
			}
			t.Cleanup(pages.Close)
			pageURL := strings.Replace(pages.URL, "127.0.0.1", pagesHost, 1) + "/page"

			opts := []chromedp.ExecAllocatorOption{chromedp.Flag("host-resolver-rules", "MAP *.test 127.0.0.1"),
				chromedp.Flag("ignore-certificate-errors", true)} // httptest's certificate
			if tt.thirdParty {
				// A profile whose cookie preference allows third-party
				// cookies (chrome://settings/cookies).
				dir := t.TempDir()
				if err := os.MkdirAll(filepath.Join(dir, "Default"), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, "Default", "Preferences"), []byte(`{"profile":{"cookie_controls_mode":0}}`), 0o644); err != nil {
					t.Fatal(err)
				}
				opts = append(opts, chromedp.UserDataDir(dir))
			}
			b := browser.New(t, opts...)
			// Why the browser refused a Set-Cookie, if it did.
			var mu sync.Mutex
			var blocked []string
			go func() {
				for ev, err := range chromedp.Events(b.Context(), network.ResponseReceivedExtraInfo) {
					if err != nil {
						return
					}
					for _, bc := range ev.BlockedCookies {
						mu.Lock()
						blocked = append(blocked, fmt.Sprint(bc.BlockedReasons))
						mu.Unlock()
					}
				}
			}()
			set := time.Now()
			if err := b.Run(chromedp.Navigate(pageURL)); err != nil {
				t.Fatal(err)
			}
			visitors(t, brokers, 1)
			// A second event: the browser sends the cookie back, so both
			// events have the same visitor.
			if err := b.Run(chromedp.Evaluate[chromedp.Void](`teller('second')`)); err != nil {
				t.Fatal(err)
			}
			v := visitors(t, brokers, 2)
			refusals := func() (int, string) {
				mu.Lock()
				defer mu.Unlock()
				return len(blocked), strings.Join(blocked, " ")
			}
			if tt.blockedByDefault {
				// The protocol's events arrive a moment after the answers.
				testenv.Eventually(t, waitFor, "both refusals reported", func() bool { n, _ := refusals(); return n >= 2 })
			}
			n, refused := refusals()
			if tt.blockedByDefault {
				// Chromium's default: third-party cookies are refused by
				// the user's preference alone (not for an attribute), and
				// every event is a new visitor.
				if v[0] == v[1] || n != 2 || strings.ReplaceAll(refused, "[UserPreferences]", "") != " " {
					t.Errorf("visitors %v, refusals %q: want the cookie refused for UserPreferences only, twice", v, refused)
				}
				return
			}
			if v[0] != v[1] || refused != "" {
				t.Errorf("the second event has visitor %s, the first %s (cookie refusals %q): the browser did not keep the cookie", v[1], v[0], refused)
			}

			ctx, cancel := context.WithTimeout(b.Context(), waitFor)
			defer cancel()
			res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{collectorURL + "/api/event"}})
			if err != nil {
				t.Fatal(err)
			}
			var c *network.Cookie
			for _, x := range res.Cookies {
				if x.Name == identity.CookieName {
					c = x
				}
			}
			if c == nil {
				t.Fatalf("the browser keeps no %s cookie for %s: %+v", identity.CookieName, collectorURL, res.Cookies)
			}
			domain := tt.domain
			if domain == "" {
				domain = tt.collectorHost
			}
			if c.Domain != domain || c.Path != "/" || !c.HTTPOnly || c.Secure != tt.secure || c.SameSite != tt.sameSite || c.Session {
				t.Errorf("cookie %+v: want domain %s, path /, HttpOnly, Secure %v, SameSite %s, persistent", c, domain, tt.secure, tt.sameSite)
			}
			// Max-Age 13 months (collector.DefaultCookieMaxAge), from when it was set.
			want := set.Add(collector.DefaultCookieMaxAge)
			if got := time.Unix(int64(c.Expires), 0); math.Abs(got.Sub(want).Hours()) > 1 {
				t.Errorf("cookie expires %s, want about %s (13 months)", got, want)
			}
			// HttpOnly as the page sees it: its scripts cannot read the id,
			// even where the cookie's domain covers the page.
			if js, err := browser.Get(b, chromedp.Evaluate[string](`document.cookie`)); err != nil || strings.Contains(js, identity.CookieName) {
				t.Errorf("document.cookie = %q (%v): the page's scripts can read the visitor cookie", js, err)
			}
		})
	}
}
