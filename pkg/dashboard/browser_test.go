package dashboard_test

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	tbrowser "github.com/teller-analytics/teller/internal/browser"
	"github.com/teller-analytics/teller/internal/reporttest"
	"github.com/teller-analytics/teller/internal/testenv"
)

// screenshotDir is where the browser test saves its screenshots for a
// person to look at: $TELLER_SCREENSHOTS, else a folder of the test's own.
func screenshotDir(t *testing.T) string {
	if dir := os.Getenv("TELLER_SCREENSHOTS"); dir != "" {
		return dir
	}
	dir := t.TempDir()
	t.Logf("screenshots in %s (set TELLER_SCREENSHOTS to keep them)", dir)
	return dir
}

// TestBrowser walks the dashboard in a real headless Chromium the way a
// person does: sign in, open a site, change the range, add a filter from a
// row and another from the form, remove one, open a session's path, export
// a CSV, sign out; at desktop and phone widths, with screenshots.
func TestBrowser(t *testing.T) {
	e := newEnv(t)
	e.D.SetClock(time.Now) // the browser drops cookies that expire in the past
	b := tbrowser.New(t)
	shots := screenshotDir(t)
	ok := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("browser: %v", err)
		}
	}
	shot := func(name string) {
		t.Helper()
		ok(b.Screenshot(filepath.Join(shots, name+".png")))
	}
	// noSideScroll fails when the page is wider than the window.
	noSideScroll := func(where string) {
		t.Helper()
		w, err := tbrowser.Get(b, chromedp.Evaluate[[]int](`[document.documentElement.scrollWidth, window.innerWidth]`))
		ok(err)
		if w[0] > w[1] {
			t.Errorf("%s: the page is %d px wide in a %d px window", where, w[0], w[1])
		}
	}

	ok(b.Run(chromedp.Navigate(e.URL+mainRange), chromedp.WaitVisible(chromedp.CSS("#login-form"))))
	loc, err := tbrowser.Get(b, chromedp.Location())
	ok(err)
	if want := e.URL + "/login?next=" + url.QueryEscape(mainRange); loc != want {
		t.Errorf("signed out, the browser is at %s, want %s", loc, want)
	}

	// A wrong password first, then the right one.
	ok(b.Run(
		chromedp.SendKeys(chromedp.CSS("#username"), adminUser),
		chromedp.SendKeys(chromedp.CSS("#password"), "wrong"),
		chromedp.Click(chromedp.CSS("#login-submit")),
		chromedp.WaitVisible(chromedp.CSS("#login-error")),
	))
	msg, err := tbrowser.Get(b, chromedp.Text(chromedp.CSS("#login-error")))
	ok(err)
	if msg != "Wrong user name or password." {
		t.Errorf("login error %q", msg)
	}
	ok(b.Run(
		// The form comes back with the user name kept and the password empty.
		chromedp.SendKeys(chromedp.CSS("#password"), adminPassword),
		chromedp.Click(chromedp.CSS("#login-submit")),
		chromedp.WaitVisible(chromedp.CSS("#kpi-sessions")),
	))
	loc, err = tbrowser.Get(b, chromedp.Location())
	ok(err)
	if loc != e.URL+mainRange {
		t.Errorf("after login the browser is at %s, want %s", loc, e.URL+mainRange)
	}

	// The chart script draws the series (3 days) with uPlot; the server's
	// SVG is its fallback.
	ok(b.Run(chromedp.WaitVisible(chromedp.CSS(`#chart-js[data-drawn="3"] canvas`))))
	figures, err := tbrowser.Get(b, chromedp.Evaluate[map[string]string](`({
		sessions: document.querySelector('#kpi-sessions').dataset.value,
		shown: document.querySelector('#kpi-sessions .value').textContent,
		bounce: document.querySelector('#kpi-bounce-rate .value').textContent,
		duration: document.querySelector('#kpi-avg-duration .value').textContent,
		change: document.querySelector('#kpi-sessions').dataset.change,
		firstEntry: document.querySelector('#table-page tr.row:nth-child(2) td.key').textContent,
		scripts: String(document.scripts.length),
		bars: String(document.querySelectorAll('#chart-daily rect.bar').length),
		svgShown: getComputedStyle(document.querySelector('#chart-daily')).display,
		styled: getComputedStyle(document.querySelector('.kpi')).borderTopStyle,
	})`))
	ok(err)
	want := map[string]string{"sessions": "6", "shown": "6", "bounce": "50.0%", "duration": "16s", "change": "+500.0%",
		"firstEntry": reporttest.XSSPath, "scripts": "2", "bars": "3", "svgShown": "none", "styled": "solid"}
	for k, v := range want {
		if figures[k] != v {
			t.Errorf("%s = %q, want %q", k, figures[k], v)
		}
	}
	noSideScroll("site page at 1280 px")
	shot("site-1280")
	// The realtime card polls its JSON twin: the URL answers, under the
	// page's Content Security Policy, the card's own figure.
	live, err := tbrowser.Get(b, chromedp.Evaluate[string](`fetch(document.getElementById('realtime').dataset.api, {credentials: 'same-origin'})
		.then(r => r.json()).then(j => j.visitors + '=' + document.getElementById('realtime').dataset.visitors)`, chromedp.EvalAwaitPromise))
	ok(err)
	if live != "0=0" {
		t.Errorf("realtime API from the page: %q, want 0=0", live)
	}

	// The keyboard: the first Tab reaches the skip link, shown when
	// focused; Enter moves to the content.
	ok(b.Run(chromedp.Navigate(e.URL+mainRange), chromedp.WaitVisible(chromedp.CSS("#kpi-sessions")), chromedp.KeyEvent(kb.Tab)))
	skip, err := tbrowser.Get(b, chromedp.Evaluate[map[string]string](`({cls: document.activeElement.className,
		left: String(document.activeElement.getBoundingClientRect().left >= 0),
		outline: getComputedStyle(document.activeElement).outlineStyle})`))
	ok(err)
	if skip["cls"] != "skip" || skip["left"] != "true" || skip["outline"] == "none" {
		t.Errorf("after Tab the focus is %v, want the visible, outlined skip link", skip)
	}
	ok(b.Run(chromedp.KeyEvent(kb.Enter)))
	if focused, _ := tbrowser.Get(b, chromedp.Evaluate[string](`document.activeElement.id`)); focused != "main" {
		t.Errorf("after the skip link the focus is on #%s, want #main", focused)
	}

	// Change the range with the date fields.
	ok(b.Run(
		chromedp.SetValue(chromedp.CSS("#range-from"), "2024-03-11"),
		chromedp.Click(chromedp.CSS("#range-submit")),
		chromedp.WaitVisible(chromedp.CSS(`#range[data-from="2024-03-11"]`)),
	))
	if got := text1(t, b, "#kpi-sessions .value"); got != "3" {
		t.Errorf("sessions on March 11-12: %s, want 3", got)
	}

	// A row adds its filter: the Google referrer.
	ok(b.Run(
		chromedp.Click(chromedp.CSS(`#table-channel tr.row[data-key="organic_search"] td.key a`)),
		chromedp.WaitVisible(chromedp.CSS(`.chip[data-filter="channel:is:organic_search"]`)),
	))
	if got := text1(t, b, "#kpi-sessions .value"); got != "1" {
		t.Errorf("organic search sessions on March 11-12: %s, want 1 (S4)", got)
	}
	// Another from the form: the range is kept, the filters combine.
	ok(b.Run(
		chromedp.Click(chromedp.CSS("#add-filter summary")),
		chromedp.SetValue(chromedp.CSS("#filter-dimension"), "page"),
		chromedp.SetValue(chromedp.CSS("#filter-op"), "is_not"),
		chromedp.SendKeys(chromedp.CSS("#filter-value"), "/"),
		chromedp.Click(chromedp.CSS("#filter-submit")),
		chromedp.WaitVisible(chromedp.CSS(`.chip[data-filter="page:is_not:/"]`)),
	))
	if got := text1(t, b, "#kpi-sessions .value"); got != "0" {
		t.Errorf("organic search sessions without a pageview of / : %s, want 0", got)
	}
	if got := text1(t, b, "#range"); !strings.HasPrefix(got, "2024-03-11 to 2024-03-12") {
		t.Errorf("after adding a filter the range is %q", got)
	}
	shot("site-filtered-1280")
	// Remove the channel filter.
	ok(b.Run(
		chromedp.Click(chromedp.CSS(`.chip[data-filter="channel:is:organic_search"] a.remove-filter`)),
		chromedp.WaitNotPresent(chromedp.CSS(`.chip[data-filter="channel:is:organic_search"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.chip[data-filter="page:is_not:/"]`)),
	))
	// S3 is the only session on March 11-12 without a pageview of /.
	if got := text1(t, b, "#kpi-sessions .value"); got != "1" {
		t.Errorf("sessions without a pageview of / : %s, want 1 (S3)", got)
	}

	// The session list, one session's path.
	ok(b.Run(
		chromedp.Click(chromedp.CSS("#all-sessions")),
		chromedp.WaitVisible(chromedp.CSS("#table-sessions")),
		chromedp.Click(chromedp.CSS("#table-sessions tr.session a.session-link")),
		chromedp.WaitVisible(chromedp.CSS("#table-path")),
	))
	path, err := tbrowser.Get(b, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#table-path tr.path-event')].map(tr => tr.dataset.kind + ' ' + tr.querySelector('.page-path').textContent)`))
	ok(err)
	if strings.Join(path, ",") != "pageview /blog/hello,event /blog/hello" {
		t.Errorf("S3's path: %q", path)
	}
	shot("session-1280")

	// Export the session list as CSV: the browser downloads it.
	downloads := t.TempDir()
	ok(b.Run(
		chromedp.Click(chromedp.CSS(".crumbs a")),
		chromedp.WaitVisible(chromedp.CSS("#export-sessions")),
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
				Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads})
			return err
		}),
		chromedp.Click(chromedp.CSS("#export-sessions")),
	))
	var csvBody string
	testenv.Eventually(t, 30*time.Second, "the CSV download", func() bool {
		files, _ := filepath.Glob(filepath.Join(downloads, "*.csv"))
		if len(files) != 1 {
			return false
		}
		body, err := os.ReadFile(files[0])
		csvBody = string(body)
		return err == nil && strings.Count(csvBody, "\n") == 2
	})
	if !strings.HasPrefix(csvBody, "session_id,") || !strings.Contains(csvBody, reporttest.SessionID("S3").String()) {
		t.Errorf("downloaded CSV:\n%s", csvBody)
	}

	// A phone: 360 px wide, nothing scrolls sideways.
	ok(b.Run(chromedp.EmulateViewport(360, 740, func(p *emulation.SetDeviceMetricsOverrideParams, _ *emulation.SetTouchEmulationEnabledParams) {
		p.ScreenWidth, p.ScreenHeight, p.Mobile, p.DeviceScaleFactor = 360, 740, true, 2
	})))
	for name, path := range map[string]string{
		"site-360":     mainRange,
		"sessions-360": "/sites/example/sessions?from=2024-03-10&to=2024-03-12",
		"session-360":  "/sites/example/sessions/" + reporttest.SessionID("S5").String() + "?from=2024-03-10&to=2024-03-12",
		"sites-360":    "/",
		"settings-360": "/sites/example/settings",
		"goals-360":    "/sites/example/goals?from=2024-03-10&to=2024-03-12&step=page:/&step=page:/signup",
		"bots-360":     "/sites/example/bots?from=2024-03-10&to=2024-03-12",
		"pages-360":    "/sites/example/breakdown/page?from=2024-03-10&to=2024-03-12",
	} {
		ok(b.Run(chromedp.Navigate(e.URL+path), chromedp.WaitVisible(chromedp.CSS("main"))))
		noSideScroll(name)
		shot(name)
		// The first screen as a phone shows it.
		png, err := tbrowser.Get(b, chromedp.CaptureScreenshot())
		ok(err)
		ok(os.WriteFile(filepath.Join(shots, name+"-screen.png"), png, 0o644))
	}
	ok(b.Run(chromedp.EmulateViewport(tbrowser.WindowWidth, tbrowser.WindowHeight)))

	ok(b.Run(chromedp.Click(chromedp.CSS("#logout")), chromedp.WaitVisible(chromedp.CSS("#login-form"))))
	ok(b.Run(chromedp.Navigate(e.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#login-form"))))
	if ex := b.Exceptions(); len(ex) != 0 {
		t.Errorf("page exceptions: %q", ex)
	}
}

func text1(t *testing.T, b *tbrowser.Browser, css string) string {
	t.Helper()
	s, err := tbrowser.Get(b, chromedp.Text(chromedp.CSS(css)))
	if err != nil {
		t.Fatalf("browser: text of %s: %v", css, err)
	}
	return strings.TrimSpace(s)
}
