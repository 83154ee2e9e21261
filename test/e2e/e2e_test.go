// Package e2e runs the whole pipeline as real servers over TCP: a local
// ClickHouse, a Kafka-protocol broker (kfake), and the collector, sessionizer
// and dashboard wired by pkg/app's Run functions as the binaries wire them
// (their configuration is given in code here, not parsed from flags). Visits
// are replayed through the collector's HTTP API as a browser sends them
// (cookies taken from answers and sent back); figures are then read with
// clickhouse-client from the documented tables and from the dashboard's API.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/teller-analytics/teller/internal/geotest"
	"github.com/teller-analytics/teller/internal/testenv"
	"github.com/teller-analytics/teller/pkg/app"
	"github.com/teller-analytics/teller/pkg/bus"
	"github.com/teller-analytics/teller/pkg/config"
	"github.com/teller-analytics/teller/pkg/sessionizer"
	"github.com/teller-analytics/teller/pkg/site"
	"github.com/teller-analytics/teller/pkg/store"
)

const (
	dashboardPassword = "correct horse battery staple"
	database          = "teller_e2e"
	topic             = "teller.events"
	siteID            = "shop"
)

// pipeline is a running set of services.
type pipeline struct {
	t          *testing.T
	collector  string // base URL
	dashboard  string
	sessionize string
	clock      atomic.Int64 // the collector's clock, Unix ms
	db         *store.DB
	stop       func()
}

func startPipeline(t *testing.T) (*pipeline, func(q string) string) {
	t.Helper()
	ch := testenv.ClickHouse(t)
	brokers := testenv.Kafka(t, topic, 4)
	db := testenv.OpenStore(t, ch, database)
	ctx, cancel := context.WithCancel(context.Background())
	for _, s := range []site.Site{
		{ID: siteID, Name: "Shop", Domains: []string{"shop.example"}, Timezone: "Europe/Berlin"},
		{ID: "demo", Name: "Demo", Domains: []string{"127.0.0.1", "localhost"}},
	} {
		if err := db.SaveSite(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	p := &pipeline{t: t, db: db}
	storeCfg := testenv.StoreConfig(ch, database)
	kafkaCfg := bus.Config{Brokers: config.StringList(brokers), Topic: topic, Partitions: 4, ReplicationFactor: 1}
	log := testenv.Logger(t)

	var wg sync.WaitGroup
	errs := make(chan error, 3)
	ready := func(dst *string) (func(net.Addr), chan struct{}) {
		done := make(chan struct{})
		return func(a net.Addr) { *dst = "http://" + a.String(); close(done) }, done
	}
	colReady, colDone := ready(&p.collector)
	sesReady, sesDone := ready(&p.sessionize)
	dashReady, dashDone := ready(&p.dashboard)
	wg.Add(3)
	go func() {
		defer wg.Done()
		errs <- app.RunDashboard(ctx, app.DashboardConfig{Listen: "127.0.0.1:0", Store: storeCfg, User: "admin",
			Password: dashboardPassword, LoginSecret: "e2e-login-secret-0123456789"}, log.With("service", "dashboard"), app.Hooks{Ready: dashReady})
	}()
	go func() {
		defer wg.Done()
		errs <- app.RunCollector(ctx, app.CollectorConfig{Listen: "127.0.0.1:0", Store: storeCfg, Kafka: kafkaCfg,
			CookieSecrets: config.StringList{"e2e-cookie-secret-0123456789"}, CreateTopic: true,
			// Every test client is on loopback: its country is Germany.
			GeoDB: geotest.Countries(t, map[string]string{"127.0.0.0/8": "DE"})},
			log.With("service", "collector"), app.Hooks{Ready: colReady, Clock: p.now})
	}()
	scfg := sessionizer.DefaultConfig()
	scfg.FlushInterval, scfg.CheckpointInterval = 200*time.Millisecond, time.Second
	go func() {
		defer wg.Done()
		errs <- app.RunSessionizer(ctx, app.SessionizerConfig{Listen: "127.0.0.1:0", Store: storeCfg, Kafka: kafkaCfg,
			Sessionizer: scfg},
			log.With("service", "sessionizer"), app.Hooks{Ready: sesReady})
	}()
	for _, done := range []chan struct{}{colDone, sesDone, dashDone} {
		select {
		case <-done:
		case err := <-errs:
			t.Fatalf("service failed to start: %v", err)
		case <-time.After(60 * time.Second):
			t.Fatal("services did not start within 60 s")
		}
	}
	p.stop = func() {
		cancel()
		wg.Wait()
	}
	t.Cleanup(p.stop)
	return p, func(q string) string { return testenv.ClientQuery(t, ch, database, q) }
}

// now is the collector's clock: the test's when it set one, else real time
// (the browser test clicks at a person's pace).
func (p *pipeline) now() time.Time {
	if ms := p.clock.Load(); ms != 0 {
		return time.UnixMilli(ms)
	}
	return time.Now()
}

// visitor is one browser replayed over HTTP: its own cookie jar, like a browser profile.
type visitor struct {
	p      *pipeline
	client *http.Client
	ua     string
}

func (p *pipeline) newVisitor(ua string) *visitor {
	jar, _ := cookiejar.New(nil)
	return &visitor{p: p, client: &http.Client{Jar: jar, Timeout: 15 * time.Second}, ua: ua}
}

const chromeUA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"

// send posts one event at the given collector time, as the snippet does.
func (b *visitor) send(at time.Time, body map[string]any) (int, string) {
	b.p.t.Helper()
	b.p.clock.Store(at.UnixMilli())
	if _, ok := body["site"]; !ok {
		body["site"] = siteID
	}
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, b.p.collector+"/api/event", bytes.NewReader(raw))
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	req.Header.Set("Origin", "https://shop.example")
	req.Header.Set("User-Agent", b.ua)
	resp, err := b.client.Do(req)
	if err != nil {
		b.p.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

func (b *visitor) pageview(at time.Time, path, referrer string) {
	b.p.t.Helper()
	code, body := b.send(at, map[string]any{"kind": "pageview", "url": "https://shop.example" + path,
		"referrer": referrer, "title": "Page " + path, "screen_width": 1440, "screen_height": 900})
	if code != http.StatusAccepted {
		b.p.t.Fatalf("pageview %s: %d %s", path, code, body)
	}
}

func (b *visitor) custom(at time.Time, path, name string, props map[string]string) {
	b.p.t.Helper()
	code, body := b.send(at, map[string]any{"kind": "event", "name": name, "url": "https://shop.example" + path, "props": props})
	if code != http.StatusAccepted {
		b.p.t.Fatalf("event %s: %d %s", name, code, body)
	}
}

func TestPipelineEndToEnd(t *testing.T) {
	p, query := startPipeline(t)
	day := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	at := func(hms string) time.Time {
		tm, _ := time.Parse("15:04:05", hms)
		return day.Add(time.Duration(tm.Hour())*time.Hour + time.Duration(tm.Minute())*time.Minute + time.Duration(tm.Second())*time.Second)
	}

	// Alice: four pages and a signup; a 29-minute pause keeps her session,
	// then a 31-minute pause starts a new one.
	alice := p.newVisitor(chromeUA)
	alice.pageview(at("10:00:00"), "/", "https://www.google.com/")
	alice.pageview(at("10:01:00"), "/pricing", "https://shop.example/")
	alice.pageview(at("10:03:00"), "/signup", "https://shop.example/pricing")
	alice.custom(at("10:03:30"), "/signup", "Signup", map[string]string{"plan": "pro"})
	alice.pageview(at("10:32:30"), "/docs", "https://shop.example/signup") // 29 min after 10:03:30
	alice.pageview(at("11:03:31"), "/blog", "")                            // 31 min 1 s after 10:32:30

	// Bob: one page from Hacker News, then leaves: a bounce.
	bob := p.newVisitor("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1")
	bob.pageview(at("10:10:00"), "/blog/launch?utm_source=hn&utm_medium=social", "https://news.ycombinator.com/")

	// A crawler: recorded and flagged, left out of reports.
	bot := p.newVisitor("curl/8.5.0")
	bot.pageview(at("10:20:00"), "/", "")

	// Bad input gets clear refusals and changes nothing.
	for _, tc := range []struct {
		body map[string]any
		want int
		msg  string
	}{
		{map[string]any{"site": "nope", "kind": "pageview", "url": "https://shop.example/"}, 403, "unknown site"}, // issue 10: 403 for an unknown site
		{map[string]any{"kind": "pageview", "url": "https://elsewhere.example/"}, 400, "not a domain of site"},
		{map[string]any{"kind": "click", "url": "https://shop.example/"}, 400, "kind"},
		{map[string]any{"kind": "pageview", "url": "/relative"}, 400, "url"},
		{map[string]any{"kind": "pageview", "url": "https://shop.example/", "extra": 1}, 400, "unknown field"},
	} {
		code, body := bot.send(at("10:21:00"), tc.body)
		if code != tc.want || !strings.Contains(body, tc.msg) {
			t.Errorf("%v: got %d %s, want %d mentioning %q", tc.body, code, body, tc.want, tc.msg)
		}
	}

	// The browser kept one visitor id across requests (cookie round trip).
	testenv.Eventually(t, 30*time.Second, "8 events in ClickHouse", func() bool {
		return query("SELECT uniqExact(event_id) FROM events") == "8"
	})
	if got := query("SELECT uniqExact(visitor_id) FROM events WHERE is_bot = 0"); got != "2" {
		t.Fatalf("visitors = %s, want 2 (cookie not kept?)", got)
	}

	// The documented sessions view, read with clickhouse-client.
	testenv.Eventually(t, 10*time.Second, "4 sessions", func() bool { return query("SELECT count() FROM sessions") == "4" })
	got := query(`SELECT entry_pathname, exit_pathname, pageviews, custom_events, duration_ms, referrer_domain, channel,
 start_reason, is_bounce, is_bot, browser, device
FROM sessions WHERE site_id = 'shop' ORDER BY first_ms`)
	want := strings.Join([]string{
		"/\t/docs\t4\t1\t1950000\tgoogle.com\torganic_search\tfirst_visit\t0\t0\tChrome\tdesktop",
		"/blog/launch\t/blog/launch\t1\t0\t0\tnews.ycombinator.com\torganic_social\tfirst_visit\t1\t0\tSafari\tmobile",
		"/\t/\t1\t0\t0\t\tdirect\tfirst_visit\t1\t1\t\tbot",
		"/blog\t/blog\t1\t0\t0\t\tdirect\tinactivity\t1\t0\tChrome\tdesktop",
	}, "\n")
	if got != want {
		t.Fatalf("sessions:\n%s\nwant:\n%s", got, want)
	}
	if n := query("SELECT count() FROM rejected_events"); n != "0" {
		t.Fatalf("rejected_events = %s, want 0", n)
	}
	// The collector's country reached every event and every session.
	if got := query("SELECT countIf(country = 'DE'), count() FROM events FINAL"); got != "8\t8" {
		t.Fatalf("events in Germany, of all: %s, want 8 of 8", got)
	}
	if got := query("SELECT groupUniqArray(country) FROM sessions"); got != "['DE']" {
		t.Fatalf("countries of the sessions: %s, want ['DE']", got)
	}

	// The example queries in README.md run as printed on this data.
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```sql\n(.*?)```").FindAllSubmatch(readme, -1)
	if len(blocks) < 2 {
		t.Fatalf("README has %d SQL examples, want at least 2", len(blocks))
	}
	for _, b := range blocks {
		sql := strings.TrimSuffix(strings.TrimSpace(strings.ReplaceAll(string(b[1]), "teller.", database+".")), ";")
		sql = strings.ReplaceAll(sql, "'demo'", "'"+siteID+"'")
		sql = strings.ReplaceAll(sql, "today() - 7", "toDate('2026-03-01')")
		if out := query(sql); out == "" {
			t.Errorf("README query returned nothing:\n%s", sql)
		}
	}

	// The dashboard, logged in through its form, reports the same figures
	// (bots left out; the site's day is Europe/Berlin).
	dash := p.login(t)
	var summary map[string]any
	dash.getJSON(t, "/api/sites/shop/summary?from=2026-03-02&to=2026-03-02", &summary)
	for k, want := range map[string]float64{"visitors": 2, "sessions": 3, "pageviews": 6,
		"avg_duration_sec": 650, "pageviews_per_session": 2} {
		if summary[k] != want {
			t.Errorf("dashboard %s = %v, want %v", k, summary[k], want)
		}
	}
	if br, _ := summary["bounce_rate"].(float64); fmt.Sprintf("%.4f", br) != "0.6667" {
		t.Errorf("dashboard bounce_rate = %v, want 2/3", summary["bounce_rate"])
	}
	for dim, want := range map[string]string{
		"pages":       "/:1 /blog/launch:1 /blog:1 /docs:1 /pricing:1 /signup:1",
		"entry_pages": "/:4 /blog/launch:1 /blog:1",
		"exit_pages":  "/blog/launch:1 /blog:1 /docs:4",
		"referrers":   ":1 google.com:4 news.ycombinator.com:1",
		"channels":    "direct:1 organic_search:4 organic_social:1",
		"country":     "DE:6",
	} {
		var br struct {
			Rows []struct {
				Key       string
				Pageviews uint64
			}
		}
		dash.getJSON(t, "/api/sites/shop/breakdown/"+dim+"?from=2026-03-02&to=2026-03-02", &br)
		var got []string
		for _, r := range br.Rows {
			got = append(got, fmt.Sprintf("%s:%d", r.Key, r.Pageviews))
		}
		sort.Strings(got)
		if strings.Join(got, " ") != want {
			t.Errorf("dashboard %s: %v, want %s", dim, got, want)
		}
	}
	// The day before and after, in the site's zone, are empty.
	dash.getJSON(t, "/api/sites/shop/summary?from=2026-03-03&to=2026-03-03", &summary)
	if summary["sessions"] != 0.0 {
		t.Errorf("sessions on the next day: %v", summary["sessions"])
	}
}

// dashClient is a logged-in dashboard user.
type dashClient struct {
	base   string
	client *http.Client
}

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (p *pipeline) login(t *testing.T) *dashClient {
	t.Helper()
	return loginAs(t, p.dashboard, "admin", dashboardPassword)
}

func (c *dashClient) getJSON(t *testing.T, path string, v any) {
	t.Helper()
	resp, err := c.client.Get(c.base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %s", path, resp.Status, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: %v in %s", path, err, body)
	}
}
