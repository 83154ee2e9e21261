package snippet_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/teller-analytics/teller/pkg/collector"
	"github.com/teller-analytics/teller/pkg/snippet"
)

// The snippet's size budget, as teller.js's header states it: 2 KB gzipped.
const maxGzippedBytes = 2048

func gzipSize(t *testing.T, b []byte) int {
	t.Helper()
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Len()
}

func TestGzippedSizeBudget(t *testing.T) {
	file, err := os.ReadFile("teller.min.js")
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"teller.min.js": file, "snippet.JS (as served)": snippet.JS} {
		if n := gzipSize(t, b); n > maxGzippedBytes {
			t.Errorf("%s is %d bytes gzipped, over the budget of %d", name, n, maxGzippedBytes)
		} else {
			t.Logf("%s: %d bytes, %d gzipped (budget %d)", name, len(b), n, maxGzippedBytes)
		}
	}
}

// TestMinifiedIsBuiltFromSource fails when teller.js changed and build.sh was
// not run: build.sh writes the source's SHA-256 on the first line.
func TestMinifiedIsBuiltFromSource(t *testing.T) {
	src, err := os.ReadFile("teller.js")
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open("teller.min.js")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	first, err := bufio.NewReader(f).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(src)
	want := "// src-sha256: " + hex.EncodeToString(sum[:]) + "\n"
	if first != want {
		t.Fatalf("teller.min.js was not built from the current teller.js: its first line is %q, want %q; run pkg/snippet/build.sh", first, want)
	}
	if bytes.Contains(snippet.JS, []byte("src-sha256")) || len(snippet.JS) == 0 {
		t.Fatalf("snippet.JS must be the script without the hash line")
	}
}

func get(t *testing.T, h http.Handler, method string, header map[string]string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, snippet.Path, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func TestHandlerServesScript(t *testing.T) {
	h := snippet.Handler()
	res := get(t, h, http.MethodGet, nil)
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d", res.StatusCode)
	}
	want := map[string]string{
		"Content-Type":     "application/javascript; charset=utf-8",
		"Cache-Control":    "public, max-age=3600",
		"Vary":             "Accept-Encoding",
		"ETag":             snippet.ETag,
		"Content-Encoding": "",
	}
	for k, v := range want {
		if got := res.Header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if !bytes.Equal(body, snippet.JS) {
		t.Errorf("body is not snippet.JS")
	}
	if res.ContentLength != int64(len(snippet.JS)) {
		t.Errorf("Content-Length = %d, want %d", res.ContentLength, len(snippet.JS))
	}
	if !strings.HasPrefix(snippet.ETag, `"`) || !strings.HasSuffix(snippet.ETag, `"`) || len(snippet.ETag) < 10 {
		t.Errorf("ETag %q is not a quoted strong tag", snippet.ETag)
	}

	head := get(t, h, http.MethodHead, nil)
	if b, _ := io.ReadAll(head.Body); head.StatusCode != http.StatusOK || len(b) != 0 || head.Header.Get("ETag") != snippet.ETag {
		t.Errorf("HEAD: status %d, %d body bytes, ETag %q", head.StatusCode, len(b), head.Header.Get("ETag"))
	}

	post := get(t, h, http.MethodPost, nil)
	if post.StatusCode != http.StatusMethodNotAllowed || post.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST: status %d, Allow %q", post.StatusCode, post.Header.Get("Allow"))
	}
}

func TestHandlerGzip(t *testing.T) {
	h := snippet.Handler()
	for _, tc := range []struct {
		acceptEncoding string
		gzip           bool
	}{
		{"", false},
		{"gzip", true},
		{"gzip, deflate, br, zstd", true},
		{"br;q=1.0, GZIP;q=0.5", true},
		{"x-gzip", true},
		{"*", true},
		{"br", false},
		{"identity", false},
		{"gzip;q=0", false},
		{"gzip;q=0, *", false},
		{"*;q=0", false},
		{"gzip;q=0.001", true},
		{"gzip; q=bogus", false},
	} {
		res := get(t, h, http.MethodGet, map[string]string{"Accept-Encoding": tc.acceptEncoding})
		body, _ := io.ReadAll(res.Body)
		gotGzip := res.Header.Get("Content-Encoding") == "gzip"
		if gotGzip != tc.gzip {
			t.Errorf("Accept-Encoding %q: gzip = %v, want %v", tc.acceptEncoding, gotGzip, tc.gzip)
			continue
		}
		if res.Header.Get("Vary") != "Accept-Encoding" || res.Header.Get("Content-Type") != "application/javascript; charset=utf-8" {
			t.Errorf("Accept-Encoding %q: Vary %q, Content-Type %q", tc.acceptEncoding, res.Header.Get("Vary"), res.Header.Get("Content-Type"))
		}
		if !gotGzip {
			continue
		}
		if res.Header.Get("ETag") == snippet.ETag || res.Header.Get("ETag") == "" {
			t.Errorf("gzip ETag %q must differ from the identity ETag", res.Header.Get("ETag"))
		}
		if res.ContentLength != int64(len(body)) {
			t.Errorf("gzip Content-Length = %d, body %d", res.ContentLength, len(body))
		}
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		plain, err := io.ReadAll(zr)
		if err != nil || !bytes.Equal(plain, snippet.JS) {
			t.Fatalf("gzip body does not decode to snippet.JS: %v", err)
		}
		if len(body) > maxGzippedBytes {
			t.Errorf("served gzip body is %d bytes, over %d", len(body), maxGzippedBytes)
		}
	}
}

func TestHandlerNotModified(t *testing.T) {
	h := snippet.Handler()
	gzipTag := get(t, h, http.MethodGet, map[string]string{"Accept-Encoding": "gzip"}).Header.Get("ETag")
	for _, tc := range []struct {
		ifNoneMatch, acceptEncoding string
		want                        int
	}{
		{snippet.ETag, "", http.StatusNotModified},
		{gzipTag, "gzip", http.StatusNotModified},
		{gzipTag, "", http.StatusNotModified}, // same script, other encoding
		{snippet.ETag, "gzip", http.StatusNotModified},
		{"W/" + snippet.ETag, "", http.StatusNotModified},
		{`"old", ` + snippet.ETag, "", http.StatusNotModified},
		{"*", "", http.StatusNotModified},
		{`"old"`, "", http.StatusOK},
		{`"old"`, "gzip", http.StatusOK},
		{strings.Trim(snippet.ETag, `"`), "", http.StatusOK}, // unquoted is not the tag
	} {
		res := get(t, h, http.MethodGet, map[string]string{"If-None-Match": tc.ifNoneMatch, "Accept-Encoding": tc.acceptEncoding})
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != tc.want {
			t.Errorf("If-None-Match %q, Accept-Encoding %q: status %d, want %d", tc.ifNoneMatch, tc.acceptEncoding, res.StatusCode, tc.want)
			continue
		}
		if tc.want == http.StatusNotModified {
			if len(body) != 0 || res.Header.Get("ETag") == "" || res.Header.Get("Cache-Control") != "public, max-age=3600" || res.Header.Get("Vary") != "Accept-Encoding" {
				t.Errorf("304 for %q: %d body bytes, ETag %q, Cache-Control %q, Vary %q", tc.ifNoneMatch, len(body),
					res.Header.Get("ETag"), res.Header.Get("Cache-Control"), res.Header.Get("Vary"))
			}
		}
	}
}

func TestTag(t *testing.T) {
	for _, tc := range []struct{ collector, site, want string }{
		{"https://t.example.com", "demo",
			`<script defer data-site="demo" src="https://t.example.com/teller.js"></script>`},
		{"https://t.example.com/", "demo",
			`<script defer data-site="demo" src="https://t.example.com/teller.js"></script>`},
		{"https://example.com/analytics", "a-b_c",
			`<script defer data-site="a-b_c" src="https://example.com/analytics/teller.js"></script>`},
		{`https://x.example/"><script>alert(1)</script>`, `"><img src=x onerror=alert(1)>`,
			`<script defer data-site="&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" src="https://x.example/&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;/teller.js"></script>`},
		{"https://t.example.com?a=1&b=2", "it's",
			`<script defer data-site="it&#39;s" src="https://t.example.com?a=1&amp;b=2/teller.js"></script>`},
	} {
		if got := snippet.Tag(tc.collector, tc.site); got != tc.want {
			t.Errorf("Tag(%q, %q)\n got %s\nwant %s", tc.collector, tc.site, got, tc.want)
		}
	}
}

func TestTagWith(t *testing.T) {
	for _, tc := range []struct {
		attrs snippet.Attrs
		want  string
	}{
		{snippet.Attrs{}, `<script defer data-site="demo" src="https://t.example.com/teller.js"></script>`},
		{snippet.Attrs{RespectDNT: true}, `<script defer data-site="demo" data-respect-dnt src="https://t.example.com/teller.js"></script>`},
		{snippet.Attrs{RespectDNT: true, Hash: true, AllowLocalhost: true},
			`<script defer data-site="demo" data-respect-dnt data-hash data-allow-localhost src="https://t.example.com/teller.js"></script>`},
	} {
		if got := snippet.TagWith("https://t.example.com", "demo", tc.attrs); got != tc.want {
			t.Errorf("TagWith(%+v)\n got %s\nwant %s", tc.attrs, got, tc.want)
		}
	}
}

// The attribute names are copies of what teller.js reads: tie them.
func TestAttrNamesAreTheScriptsOwn(t *testing.T) {
	src, err := os.ReadFile("teller.js")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range snippet.AttrNames {
		if read := "has('" + strings.TrimPrefix(name, "data-") + "')"; !strings.Contains(string(src), read) {
			t.Errorf("teller.js does not read %s (no %s)", name, read)
		}
		if !strings.Contains(string(src), " *   "+name) {
			t.Errorf("teller.js's header does not document %s", name)
		}
	}
}

// The snippet's batch limits are copies of the collector's: a batch of
// MAX_BATCH events is one the collector takes, and MAX_CHARS characters (at
// most three bytes each in UTF-8) are within its default body limit.
func TestSnippetLimitsAreTheCollectors(t *testing.T) {
	src, err := os.ReadFile("teller.js")
	if err != nil {
		t.Fatal(err)
	}
	num := func(name string) int {
		m := regexp.MustCompile(`var ` + name + ` = (\d+);`).FindSubmatch(src)
		if m == nil {
			t.Fatalf("teller.js has no var %s", name)
		}
		n, _ := strconv.Atoi(string(m[1]))
		return n
	}
	if got := num("MAX_BATCH"); got != collector.MaxBatch {
		t.Errorf("MAX_BATCH = %d, collector.MaxBatch = %d", got, collector.MaxBatch)
	}
	if got := num("MAX_CHARS"); 3*got > collector.DefaultMaxBodyBytes-100 {
		t.Errorf("MAX_CHARS = %d: up to %d bytes, over the collector's %d (less the array's brackets and one event's slack)", got, 3*got, collector.DefaultMaxBodyBytes)
	}
}
