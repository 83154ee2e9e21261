package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/teller-analytics/teller/pkg/report"
)

// TestHostileEventShownInert sends, through the real collector and
// sessionizer, events whose URL, title, referrer, event name and
// properties carry markup and javascript: payloads, then reads every
// dashboard page that shows them and every CSV export: the payloads are
// text everywhere, no link built from them is a javascript: URL, and CSV
// cells cannot start a spreadsheet formula.
func TestHostileEventShownInert(t *testing.T) {
	p, query := startPipeline(t)
	day := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	const (
		pathPayload  = `/<script>alert(1)</script>"><img src=x onerror=alert(2)>`
		titlePayload = `</title><script>alert(3)</script>`
		namePayload  = `<script>alert(5)</script>`
		formula      = `=HYPERLINK("javascript:alert(7)")`
	)
	v := p.newVisitor(chromeUA)
	for i, ev := range []map[string]any{
		{"kind": "pageview", "url": "https://shop.example" + pathPayload + "?utm_campaign=<script>alert(8)</script>&utm_source=javascript:alert(9)",
			"referrer": "https://evil.example/<script>alert(4)</script>", "title": titlePayload, "screen_width": 1440, "screen_height": 900},
		{"kind": "pageview", "url": "https://shop.example/javascript:alert(10)", "referrer": "javascript:alert(11)", "title": "<b>x</b>"},
		{"kind": "event", "name": namePayload, "url": "https://shop.example" + pathPayload,
			"props": map[string]string{"<img src=x onerror=alert(12)>": "javascript:alert(13)"}},
		{"kind": "event", "name": formula, "url": "https://shop.example/"},
	} {
		if code, body := v.send(day.Add(time.Duration(i)*time.Second), ev); code != http.StatusAccepted {
			t.Fatalf("event %d: %d %s", i, code, body)
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	for strings.TrimSpace(query("SELECT uniqExact(event_id) FROM events WHERE site_id = 'shop'")) != "4" {
		if time.Now().After(deadline) {
			t.Fatalf("the 4 events were not stored within 60 s: %s", query("SELECT kind, name, pathname FROM events"))
		}
		time.Sleep(200 * time.Millisecond)
	}
	session := strings.TrimSpace(query("SELECT any(toString(session_id)) FROM events WHERE site_id = 'shop'"))
	visitor := strings.TrimSpace(query("SELECT any(toString(visitor_id)) FROM events WHERE site_id = 'shop'"))

	dash := p.login(t)
	rng := "from=2026-03-02&to=2026-03-02"
	pages := []string{
		"/sites/shop?" + rng,
		"/sites/shop/sessions?" + rng,
		"/sites/shop/sessions/" + session + "?" + rng,
		"/sites/shop/visitors/" + visitor + "?" + rng,
		"/sites/shop?" + rng + "&f=" + url.QueryEscape("page:is:"+pathPayload),
		"/sites/shop?" + rng + "&f=" + url.QueryEscape("event:is:"+namePayload),
	}
	for _, d := range report.Dimensions() {
		pages = append(pages, "/sites/shop/breakdown/"+string(d)+"?"+rng)
	}
	// Markup that must never appear as markup, and links that must never
	// point at script.
	raw := regexp.MustCompile(`(?i)<script>alert|<img src=x|<b>x</b>|</title><script`)
	jsLink := regexp.MustCompile(`(?i)(href|src|action)\s*=\s*"\s*javascript:`)
	shown := map[string]bool{}
	for _, path := range pages {
		body, resp := get(t, dash, path)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d\n%s", path, resp.StatusCode, body)
			continue
		}
		if m := raw.FindString(body); m != "" {
			t.Errorf("GET %s: raw markup %q in the page", path, m)
		}
		if m := jsLink.FindString(body); m != "" {
			t.Errorf("GET %s: a javascript: link %q", path, m)
		}
		for _, s := range []string{"&lt;script&gt;alert(1)&lt;/script&gt;", "&lt;script&gt;alert(5)&lt;/script&gt;", "alert(12)", "alert(13)", "alert(3)"} {
			if strings.Contains(body, s) {
				shown[s] = true
			}
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("GET %s: Content-Security-Policy %q", path, csp)
		}
	}
	// Each payload is shown somewhere, as text: the test saw the pages that
	// carry them.
	for _, s := range []string{"&lt;script&gt;alert(1)&lt;/script&gt;", "&lt;script&gt;alert(5)&lt;/script&gt;", "alert(12)", "alert(13)", "alert(3)"} {
		if !shown[s] {
			t.Errorf("%q is shown on none of the pages", s)
		}
	}

	// CSV: attachments, never sniffed as HTML; a cell never starts a formula.
	exports := []string{"/sites/shop/sessions?" + rng + "&format=csv"}
	for _, d := range report.Dimensions() {
		exports = append(exports, "/sites/shop/breakdown/"+string(d)+"?"+rng+"&format=csv")
	}
	sawFormula := false
	for _, path := range exports {
		body, resp := get(t, dash, path)
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") ||
			!strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment") || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: %d %q %q", path, resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Content-Disposition"))
			continue
		}
		for _, line := range strings.Split(body, "\n") {
			for _, cell := range strings.Split(line, ",") {
				cell = strings.TrimPrefix(cell, `"`)
				if cell != "" && strings.ContainsRune("=+@", rune(cell[0])) {
					t.Errorf("GET %s: a cell starts a formula: %q", path, cell)
				}
			}
		}
		if strings.Contains(body, `'=HYPERLINK`) {
			sawFormula = true
		}
	}
	if !sawFormula {
		t.Error("the event named like a formula is in no export")
	}
}

func get(t *testing.T, c *dashClient, path string) (string, *http.Response) {
	t.Helper()
	resp, err := c.client.Get(c.base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(fmt.Errorf("read %s: %w", path, err))
	}
	return string(body), resp
}
