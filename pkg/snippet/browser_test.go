package snippet_test

// These tests load the snippet in a real headless Chromium (internal/browser)
// and assert the exact JSON bodies it posts to /api/event, as received by a
// recorder in the collector's place (test/e2e sends them to the real one).

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/teller-analytics/teller/internal/browser"
	"github.com/teller-analytics/teller/pkg/collector"
	"github.com/teller-analytics/teller/pkg/snippet"
)

const (
	siteID    = "t1"
	pageTitle = "Teller test page"
	// How long to wait for the browser to send what a test expects.
	waitFor = 15 * time.Second
)

// request is one request the recorder received at /api/event.
type request struct {
	Method       string
	ContentType  string
	Cookie       string
	SecFetchMode string // "cors" for fetch, "no-cors" for sendBeacon
	Events       []map[string]any
	Batch        bool // the body was a JSON array (events sent together)
}

// has reports whether one of the request's events matches.
func (r request) has(match func(ev map[string]any) bool) bool {
	for _, ev := range r.Events {
		if match(ev) {
			return true
		}
	}
	return false
}

// recorder stands in for the collector's /api/event: it keeps every request,
// answers 202 with a visitor cookie, and CORS headers for a credentialed
// cross-origin fetch.
type recorder struct {
	t      testing.TB
	status int // the answer to a POST

	mu       sync.Mutex
	requests []request
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if origin := r.Header.Get("Origin"); origin != "" {
		w.Header().Set("Access-Control-Allow-Origin", origin)
		w.Header().Set("Access-Control-Allow-Credentials", "true")
		w.Header().Set("Vary", "Origin")
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		rec.t.Errorf("recorder: read body: %v", err)
	}
	req := request{
		Method:       r.Method,
		ContentType:  r.Header.Get("Content-Type"),
		Cookie:       r.Header.Get("Cookie"),
		SecFetchMode: r.Header.Get("Sec-Fetch-Mode"),
	}
	if r.Method == http.MethodPost {
		if trimmed := strings.TrimSpace(string(body)); strings.HasPrefix(trimmed, "[") {
			req.Batch = true
			if err := json.Unmarshal(body, &req.Events); err != nil || len(req.Events) < 2 {
				rec.t.Errorf("recorder: body is not a JSON array of two or more events (one event is sent as an object): %v: %s", err, body)
			}
		} else {
			var ev map[string]any
			if err := json.Unmarshal(body, &ev); err != nil {
				rec.t.Errorf("recorder: body is not a JSON object: %v: %s", err, body)
			}
			req.Events = []map[string]any{ev}
		}
	}
	if req.Cookie == "" {
		http.SetCookie(w, &http.Cookie{Name: "tv", Value: "visitor-1", Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	}
	// Answer before recording, so that a test that saw the request can count
	// on the browser having (or about to have) the answer and its cookie.
	w.WriteHeader(rec.status)
	w.(http.Flusher).Flush()

	rec.mu.Lock()
	rec.requests = append(rec.requests, req)
	rec.mu.Unlock()
}

func (rec *recorder) all() []request {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]request(nil), rec.requests...)
}

// events returns the events received so far that match, in arrival order.
func (rec *recorder) events(match func(ev map[string]any) bool) []map[string]any {
	var out []map[string]any
	for _, r := range rec.all() {
		for _, ev := range r.Events {
			if ev != nil && (match == nil || match(ev)) {
				out = append(out, ev)
			}
		}
	}
	return out
}

// wait returns the first n matching events once they arrived, or fails the
// test listing what did arrive.
func (rec *recorder) wait(n int, what string, match func(ev map[string]any) bool) []map[string]any {
	rec.t.Helper()
	deadline := time.Now().Add(waitFor)
	for {
		if evs := rec.events(match); len(evs) >= n {
			return evs[:n]
		}
		if time.Now().After(deadline) {
			rec.t.Fatalf("waited %s for %d %s event(s); received:\n%s", waitFor, n, what, rec.dump())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (rec *recorder) dump() string {
	var b strings.Builder
	for _, r := range rec.all() {
		ev, _ := json.Marshal(r.Events)
		fmt.Fprintf(&b, "  %s %s cookie=%q mode=%s %s\n", r.Method, r.ContentType, r.Cookie, r.SecFetchMode, ev)
	}
	return b.String()
}

func kind(k string) func(map[string]any) bool {
	return func(ev map[string]any) bool { return ev["kind"] == k }
}

func named(name string) func(map[string]any) bool {
	return func(ev map[string]any) bool { return ev["name"] == name }
}

// site is a test website with the snippet on every page, and a browser.
type site struct {
	URL   string // origin of the pages, e.g. http://127.0.0.1:1234
	Other string // origin of another site, for outbound links
	// Collector is the origin the snippet is loaded from and sends to.
	Collector string
	rec       *recorder
	b         *browser.Browser
}

type siteOptions struct {
	crossOrigin bool   // serve the snippet and /api/event from a second origin
	tagAttrs    string // extra attributes of the snippet's script tag
	status      int    // /api/event's answer; default 202
	// preludes is extra HTML before the snippet's tag, by page path.
	preludes map[string]string
	// host replaces 127.0.0.1 in the pages' URL (and the collector's, when
	// they share an origin): localhost, or a name under .test, which the
	// browser resolves to 127.0.0.1.
	host string
	// local leaves out data-allow-localhost, which the tag has otherwise:
	// the pages are on 127.0.0.1, which the snippet skips unless told.
	local bool
}

// The page: a title, the queue stub, links of each kind and enough height to
// scroll. Every path serves it, as a single-page app's server does.
const pageHTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>%s</title>
<style>
body { font: 16px/1.5 sans-serif; margin: 2rem; color: #222 }
nav a { margin-right: 1.5rem }
.tall { height: 3000px; background: linear-gradient(#e8f0ff, #fff) }
</style>
%s
%s
</head><body>
<h1>Teller snippet test</h1>
<p id="path"></p>
<nav>
<a id="internal" href="/page?x=1">Internal page</a>
<a id="outbound" href="%s/landing">Outbound link</a>
<a id="download" href="/files/report.pdf">Download the report (PDF)</a>
<a id="mailto" href="mailto:hello@example.com">Mail us</a>
</nav>
<div class="tall"><p>Scroll me.</p></div>
<script>document.getElementById('path').textContent = 'This page: ' + location.pathname + location.search</script>
</body></html>`

func newSite(t *testing.T, opt siteOptions) *site {
	t.Helper()
	if opt.status == 0 {
		opt.status = http.StatusAccepted
	}
	s := &site{rec: &recorder{t: t, status: opt.status}}

	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "<!doctype html><title>Elsewhere</title><p>Another site.")
	}))
	t.Cleanup(other.Close)
	s.Other = other.URL

	collector := http.NewServeMux()
	collector.Handle("GET "+snippet.Path, snippet.Handler())
	collector.Handle("/api/event", s.rec)

	pages := http.NewServeMux()
	// A download: 204 keeps the browser on the page and saves no file.
	pages.HandleFunc("GET /files/", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	var collectorURL string
	pages.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/favicon.ico" {
			http.NotFound(w, r)
			return
		}
		tag := snippet.Tag(collectorURL, siteID)
		attrs := opt.tagAttrs
		if !opt.local {
			attrs = strings.TrimSpace("data-allow-localhost " + attrs)
		}
		if attrs != "" {
			tag = strings.Replace(tag, "<script defer", "<script defer "+attrs, 1)
		}
		prelude := snippet.Stub + "\n" + opt.preludes[r.URL.Path]
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, pageHTML, pageTitle, prelude, tag, s.Other)
	})

	if opt.crossOrigin {
		c := httptest.NewServer(collector)
		t.Cleanup(c.Close)
		collectorURL = c.URL
		p := httptest.NewServer(pages)
		t.Cleanup(p.Close)
		s.URL = p.URL
	} else {
		pages.Handle("GET "+snippet.Path, snippet.Handler())
		pages.Handle("/api/event", s.rec)
		pages.Handle("/custom/collect", s.rec) // for data-api
		p := httptest.NewServer(pages)
		t.Cleanup(p.Close)
		s.URL, collectorURL = p.URL, p.URL
		if opt.host != "" {
			collectorURL = strings.Replace(collectorURL, "127.0.0.1", opt.host, 1)
		}
	}
	if opt.host != "" {
		s.URL = strings.Replace(s.URL, "127.0.0.1", opt.host, 1)
	}
	s.Collector = collectorURL
	s.b = browser.New(t, chromedp.Flag("host-resolver-rules", "MAP *.test 127.0.0.1"))
	return s
}

func (s *site) run(t *testing.T, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := s.b.Run(steps...); err != nil {
		t.Fatalf("browser: %v\nreceived so far:\n%s", err, s.rec.dump())
	}
}

func (s *site) eval(t *testing.T, js string) {
	t.Helper()
	s.run(t, chromedp.Evaluate[chromedp.Void](js))
}

// noExceptions fails the test if a page threw (the snippet must never).
func (s *site) noExceptions(t *testing.T) {
	t.Helper()
	s.eval(t, `0`) // let the console events of earlier steps arrive
	time.Sleep(100 * time.Millisecond)
	if ex := s.b.Exceptions(); len(ex) > 0 {
		t.Errorf("the page threw: %q", ex)
	}
}

// expectCount waits a little so that an event that should not be sent would have
// arrived, then checks how many events match.
func (s *site) expectCount(t *testing.T, n int, what string, match func(map[string]any) bool) {
	t.Helper()
	time.Sleep(300 * time.Millisecond)
	if got := s.rec.events(match); len(got) != n {
		t.Errorf("got %d %s events, want %d; received:\n%s", len(got), what, n, s.rec.dump())
	}
}

// pageview is the exact body of a page view the snippet sends from our page.
func pageview(url, referrer string) map[string]any {
	ev := map[string]any{
		"site": siteID, "kind": "pageview", "name": "pageview", "url": url, "title": pageTitle,
		"screen_width": float64(browser.WindowWidth), "screen_height": float64(browser.WindowHeight),
	}
	if referrer != "" {
		ev["referrer"] = referrer
	}
	return ev
}

// custom is the exact body of a custom event sent from url.
func custom(url, name string, props map[string]any) map[string]any {
	ev := map[string]any{
		"site": siteID, "kind": "event", "name": name, "url": url, "title": pageTitle,
		"screen_width": float64(browser.WindowWidth), "screen_height": float64(browser.WindowHeight),
	}
	if props != nil {
		ev["props"] = props
	}
	return ev
}

// sendOrder is a prelude that records, in the page, the order in which the
// snippet calls fetch ("kind name", the events of one request joined by
// "+"): requests may arrive in another order.
const sendOrder = `<script>
window.sent = [];
const realFetch = window.fetch;
window.fetch = function (url, options) {
  try {
    const b = JSON.parse(options.body);
    sent.push([].concat(b).map(function (e) { return e.kind + ' ' + e.name }).join('+'));
  } catch (_) {}
  return realFetch.apply(this, arguments);
};
</script>`

func (s *site) sent(t *testing.T) []string {
	t.Helper()
	order, err := browser.Get(s.b, chromedp.Evaluate[[]string](`window.sent`))
	if err != nil {
		t.Fatal(err)
	}
	return order
}

func checkEvent(t *testing.T, got, want map[string]any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		t.Errorf("event\n got %s\nwant %s", g, w)
	}
}

// checkEngagement checks an engagement event apart from its engaged_ms,
// which it returns after checking it is at least a second and at most max.
func checkEngagement(t *testing.T, got map[string]any, url string, scrollDepth int, max time.Duration) time.Duration {
	t.Helper()
	ms, _ := got["engaged_ms"].(float64)
	engaged := time.Duration(ms) * time.Millisecond
	if engaged < time.Second || engaged > max {
		t.Errorf("engaged_ms = %v, want between 1s and %s", got["engaged_ms"], max)
	}
	rest := map[string]any{}
	for k, v := range got {
		if k != "engaged_ms" {
			rest[k] = v
		}
	}
	want := map[string]any{
		"site": siteID, "kind": "engagement", "name": "engagement", "url": url, "title": pageTitle,
		"screen_width": float64(browser.WindowWidth), "screen_height": float64(browser.WindowHeight),
		"scroll_depth": float64(scrollDepth),
	}
	checkEvent(t, rest, want)
	return engaged
}

func TestBrowserPageviewOnLoadAndQueuedEvent(t *testing.T) {
	s := newSite(t, siteOptions{preludes: map[string]string{
		"/start": sendOrder + `<script>teller('signup', {props: {plan: 'pro'}})</script>`,
	}})
	start := s.URL + "/start"
	s.run(t, chromedp.Navigate(start))

	checkEvent(t, s.rec.wait(1, "pageview", kind("pageview"))[0], pageview(start, ""))
	checkEvent(t, s.rec.wait(1, "signup", named("signup"))[0], custom(start, "signup", map[string]any{"plan": "pro"}))
	if order := s.sent(t); !reflect.DeepEqual(order, []string{"pageview pageview+event signup"}) {
		t.Errorf("sent %q; want the page view, then the queued event, in one request", order)
	}

	if err := s.b.Screenshot("/tmp/snippet-test.png"); err != nil {
		t.Error(err)
	}

	// A link to another page of the site: its page view has the first as referrer.
	s.run(t, chromedp.Click(chromedp.CSS("#internal")), chromedp.WaitVisible(chromedp.CSS("#path")))
	page := s.URL + "/page?x=1"
	views := s.rec.wait(2, "pageview", kind("pageview"))
	checkEvent(t, views[1], pageview(page, start))

	s.expectCount(t, 1, "signup", named("signup"))
	s.expectCount(t, 0, "click", func(ev map[string]any) bool { return ev["kind"] == "event" && ev["name"] != "signup" })
	s.noExceptions(t)

	for i, r := range s.rec.all() {
		if r.Method != http.MethodPost || !strings.HasPrefix(r.ContentType, "text/plain") {
			t.Errorf("request %d: %s with Content-Type %q, want a text/plain POST", i, r.Method, r.ContentType)
		}
	}
}

func TestBrowserSinglePageApp(t *testing.T) {
	s := newSite(t, siteOptions{preludes: map[string]string{"/app": sendOrder}})
	app := s.URL + "/app"
	loaded := time.Now()
	s.run(t, chromedp.Navigate(app))
	checkEvent(t, s.rec.wait(1, "pageview", kind("pageview"))[0], pageview(app, ""))
	height, err := browser.Get(s.b, chromedp.Evaluate[float64](`document.documentElement.scrollHeight`))
	if err != nil {
		t.Fatal(err)
	}

	// Stay visible for over a second, then navigate: the time on /app is sent
	// as an engagement before the next page view.
	time.Sleep(1200 * time.Millisecond)
	s.eval(t, `history.pushState({}, '', '/app/step2?plan=pro')`)
	step2 := s.URL + "/app/step2?plan=pro"
	views := s.rec.wait(2, "pageview", kind("pageview"))
	checkEvent(t, views[1], pageview(step2, app))
	eng := s.rec.wait(1, "engagement", kind("engagement"))
	checkEngagement(t, eng[0], app, int(browser.WindowHeight/height*100+0.5), time.Since(loaded))
	if order := s.sent(t); !reflect.DeepEqual(order, []string{"pageview pageview", "engagement engagement+pageview pageview"}) {
		t.Errorf("sent %q; want the engagement of /app, then the next page view, in one request", order)
	}

	// Neither the same URL again nor a change of hash is a new page.
	s.eval(t, `history.replaceState({step: 2}, '', location.href)`)
	s.eval(t, `location.hash = '#details'`)
	s.eval(t, `history.pushState({}, '', '/app/step2?plan=pro#more')`)
	s.expectCount(t, 2, "pageview", kind("pageview"))

	// Back over the last three entries: popstate leads to /app again, whose
	// referrer is the page left (as it was viewed, without the hash).
	s.eval(t, `history.go(-3)`)
	views = s.rec.wait(3, "pageview", kind("pageview"))
	checkEvent(t, views[2], pageview(app, step2))
	s.expectCount(t, 3, "pageview", kind("pageview"))
	s.noExceptions(t)
}

func TestBrowserHashMode(t *testing.T) {
	s := newSite(t, siteOptions{tagAttrs: "data-hash"})
	app := s.URL + "/app"
	s.run(t, chromedp.Navigate(app+"#/home"))
	s.rec.wait(1, "pageview", kind("pageview"))
	s.eval(t, `location.hash = '#/settings'`)
	views := s.rec.wait(2, "pageview", kind("pageview"))
	checkEvent(t, views[1], pageview(app+"#/settings", app+"#/home"))
	s.expectCount(t, 2, "pageview", kind("pageview")) // hashchange and popstate: one view
	s.noExceptions(t)
}

func TestBrowserLinkClicks(t *testing.T) {
	s := newSite(t, siteOptions{})
	page := s.URL + "/page"
	s.run(t, chromedp.Navigate(page))
	s.rec.wait(1, "pageview", kind("pageview"))

	// Not tracked: a mailto: link. (Clicking it would open nothing here.)
	s.eval(t, `document.getElementById('mailto').addEventListener('click', e => e.preventDefault())`)
	s.run(t, chromedp.Click(chromedp.CSS("#mailto")))

	s.run(t, chromedp.Click(chromedp.CSS("#download")))
	dl := s.rec.wait(1, "File Download", named("File Download"))
	checkEvent(t, dl[0], custom(page, "File Download", map[string]any{"url": s.URL + "/files/report.pdf"}))

	// The outbound click leaves the page; the event must still arrive.
	s.run(t, chromedp.Click(chromedp.CSS("#outbound")))
	out := s.rec.wait(1, "Outbound Link: Click", named("Outbound Link: Click"))
	checkEvent(t, out[0], custom(page, "Outbound Link: Click", map[string]any{"url": s.Other + "/landing"}))
	s.run(t, chromedp.WaitVisible(chromedp.CSS("p")))
	if loc, err := browser.Get(s.b, chromedp.Location()); err != nil || loc != s.Other+"/landing" {
		t.Errorf("the outbound link led to %q, %v", loc, err)
	}
	s.expectCount(t, 2, "custom", kind("event"))
	s.noExceptions(t)
}

func TestBrowserEngagement(t *testing.T) {
	s := newSite(t, siteOptions{})
	page := s.URL + "/long"
	began := time.Now()
	s.run(t, chromedp.Navigate(page))
	s.rec.wait(1, "pageview", kind("pageview"))

	// 1200 px scrolled of a page about 3200 px high, with an 800 px viewport.
	s.eval(t, `window.scrollTo(0, 1200)`)
	height, err := browser.Get(s.b, chromedp.Evaluate[float64](`document.documentElement.scrollHeight`))
	if err != nil {
		t.Fatal(err)
	}
	depth := int((1200+browser.WindowHeight)/height*100 + 0.5)
	time.Sleep(1100 * time.Millisecond)

	// The page is hidden (as when the visitor switches tabs).
	s.eval(t, `Object.defineProperty(document, 'visibilityState', {value: 'hidden', configurable: true});
		Object.defineProperty(document, 'hidden', {value: true, configurable: true});
		document.dispatchEvent(new Event('visibilitychange'))`)
	first := s.rec.wait(1, "engagement", kind("engagement"))
	engaged := checkEngagement(t, first[0], page, depth, time.Since(began))

	// Hidden time does not count; shown again, a new stretch starts.
	time.Sleep(500 * time.Millisecond)
	shown := time.Now()
	s.eval(t, `delete document.visibilityState; delete document.hidden;
		document.dispatchEvent(new Event('visibilitychange'))`)
	s.eval(t, `window.scrollTo(0, 99999)`)
	time.Sleep(1100 * time.Millisecond)

	// Leaving the page sends the second stretch with sendBeacon on pagehide.
	s.run(t, chromedp.Navigate("about:blank"))
	both := s.rec.wait(2, "engagement", kind("engagement"))
	second := checkEngagement(t, both[1], page, 100, time.Since(shown))
	t.Logf("engaged %s, then %s", engaged, second)

	var modes []string
	for _, r := range s.rec.all() {
		if r.has(kind("engagement")) {
			modes = append(modes, r.SecFetchMode)
		}
	}
	if !reflect.DeepEqual(modes, []string{"no-cors", "no-cors"}) {
		t.Errorf("engagement requests were made in modes %q, want sendBeacon's no-cors", modes)
	}
	s.expectCount(t, 2, "engagement", kind("engagement"))
}

func TestBrowserCrossOriginCollector(t *testing.T) {
	s := newSite(t, siteOptions{crossOrigin: true})
	page := s.URL + "/page"
	s.run(t, chromedp.Navigate(page))
	s.rec.wait(1, "pageview", kind("pageview"))
	s.eval(t, `teller('second')`)
	s.rec.wait(1, "second", named("second"))

	reqs := s.rec.all()
	var second request
	for i, r := range reqs {
		if r.has(named("second")) {
			second = r
		}
		if r.Method != http.MethodPost {
			t.Errorf("request %d is a %s: the snippet must not cause a CORS preflight", i, r.Method)
		}
		if r.SecFetchMode != "cors" {
			t.Errorf("request %d has Sec-Fetch-Mode %q, want cors (fetch)", i, r.SecFetchMode)
		}
	}
	// The visitor cookie set in the first answer comes back with the next.
	if second.Cookie != "tv=visitor-1" {
		t.Errorf("the second event came with Cookie %q, want the collector's tv=visitor-1; received:\n%s", second.Cookie, s.rec.dump())
	}
	s.noExceptions(t)
}

func TestBrowserPropsAndFailuresNeverThrow(t *testing.T) {
	s := newSite(t, siteOptions{status: http.StatusInternalServerError})
	page := s.URL + "/page"
	s.run(t, chromedp.Navigate(page))
	s.rec.wait(1, "pageview", kind("pageview"))

	s.eval(t, `
		teller();
		teller('', {props: {a: 1}});
		teller('typed', {props: {n: 3, f: 1.5, yes: true, no: false, s: 'x', o: {a: [1]}, nul: null, undef: undefined}});
		const many = {};
		for (let i = 0; i < 40; i++) many['k' + String(i).padStart(2, '0')] = i;
		teller('many', {props: many});
		teller('noprops', 'not an object');
		teller('last');`)
	s.rec.wait(1, "last", named("last"))

	// Requests may arrive in any order: wait for each.
	checkEvent(t, s.rec.wait(1, "typed", named("typed"))[0], custom(page, "typed", map[string]any{
		"n": "3", "f": "1.5", "yes": "true", "no": "false", "s": "x", "o": `{"a":[1]}`,
	}))
	many, _ := s.rec.wait(1, "many", named("many"))[0]["props"].(map[string]any)
	if len(many) != 30 || many["k00"] != "0" || many["k29"] != "29" || many["k30"] != nil {
		t.Errorf("40 props were sent as %v, want the first 30", many)
	}
	checkEvent(t, s.rec.wait(1, "noprops", named("noprops"))[0], custom(page, "noprops", nil))
	s.expectCount(t, 4, "custom", kind("event")) // nameless calls send nothing
	s.noExceptions(t)                            // nor does the collector's 500
}

func TestBrowserDataAPI(t *testing.T) {
	s := newSite(t, siteOptions{tagAttrs: `data-api="/custom/collect"`})
	s.run(t, chromedp.Navigate(s.URL+"/page"))
	checkEvent(t, s.rec.wait(1, "pageview", kind("pageview"))[0], pageview(s.URL+"/page", ""))
}

func TestBrowserUnreachableCollectorNeverThrows(t *testing.T) {
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	s := newSite(t, siteOptions{tagAttrs: `data-api="` + gone.URL + `/api/event"`})
	s.run(t, chromedp.Navigate(s.URL+"/page"))
	s.eval(t, `teller('into the void', {props: {a: 1}})`)
	if ok, err := browser.Get(s.b, chromedp.Evaluate[bool](`typeof teller === 'function' && teller.l === 1`)); err != nil || !ok {
		t.Errorf("the snippet did not load: %v", err)
	}
	s.noExceptions(t)
	if n := len(s.rec.all()); n != 0 {
		t.Errorf("the recorder got %d requests; data-api was not used", n)
	}
}

// A page restored from the back/forward cache is shown again without being
// loaded: the snippet counts it as a new page view (without referrer).
func TestBrowserBackForwardCache(t *testing.T) {
	s := newSite(t, siteOptions{})
	page := s.URL + "/page"
	s.run(t, chromedp.Navigate(page))
	s.rec.wait(1, "pageview", kind("pageview"))
	s.eval(t, `window.stillHere = true`)
	s.run(t, chromedp.Navigate(s.Other+"/landing"))
	s.eval(t, `history.back()`)
	views := s.rec.wait(2, "pageview", kind("pageview"))
	checkEvent(t, views[1], pageview(page, ""))
	if restored, err := browser.Get(s.b, chromedp.Evaluate[bool](`window.stillHere === true`)); err != nil || !restored {
		t.Errorf("the page was loaded again, not restored from the back/forward cache (%v): this test tests nothing", err)
	}
	s.expectCount(t, 2, "pageview", kind("pageview"))
	s.noExceptions(t)
}

// A prerendered page (Speculation Rules) counts only once the visitor opens
// it. Headless Chromium does not prerender here, so the test plays the part:
// document.prerendering, then the prerenderingchange event.
func TestBrowserPrerender(t *testing.T) {
	s := newSite(t, siteOptions{preludes: map[string]string{
		"/page": `<script>Object.defineProperty(document, 'prerendering', {value: true, configurable: true})</script>`,
	}})
	page := s.URL + "/page"
	s.run(t, chromedp.Navigate(page))
	s.eval(t, `teller('while prerendering')`)
	s.expectCount(t, 0, "any", nil)

	s.eval(t, `delete document.prerendering; document.dispatchEvent(new Event('prerenderingchange'))`)
	checkEvent(t, s.rec.wait(1, "pageview", kind("pageview"))[0], pageview(page, ""))
	checkEvent(t, s.rec.wait(1, "queued", named("while prerendering"))[0], custom(page, "while prerendering", nil))
	s.expectCount(t, 2, "any", nil)
	s.noExceptions(t)
}

// Do Not Track and Global Privacy Control silence the snippet when the site
// asks (data-respect-dnt), and only then; teller() stays callable.
func TestBrowserRespectsDoNotTrack(t *testing.T) {
	gpc := `<script>Object.defineProperty(navigator, 'globalPrivacyControl', {value: true, configurable: true})</script>`
	dnt := `<script>Object.defineProperty(navigator, 'doNotTrack', {value: '1', configurable: true})</script>`
	for _, tt := range []struct {
		name, attrs, prelude string
		want                 int
	}{
		{"GPC, site respects it", `data-respect-dnt`, gpc, 0},
		{"DNT, site respects it", `data-respect-dnt`, dnt, 0},
		{"DNT, site does not ask", ``, dnt, 2},
		{"no signal", `data-respect-dnt`, ``, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newSite(t, siteOptions{tagAttrs: tt.attrs, preludes: map[string]string{"/page": tt.prelude}})
			s.run(t, chromedp.Navigate(s.URL+"/page"))
			s.eval(t, `teller('after load')`)
			if tt.want > 0 {
				s.rec.wait(tt.want, "events", nil)
			}
			s.expectCount(t, tt.want, "any", nil)
			s.noExceptions(t)
		})
	}
}

// localStorage.teller_ignore = "true" opts this browser out.
func TestBrowserOptOut(t *testing.T) {
	s := newSite(t, siteOptions{})
	s.run(t, chromedp.Navigate(s.URL+"/page"))
	s.rec.wait(1, "pageview", kind("pageview"))
	s.eval(t, `localStorage.teller_ignore = 'true'`)
	s.run(t, chromedp.Navigate(s.URL+"/page?again=1"))
	s.eval(t, `teller('opted out')`)
	s.expectCount(t, 1, "any", nil)
	s.noExceptions(t)
}

// Pages on the developer's machine (localhost, *.localhost, 127.x.x.x and
// file:) are not counted unless the tag has data-allow-localhost; teller()
// stays callable. A site's own host name is counted without it.
func TestBrowserSkipsLocalPages(t *testing.T) {
	for _, tt := range []struct {
		name, host string
		local      bool // no data-allow-localhost
		want       int
	}{
		{"127.0.0.1", "", true, 0},
		{"localhost", "localhost", true, 0},
		{"a name under .localhost", "app.localhost", true, 0},
		{"127.0.0.1 with data-allow-localhost", "", false, 2},
		{"localhost with data-allow-localhost", "localhost", false, 2},
		{"a site's host name", "www.shop.test", true, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newSite(t, siteOptions{host: tt.host, local: tt.local})
			s.run(t, chromedp.Navigate(s.URL+"/page"))
			s.eval(t, `teller('after load')`)
			if tt.want > 0 {
				s.rec.wait(tt.want, "events", nil)
				checkEvent(t, s.rec.wait(1, "pageview", kind("pageview"))[0], pageview(s.URL+"/page", ""))
			}
			s.expectCount(t, tt.want, "any", nil)
			if ok, err := browser.Get(s.b, chromedp.Evaluate[bool](`typeof teller === 'function'`)); err != nil || !ok {
				t.Errorf("teller() is not callable: %v", err)
			}
			s.noExceptions(t)
		})
	}
	t.Run("file: page", func(t *testing.T) {
		s := newSite(t, siteOptions{crossOrigin: true, local: true})
		page := filepath.Join(t.TempDir(), "page.html")
		tag := snippet.Tag(s.Collector, siteID)
		if err := os.WriteFile(page, []byte(fmt.Sprintf(pageHTML, pageTitle, snippet.Stub, tag, s.Other)), 0o644); err != nil {
			t.Fatal(err)
		}
		s.run(t, chromedp.Navigate("file://"+page))
		s.eval(t, `teller('after load')`)
		s.expectCount(t, 0, "any", nil)
		// The stub queues calls in teller.q; the snippet, standing down,
		// replaced it with a function that keeps nothing.
		if ok, err := browser.Get(s.b, chromedp.Evaluate[bool](`typeof teller === 'function' && !teller.q && teller.l !== 1`)); err != nil || !ok {
			t.Errorf("the snippet did not load, or did not stand down: %v", err)
		}
		s.noExceptions(t)
	})
}

// Events of one task travel together, in requests within the collector's
// limits: at most collector.MaxBatch events, and under its body limit.
func TestBrowserBatchesEventsOfOneTask(t *testing.T) {
	s := newSite(t, siteOptions{preludes: map[string]string{"/page": sendOrder}})
	page := s.URL + "/page"
	s.run(t, chromedp.Navigate(page))
	s.rec.wait(1, "pageview", kind("pageview"))

	// 120 small events in one task.
	s.eval(t, `for (var i = 0; i < 120; i++) teller('many', {props: {i: i}})`)
	s.rec.wait(120, "many", named("many"))
	// Ten events of 2,000 characters each: two or three to a request.
	s.eval(t, `for (var i = 0; i < 10; i++) teller('big', {props: {i: i, text: 'x'.repeat(2000)}})`)
	s.rec.wait(10, "big", named("big"))

	var sizes []int
	seen := map[string]bool{}
	for _, r := range s.rec.all() {
		if !r.has(named("many")) && !r.has(named("big")) {
			continue
		}
		sizes = append(sizes, len(r.Events))
		if !r.Batch && len(r.Events) != 1 {
			t.Errorf("one request of %d events not sent as an array", len(r.Events))
		}
		if len(r.Events) > collector.MaxBatch {
			t.Errorf("a request of %d events: the collector takes at most %d", len(r.Events), collector.MaxBatch)
		}
		body, _ := json.Marshal(r.Events)
		if len(body) > 16<<10 {
			t.Errorf("a request of %d bytes: the collector's default limit is 16 KiB", len(body))
		}
		for _, ev := range r.Events {
			key := fmt.Sprint(ev["name"], ev["props"].(map[string]any)["i"])
			if seen[key] {
				t.Errorf("event %s sent twice", key)
			}
			seen[key] = true
		}
	}
	// 120 small events of about 160 characters: split by MAX_CHARS, into
	// as few requests as it allows (five of them at most).
	if len(seen) != 130 || len(sizes) < 2+5 || len(sizes) > 5+5 {
		t.Errorf("%d distinct events in requests of %v events, want 130 in 2 to 5 requests and five pairs", len(seen), sizes)
	}
	s.noExceptions(t)
}
