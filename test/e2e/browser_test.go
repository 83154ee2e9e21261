package e2e

import (
	"fmt"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/teller-analytics/teller/internal/browser"
	"github.com/teller-analytics/teller/internal/demo"
	"github.com/teller-analytics/teller/internal/testenv"
)

// A person clicks through the demo site in Chromium: the real snippet, the
// collector's cookie, Kafka, the sessionizer and ClickHouse produce one
// session with the pages, the signup and the SPA navigation in order.
func TestDemoSiteInBrowser(t *testing.T) {
	p, query := startPipeline(t)
	demoSrv := httptest.NewServer(demo.Site{CollectorURL: p.collector, SiteID: "demo"})
	defer demoSrv.Close()

	// Chromium presents itself as the desktop Chrome a person uses: its own
	// user agent says HeadlessChrome, which Teller rightly flags as a bot.
	b := browser.New(t, chromedp.UserAgent(chromeUA))
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	err := b.Run(
		chromedp.Navigate(demoSrv.URL+"/"),
		chromedp.WaitVisible(css("#to-pricing")),
	)
	if err != nil {
		t.Fatal(err)
	}
	// Each step waits for its event to land, so the order in the log is the
	// order of the clicks (a person pauses between clicks too).
	waitEvents := func(n string) {
		testenv.Eventually(t, 30*time.Second, n+" events from the browser", func() bool {
			return query("SELECT uniqExact(event_id) FROM events WHERE site_id = 'demo'") == n
		})
	}
	waitEvents("1")
	steps := []struct {
		do     []chromedp.Action[chromedp.Void]
		events string
	}{
		{[]chromedp.Action[chromedp.Void]{chromedp.Click(css("#to-pricing")), chromedp.WaitVisible(css("#signup"))}, "3"}, // engagement on leaving /, pageview /pricing
		{[]chromedp.Action[chromedp.Void]{chromedp.Click(css("#signup")), chromedp.WaitVisible(css("#flash"))}, "4"},
		{[]chromedp.Action[chromedp.Void]{chromedp.Click(css("#nav-docs")), chromedp.WaitVisible(css("#spa-start"))}, "6"},
		{[]chromedp.Action[chromedp.Void]{chromedp.Click(css("#spa-start"))}, "8"}, // engagement on /docs, pageview of the SPA route
	}
	for i, s := range steps {
		time.Sleep(1100 * time.Millisecond) // the snippet reports engagement of at least 1 s
		if err := b.Run(s.do...); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		waitEvents(s.events)
	}
	if err := b.Screenshot(os.TempDir() + "/teller-demo-docs.png"); err != nil {
		t.Fatal(err)
	}

	got := query(`SELECT kind, name, pathname, concat('{', arrayStringConcat(arrayMap((k, v) -> concat(k, '=', v), props_keys, props_values), ','), '}')
FROM events WHERE site_id = 'demo' AND kind != 'engagement' ORDER BY ts_ms`)
	want := strings.Join([]string{
		"pageview\tpageview\t/\t{}",
		"pageview\tpageview\t/pricing\t{}",
		"event\tSignup\t/pricing\t{plan=orbiter}",
		"pageview\tpageview\t/docs\t{}",
		"pageview\tpageview\t/docs/getting-started\t{}",
	}, "\n")
	if got != want {
		t.Fatalf("events:\n%s\nwant:\n%s", got, want)
	}
	if n := query("SELECT count() FROM events WHERE site_id = 'demo' AND kind = 'engagement' AND engaged_ms >= 1000"); n != "3" {
		t.Fatalf("engagement events with >= 1 s: %s, want 3 (leaving /, /pricing and /docs)", n)
	}
	got = query(`SELECT count(), any(entry_pathname), any(pageviews), any(custom_events), any(browser), any(os), any(is_bot), any(start_reason), any(is_bounce)
FROM sessions WHERE site_id = 'demo'`)
	if got != "1\t/\t4\t1\tChrome\tLinux\t0\tfirst_visit\t0" {
		t.Fatalf("session: %q", got)
	}

	// Then the site owner opens the dashboard in the same browser, signs in
	// and sees the session.
	err = b.Run(
		chromedp.Navigate(p.dashboard+"/sites/demo"),
		chromedp.WaitVisible(css("#password")),
		chromedp.SendKeys(css("#username"), "admin"),
		chromedp.SendKeys(css("#password"), dashboardPassword),
		chromedp.Click(css("#login-submit")),
		chromedp.WaitVisible(css("#kpi-sessions")),
	)
	if err != nil {
		t.Fatal(err)
	}
	kpis, err := browser.Get(b, chromedp.Evaluate[map[string]string](`({
		visitors: document.querySelector('#kpi-visitors').dataset.value,
		sessions: document.querySelector('#kpi-sessions').dataset.value,
		pageviews: document.querySelector('#kpi-pageviews').dataset.value,
		entry: document.querySelector('#table-sessions tr.session .entry').textContent.trim(),
	})`))
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"visitors": "1", "sessions": "1", "pageviews": "4", "entry": "/"}; fmt.Sprint(kpis) != fmt.Sprint(want) {
		t.Fatalf("dashboard shows %v, want %v", kpis, want)
	}
	if err := b.Screenshot(os.TempDir() + "/teller-demo-dashboard.png"); err != nil {
		t.Fatal(err)
	}
	if ex := b.Exceptions(); len(ex) > 0 {
		t.Fatalf("the page raised exceptions: %v", ex)
	}
}
