package dashboard_test

import (
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/teller-analytics/teller/internal/browser"
	"github.com/teller-analytics/teller/internal/reporttest"
)

// TestBrowser signs in through the form in a real headless Chromium and
// reads the figures the way a person sees them.
func TestBrowser(t *testing.T) {
	e := newEnv(t)
	e.D.SetClock(time.Now) // the browser drops cookies that expire in the past
	b := browser.New(t)
	ok := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("browser: %v", err)
		}
	}

	ok(b.Run(chromedp.Navigate(e.URL+mainRange), chromedp.WaitVisible(chromedp.CSS("#login-form"))))
	loc, err := browser.Get(b, chromedp.Location())
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
	msg, err := browser.Get(b, chromedp.Text(chromedp.CSS("#login-error")))
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
	loc, err = browser.Get(b, chromedp.Location())
	ok(err)
	if loc != e.URL+mainRange {
		t.Errorf("after login the browser is at %s, want %s", loc, e.URL+mainRange)
	}

	figures, err := browser.Get(b, chromedp.Evaluate[map[string]string](`({
		sessions: document.querySelector('#kpi-sessions').dataset.value,
		shown: document.querySelector('#kpi-sessions .value').textContent,
		bounce: document.querySelector('#kpi-bounce-rate .value').textContent,
		duration: document.querySelector('#kpi-avg-duration .value').textContent,
		firstEntry: document.querySelector('#table-entry_pages tr.row:nth-child(2) td.key').textContent,
		scripts: String(document.scripts.length),
		bars: String(document.querySelectorAll('#chart-daily rect.bar').length),
		styled: getComputedStyle(document.querySelector('.kpi')).borderTopStyle,
	})`))
	ok(err)
	want := map[string]string{"sessions": "6", "shown": "6", "bounce": "50.0%", "duration": "16s",
		"firstEntry": reporttest.XSSPath, "scripts": "0", "bars": "3", "styled": "solid"}
	for k, v := range want {
		if figures[k] != v {
			t.Errorf("%s = %q, want %q", k, figures[k], v)
		}
	}
	if dir := os.Getenv("TELLER_SCREENSHOTS"); dir != "" {
		ok(b.Screenshot(filepath.Join(dir, "dashboard-site.png")))
	}

	ok(b.Run(chromedp.Click(chromedp.CSS("#logout")), chromedp.WaitVisible(chromedp.CSS("#login-form"))))
	ok(b.Run(chromedp.Navigate(e.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#login-form"))))
	if ex := b.Exceptions(); len(ex) != 0 {
		t.Errorf("page exceptions: %q", ex)
	}
}
