// Package snippet owns the tracking snippet: the JavaScript that site owners
// embed (teller.js, its source and the rules it follows), the HTTP handler
// the collector mounts at GET /teller.js, and the HTML tag a site owner pastes.
//
// The snippet's source is teller.js; build.sh minifies it into teller.min.js,
// which this package embeds. The JSON the snippet posts to /api/event is
// described at the top of teller.js; the collector decodes it.
//
// The package does no I/O beyond answering requests for the script, and
// holds no mutable state: everything is computed once at start-up.
package snippet

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"html"
	"net/http"
	"strconv"
	"strings"
)

// minified is teller.min.js as build.sh wrote it: a "// src-sha256:" line,
// then the script.
//
//go:embed teller.min.js
var minified []byte

// Path is where the collector serves the snippet.
const Path = "/teller.js"

// Stub is the one-line script a site owner may paste before the snippet's tag
// so that teller(...) can be called before the snippet has loaded; the calls
// are queued and sent once it has.
const Stub = `<script>window.teller=window.teller||function(){(window.teller.q=window.teller.q||[]).push(arguments)}</script>`

var (
	// JS is the minified snippet as served (without the build.sh hash line).
	JS = stripHashLine(minified)
	// ETag is the strong entity tag of JS. The gzip encoding is served with
	// ETag minus its closing quote plus `-gzip"`, as a different
	// representation must have a different strong tag.
	ETag = etag(JS)

	gzipped  = mustGzip(JS)
	gzipETag = strings.TrimSuffix(ETag, `"`) + `-gzip"`
	jsLength = strconv.Itoa(len(JS))
	gzLength = strconv.Itoa(len(gzipped))
)

// Handler serves the snippet. See Serve.
func Handler() http.Handler { return http.HandlerFunc(Serve) }

// Serve answers GET and HEAD for the snippet: JavaScript cached for an hour,
// 304 Not Modified when If-None-Match names the current version, and the
// precomputed gzip encoding when Accept-Encoding allows it. Other methods get
// 405. It ignores the request's path, so it can be mounted anywhere.
func Serve(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	h.Set("Cache-Control", "public, max-age=3600")
	h.Set("Vary", "Accept-Encoding")
	// Sites using Cross-Origin-Embedder-Policy may still load the snippet.
	h.Set("Cross-Origin-Resource-Policy", "cross-origin")
	h.Set("X-Content-Type-Options", "nosniff")

	body, tag, length := JS, ETag, jsLength
	gz := acceptsGzip(r.Header.Values("Accept-Encoding"))
	if gz {
		body, tag, length = gzipped, gzipETag, gzLength
	}
	h.Set("ETag", tag)
	if noneMatch := r.Header.Values("If-None-Match"); len(noneMatch) > 0 && matchesCurrent(noneMatch) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", "application/javascript; charset=utf-8")
	h.Set("Content-Length", length)
	if gz {
		h.Set("Content-Encoding", "gzip")
	}
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		w.Write(body) //nolint:errcheck // the client went away; nothing to do
	}
}

// Tag returns the HTML a site owner pastes into their pages to track them:
// the deferred snippet script of collectorURL (e.g. "https://t.example.com")
// with the site id. Both values are HTML-escaped.
func Tag(collectorURL, siteID string) string { return TagWith(collectorURL, siteID, Attrs{}) }

// Attrs are the tag's optional attributes, which teller.js reads (a test
// ties the names to it).
type Attrs struct {
	// RespectDNT: send nothing when the browser asks not to be tracked (Do
	// Not Track or Global Privacy Control): data-respect-dnt.
	RespectDNT bool
	// Hash: a change of location.hash is a page view: data-hash.
	Hash bool
	// AllowLocalhost: count pages on localhost, 127.x.x.x, [::1] and file:,
	// which are skipped otherwise: data-allow-localhost.
	AllowLocalhost bool
}

// AttrNames are the attribute names of Attrs, in the tag's order.
var AttrNames = []string{"data-respect-dnt", "data-hash", "data-allow-localhost"}

// TagWith is Tag with optional attributes.
func TagWith(collectorURL, siteID string, a Attrs) string {
	src := strings.TrimRight(collectorURL, "/") + Path
	var b strings.Builder
	b.WriteString(`<script defer data-site="` + html.EscapeString(siteID) + `"`)
	for i, on := range []bool{a.RespectDNT, a.Hash, a.AllowLocalhost} {
		if on {
			b.WriteString(" " + AttrNames[i])
		}
	}
	b.WriteString(` src="` + html.EscapeString(src) + `"></script>`)
	return b.String()
}

// matchesCurrent reports whether an If-None-Match header names the current
// snippet in either encoding. It uses the weak comparison RFC 9110 asks of
// If-None-Match, so W/ prefixes are ignored.
func matchesCurrent(values []string) bool {
	for _, v := range values {
		for t := range strings.SplitSeq(v, ",") {
			t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
			if t == "*" || t == ETag || t == gzipETag {
				return true
			}
		}
	}
	return false
}

// acceptsGzip reports whether an Accept-Encoding header allows gzip: named
// (or x-gzip, or *) with a q-value above zero, and not refused by name.
func acceptsGzip(values []string) bool {
	gzipQ, starQ := -1.0, -1.0
	for _, v := range values {
		for part := range strings.SplitSeq(v, ",") {
			coding, params, _ := strings.Cut(part, ";")
			q := 1.0
			for p := range strings.SplitSeq(params, ";") {
				if name, val, ok := strings.Cut(strings.TrimSpace(p), "="); ok && strings.EqualFold(strings.TrimSpace(name), "q") {
					f, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
					if err != nil {
						f = 0
					}
					q = f
				}
			}
			switch strings.ToLower(strings.TrimSpace(coding)) {
			case "gzip", "x-gzip":
				gzipQ = max(gzipQ, q)
			case "*":
				starQ = max(starQ, q)
			}
		}
	}
	if gzipQ >= 0 {
		return gzipQ > 0
	}
	return starQ > 0
}

func stripHashLine(b []byte) []byte {
	if bytes.HasPrefix(b, []byte("// src-sha256:")) {
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			return b[i+1:]
		}
	}
	return b
}

func etag(b []byte) string {
	sum := sha256.Sum256(b)
	return `"` + hex.EncodeToString(sum[:12]) + `"`
}

func mustGzip(b []byte) []byte {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		panic(err) // only for an invalid level
	}
	zw.Write(b) //nolint:errcheck // writes to a bytes.Buffer do not fail
	zw.Close()  //nolint:errcheck // idem
	return buf.Bytes()
}
