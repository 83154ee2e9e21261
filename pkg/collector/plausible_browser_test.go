package collector_test

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/teller-analytics/teller/internal/browser"
	"github.com/teller-analytics/teller/internal/testenv"
	"github.com/teller-analytics/teller/pkg/collector"
	"github.com/teller-analytics/teller/pkg/event"
	"github.com/teller-analytics/teller/pkg/site"
)

// Plausible's published tracker (npm), pinned by version and checksum: the
// drop-in is tested against what Plausible ships, not an imitation.
const (
	plausiblePackage = "@plausible-analytics/tracker@0.4.6"
	plausibleTarball = "plausible-analytics-tracker-0.4.6.tgz"
	plausibleSHA256  = "7468407b0d7b7cca3a567288e0885fb43ac989aa851c1e2f2455c25115751c3f"
)

// plausibleJS fetches the tracker with npm pack into a temporary folder and
// returns its plausible.js.
func plausibleJS(t *testing.T) []byte {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command("npm", "pack", "--silent", plausiblePackage)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm pack %s: %v: %s", plausiblePackage, err, out)
	}
	raw, err := os.ReadFile(filepath.Join(dir, plausibleTarball))
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(raw); hex.EncodeToString(sum[:]) != plausibleSHA256 {
		t.Fatalf("%s has checksum %x, want %s", plausibleTarball, sum, plausibleSHA256)
	}
	f, _ := os.Open(filepath.Join(dir, plausibleTarball))
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("plausible.js not in %s: %v", plausibleTarball, err)
		}
		if h.Name == "package/plausible.js" {
			js, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			return js
		}
	}
}

// The page loads Plausible's tracker as its README says, with the endpoint
// pointed at the collector. window.__plausible is the tracker's own switch
// for running under automation (it ignores navigator.webdriver browsers
// otherwise); captureOnLocalhost lets it run on 127.0.0.1.
const plausiblePage = `<!doctype html><title>Plausible page</title>
<script>window.__plausible = true</script>
<script type="module">
import { init, track } from '/plausible.js'
init({ domain: '127.0.0.1', endpoint: '%s/api/event', captureOnLocalhost: true, logging: false })
window.plausibleTrack = track
</script>
<div style="height: 3000px">Long page</div>`

func TestPlausibleTrackerInChromium(t *testing.T) {
	js := plausibleJS(t)
	brokers := testenv.Kafka(t, topic, 2)
	st := site.Site{ID: "pl", Domains: []string{"127.0.0.1"}, Settings: site.Settings{CookieMode: site.CookieModeCookieless}}
	if err := st.Normalize(); err != nil {
		t.Fatal(err)
	}
	col, _ := newServerWith(t, brokers, func(o *collector.Options) { o.Sites = staticSites{st} })
	pages := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/plausible.js":
			w.Header().Set("Content-Type", "text/javascript")
			w.Write(js)
		case "/favicon.ico":
			http.NotFound(w, r)
		default:
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprintf(w, plausiblePage, col.URL)
		}
	}))
	t.Cleanup(pages.Close)

	b := browser.New(t)
	wait := func(n int, what string) []*event.Event {
		t.Helper()
		var evs []*event.Event
		testenv.Eventually(t, 15*time.Second, what, func() bool {
			evs = nil
			for _, m := range readAll(t, brokers, n) {
				ev, err := event.Unmarshal(m.Value)
				if err != nil {
					t.Fatal(err)
				}
				evs = append(evs, ev)
			}
			return len(evs) >= n
		})
		return evs
	}
	if err := b.Run(chromedp.Navigate(pages.URL + "/landing?utm_source=news&email=a@b.example")); err != nil {
		t.Fatal(err)
	}
	wait(1, "the pageview")
	if err := b.Run(chromedp.Evaluate[chromedp.Void](`plausibleTrack('Signup', {props: {plan: 'pro'}, revenue: {amount: 12.5, currency: 'EUR'}})`)); err != nil {
		t.Fatal(err)
	}
	wait(2, "the custom event")
	// A single-page app's route change, then leaving the page: Plausible sends
	// the engagement of the route it leaves.
	if err := b.Run(chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 1500); history.pushState({}, '', '/app/step2')`)); err != nil {
		t.Fatal(err)
	}
	if err := b.Run(chromedp.Navigate(pages.URL + "/bye")); err != nil {
		t.Fatal(err)
	}
	evs := wait(6, "the SPA pageview, both engagements and the next page")
	by := map[string][]*event.Event{}
	visitors := map[string]bool{}
	for _, ev := range evs {
		by[string(ev.Kind)+" "+ev.URL] = append(by[string(ev.Kind)+" "+ev.URL], ev)
		visitors[ev.Visitor.String()] = true
	}
	landing := pages.URL + "/landing?utm_source=news"
	if pv := by["pageview "+landing]; len(pv) != 1 || pv[0].Campaign.Source != "news" {
		t.Errorf("landing pageview (query stripped, campaign kept): %v", by)
	}
	if c := by["event "+landing]; len(c) != 1 || c[0].Name != "Signup" || c[0].Props["plan"] != "pro" ||
		c[0].Props["revenue_amount"] != "12.5" || c[0].Props["revenue_currency"] != "EUR" {
		t.Errorf("custom event with props and revenue: %v", c)
	}
	if len(by["pageview "+pages.URL+"/app/step2"]) != 1 || len(by["pageview "+pages.URL+"/bye"]) != 1 {
		t.Errorf("SPA route and next page: %v", by)
	}
	engaged := append(by["engagement "+landing], by["engagement "+pages.URL+"/app/step2"]...)
	if len(engaged) == 0 {
		t.Errorf("no engagement event from Plausible's tracker: %v", by)
	}
	for _, e := range engaged {
		if e.ScrollDepth < 0 || e.ScrollDepth > 100 || e.EngagedMs < 0 {
			t.Errorf("engagement out of range: %+v", e)
		}
	}
	if len(visitors) != 1 {
		t.Errorf("%d visitors for one browser (cookieless site), want 1", len(visitors))
	}
}
