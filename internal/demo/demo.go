// Package demo owns the demo web site that the dev mode serves: a few plain
// pages (home, pricing, blog, docs with single-page-app navigation) that embed
// the real tracking snippet, so that clicking through them in a browser
// exercises the whole pipeline. It is not used in production.
package demo

import (
	"embed"
	"html/template"
	"net/http"
	"strings"
)

//go:embed pages/*.html
var pages embed.FS

var tmpl = template.Must(template.ParseFS(pages, "pages/*.html"))

// Site serves the demo pages.
type Site struct {
	// CollectorURL is where the snippet is loaded from, e.g. http://localhost:8081.
	CollectorURL string
	// SiteID is the registered site the pages report to.
	SiteID string
}

type page struct {
	Template string
	Title    string
}

var routes = map[string]page{
	"/":                     {"home.html", "Acme Rockets"},
	"/pricing":              {"pricing.html", "Pricing · Acme Rockets"},
	"/blog":                 {"blog.html", "Blog · Acme Rockets"},
	"/blog/launch-day":      {"post.html", "Launch day · Acme Rockets"},
	"/docs":                 {"docs.html", "Docs · Acme Rockets"},
	"/docs/getting-started": {"docs.html", "Docs · Acme Rockets"},
	"/docs/fuel":            {"docs.html", "Docs · Acme Rockets"},
}

// ServeHTTP serves a page, a small PDF for the download link, or 404.
func (s Site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/favicon.ico" {
		w.Header().Set("Content-Type", "image/svg+xml")
		_, _ = w.Write([]byte(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><text y="14" font-size="14">🚀</text></svg>`))
		return
	}
	if r.URL.Path == "/files/rocket-brochure.pdf" {
		w.Header().Set("Content-Type", "application/pdf")
		_, _ = w.Write([]byte(brochure))
		return
	}
	p, ok := routes[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	data := map[string]any{
		"Title":     p.Title,
		"Path":      r.URL.Path,
		"SnippetJS": strings.TrimRight(s.CollectorURL, "/") + "/teller.js",
		"SiteID":    s.SiteID,
	}
	if err := tmpl.ExecuteTemplate(w, p.Template, data); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

// brochure is a minimal valid PDF, so the download link really downloads.
const brochure = "%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj 3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 300 144]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
