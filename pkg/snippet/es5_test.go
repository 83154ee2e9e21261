package snippet_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/teller-analytics/teller/pkg/snippet"
)

// acornPackage parses JavaScript to a chosen edition of the language; pinned.
const acornPackage = "acorn@8.15.0"

// An old browser that cannot parse the snippet throws a SyntaxError into the
// host page before `safe` can do anything: the snippet as served must be
// ES5, checked by a real parser (acorn, from npm), not by a pattern.
func TestSnippetParsesAsES5(t *testing.T) {
	dir := t.TempDir()
	install := exec.Command("npm", "install", "--prefix", dir, "--no-save", "--no-audit", "--no-fund", "--loglevel=error", acornPackage)
	if out, err := install.CombinedOutput(); err != nil {
		t.Fatalf("npm install %s: %v\n%s", acornPackage, err, out)
	}
	js := filepath.Join(dir, "teller.min.js")
	if err := os.WriteFile(js, snippet.JS, 0o644); err != nil {
		t.Fatal(err)
	}
	parse := func(ecma, file string) (string, error) {
		cmd := exec.Command("node", "-e", `const acorn = require(process.argv[1]);
const src = require('fs').readFileSync(process.argv[3], 'utf8');
acorn.parse(src, {ecmaVersion: Number(process.argv[2]), sourceType: 'script'});`,
			filepath.Join(dir, "node_modules", "acorn"), ecma, file)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := parse("5", js); err != nil {
		t.Fatalf("the served snippet is not ES5: %v\n%s", err, out)
	}
	// The check can fail: an arrow function is not ES5.
	modern := filepath.Join(dir, "modern.js")
	os.WriteFile(modern, []byte("var f = () => 1;"), 0o644)
	if out, err := parse("5", modern); err == nil || !strings.Contains(out, "SyntaxError") {
		t.Fatalf("acorn accepted an arrow function as ES5: %v %s", err, out)
	}
}

// A browser without one of the newer APIs the snippet uses: the page never
// sees an exception, whatever it calls, and the snippet does what it still
// can (with a fallback for document.currentScript and Element.closest).
func TestBrowserOldAPIsNeverThrow(t *testing.T) {
	for _, tt := range []struct {
		name, remove string
		pageview     bool // the page view still arrives
	}{
		{"no fetch", `window.fetch = undefined`, false},
		{"no sendBeacon", `navigator.sendBeacon = undefined`, true},
		{"no URL", `window.URL = undefined`, false},
		{"no Element.closest", `Element.prototype.closest = undefined`, true},
		{"no document.currentScript", `Object.defineProperty(document, 'currentScript', {value: null})`, true},
		{"no performance", `window.performance = undefined`, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newSite(t, siteOptions{preludes: map[string]string{"/old": "<script>" + tt.remove + "</script>"}})
			s.run(t, chromedp.Navigate(s.URL+"/old"))
			s.eval(t, `teller('signup', {props: {a: 1}}); history.pushState({}, '', '/old/2'); window.scrollTo(0, 500)`)
			s.run(t, chromedp.Click(chromedp.CSS("#download")))
			if tt.pageview {
				s.rec.wait(1, "pageview", kind("pageview"))
			}
			s.noExceptions(t)
		})
	}
}
