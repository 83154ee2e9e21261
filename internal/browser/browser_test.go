package browser_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/teller-analytics/teller/internal/browser"
)

func TestBrowser(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/set" {
			http.SetCookie(w, &http.Cookie{Name: "c", Value: "1", Path: "/"})
		}
		fmt.Fprintf(w, `<!doctype html><title>Hello</title><h1>cookie=%q</h1>
<script>setTimeout(function () { throw new Error("boom") }, 0)</script>`, r.Header.Get("Cookie"))
	}))
	defer srv.Close()

	b := browser.New(t)
	if err := b.Run(chromedp.Navigate(srv.URL + "/set")); err != nil {
		t.Fatal(err)
	}
	title, err := browser.Get(b, chromedp.Title())
	if err != nil || title != "Hello" {
		t.Fatalf("title = %q, %v; want Hello", title, err)
	}
	screen, err := browser.Get(b, chromedp.Evaluate[[]int](`[screen.width, screen.height, innerWidth]`))
	if err != nil {
		t.Fatal(err)
	}
	if screen[0] != browser.WindowWidth || screen[1] != browser.WindowHeight || screen[2] != browser.WindowWidth {
		t.Errorf("screen and inner width = %v, want %dx%d", screen, browser.WindowWidth, browser.WindowHeight)
	}

	png := filepath.Join(t.TempDir(), "shot.png")
	if err := b.Screenshot(png); err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(png); err != nil || !bytes.HasPrefix(data, []byte("\x89PNG")) {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}

	deadline := time.Now().Add(5 * time.Second)
	for len(b.Exceptions()) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if ex := b.Exceptions(); len(ex) != 1 || !strings.Contains(ex[0], "boom") {
		t.Errorf("exceptions = %q, want the one boom", ex)
	}

	// A second browser has a fresh profile: the cookie of the first is not there.
	b2 := browser.New(t)
	if err := b2.Run(chromedp.Navigate(srv.URL + "/")); err != nil {
		t.Fatal(err)
	}
	h1, err := browser.Get(b2, chromedp.Text(chromedp.CSS("h1")))
	if err != nil || h1 != `cookie=""` {
		t.Errorf("second browser sees %q, %v; want no cookie", h1, err)
	}
	if err := b.Run(chromedp.Navigate(srv.URL + "/")); err != nil {
		t.Fatal(err)
	}
	h1, err = browser.Get(b, chromedp.Text(chromedp.CSS("h1")))
	if err != nil || h1 != `cookie="c=1"` {
		t.Errorf("first browser sees %q, %v; want its cookie", h1, err)
	}
}

func TestActionTimeoutIsPerAction(t *testing.T) {
	b := browser.New(t)
	b.Timeout = 2 * time.Second
	start := time.Now()
	_, err := browser.Get(b, chromedp.Evaluate[chromedp.Void](`new Promise(() => {})`, chromedp.EvalAwaitPromise))
	if err == nil {
		t.Fatal("a promise that never settles returned no error")
	}
	if d := time.Since(start); d < b.Timeout || d > b.Timeout+5*time.Second {
		t.Fatalf("gave up after %s, want about %s", d, b.Timeout)
	}
	// The tab survives a timed-out action.
	if v, err := browser.Get(b, chromedp.Evaluate[int](`1+2`)); err != nil || v != 3 {
		t.Fatalf("after a timeout: %v, %v", v, err)
	}
}
