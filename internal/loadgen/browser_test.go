package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/teller-analytics/teller/pkg/collector"
)

// Every body is what the snippet's send() would post: the collector's
// Payload with no unknown field, no empty value, the snippet's key order,
// and visits shaped as the model says.
func TestBodiesAreWhatTheSnippetSends(t *testing.T) {
	const origin = "http://localhost"
	kinds := map[string]int{}
	var newsletter, searchOrSocial, bounces, spa, leaves int
	for i := 0; i < 300; i++ {
		b := newBrowser(i, 7, 0.1)
		steps := b.planVisit("demo", newPageSet(origin, DefaultPaths))
		pageviews := 0
		var prevURL string
		for j, s := range steps {
			kinds[s.kind]++
			dec := json.NewDecoder(bytes.NewReader(s.body))
			dec.DisallowUnknownFields()
			var p collector.Payload
			if err := dec.Decode(&p); err != nil {
				t.Fatalf("body %s does not decode as the collector's Payload: %v", s.body, err)
			}
			if p.Site != "demo" || string(p.Kind) != s.kind || p.Name == "" || !strings.HasPrefix(p.URL, origin+"/") || p.URL != s.page {
				t.Fatalf("body %s: wrong site, kind, name or url", s.body)
			}
			if !bytes.HasPrefix(s.body, []byte(`{"site":"demo","kind":"`+s.kind+`","name":`)) {
				t.Fatalf("body %s: keys not in the snippet's order", s.body)
			}
			var raw map[string]any
			_ = json.Unmarshal(s.body, &raw)
			for k, v := range raw {
				if v == "" || v == 0.0 || v == nil {
					t.Fatalf("body %s: empty %s is sent; the snippet leaves empty values out", s.body, k)
				}
			}
			if bytes.Contains(s.body, []byte(`\u0026`)) {
				t.Fatalf("body %s: & escaped, JSON.stringify does not", s.body)
			}
			switch s.kind {
			case "pageview":
				pageviews++
				if j > 0 && p.Referrer != prevURL {
					t.Fatalf("page view %d of a visit: referrer %q, want the previous page %q", j, p.Referrer, prevURL)
				}
				if j == 0 {
					u, _ := url.Parse(p.URL)
					switch {
					case u.Query().Get("utm_medium") == "email":
						newsletter++
					case p.Referrer != "":
						searchOrSocial++
					}
				}
				prevURL = p.URL
			case "event":
				if len(p.Props) == 0 || b.bot {
					t.Fatalf("custom event %s: no props, or from a bot", s.body)
				}
			case "engagement":
				if p.EngagedMs < 1000 || p.ScrollDepth < 1 || p.ScrollDepth > 100 || b.bot {
					t.Fatalf("engagement %s: too short, or from a bot", s.body)
				}
				if j == len(steps)-1 {
					if s.then || s.doc != "" {
						t.Fatalf("the last engagement %s is sent as an app navigation's", s.body)
					}
					break
				}
				// Not last: the page left's engagement, then at once the next
				// page view with the page left as its referrer. An app
				// navigation (the snippet's route()) sends both in one request
				// from the new URL; a page load sends the engagement by beacon
				// from the page left, and the page view from the next page.
				next := steps[j+1]
				var pv collector.Payload
				_ = json.Unmarshal(next.body, &pv)
				if !s.then || next.kind != "pageview" || pv.Referrer != p.URL {
					t.Fatalf("engagement %s is not last, and not followed at once by the next page view (%s)", s.body, next.body)
				}
				if next.with {
					spa++
					if pv.URL == p.URL || s.doc != pv.URL || s.location() != pv.URL {
						t.Fatalf("app navigation %s then %s: not sent from the new URL", s.body, next.body)
					}
				} else if leaves++; s.doc != "" || s.location() != p.URL {
					t.Fatalf("engagement %s on leaving the page: not sent from the page left", s.body)
				}
			}
			if s.kind != "engagement" && s.then {
				t.Fatalf("%s %s: only the engagement of a page left is followed at once", s.kind, s.body)
			}
			if s.with && (j == 0 || steps[j-1].kind != "engagement" || s.kind != "pageview") {
				t.Fatalf("%s %s: only an app navigation's page view is sent with the step before", s.kind, s.body)
			}
		}
		if pageviews < 1 || pageviews > 8 {
			t.Fatalf("a visit of %d page views", pageviews)
		}
		if pageviews == 1 {
			bounces++
		}
	}
	if kinds["event"] == 0 || kinds["engagement"] == 0 || newsletter == 0 || searchOrSocial == 0 || bounces == 0 || spa == 0 || leaves == 0 {
		t.Fatalf("the mix lacks something: kinds %v, %d newsletter, %d search/social entries, %d bounces, %d app navigations, %d pages left by a link",
			kinds, newsletter, searchOrSocial, bounces, spa, leaves)
	}
}

func TestBrowsersMixBotsAndDevices(t *testing.T) {
	var bots, mobile int
	for i := 0; i < 1000; i++ {
		b := newBrowser(i, 1, 0.03)
		if b.bot {
			bots++
		}
		if strings.Contains(b.ua, "Mobile") && !b.bot {
			mobile++
		}
	}
	if bots < 15 || bots > 50 {
		t.Fatalf("%d bots in 1000 browsers at a 3%% share", bots)
	}
	if mobile < 250 || mobile > 600 {
		t.Fatalf("%d mobile browsers in 1000", mobile)
	}
	if newBrowser(3, 9, 0.03).ua != newBrowser(3, 9, 0.03).ua {
		t.Fatal("the same seed gave a different browser")
	}
}

func TestPacerHoldsTheRateAndTheBudget(t *testing.T) {
	p := newPacer(1000, 0)
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				p.wait(context.Background())
			}
		}()
	}
	wg.Wait()
	if took := time.Since(start); took < 195*time.Millisecond {
		t.Fatalf("200 sends at 1000/s took %s", took)
	}
	p = newPacer(0, 10)
	n := 0
	for p.wait(context.Background()) {
		n++
	}
	if n != 10 {
		t.Fatalf("%d sends with a budget of 10", n)
	}
}

func TestConfigNeedsAnEndAndAnOrigin(t *testing.T) {
	_, err := Config{Site: "s"}.withDefaults()
	if err == nil || !strings.Contains(err.Error(), "-duration or -requests") {
		t.Fatalf("a run without end: %v", err)
	}
	_, err = Config{Site: "s", Requests: 1, PageOrigin: "http://localhost/page"}.withDefaults()
	if err == nil || !strings.Contains(err.Error(), "-page-origin") {
		t.Fatalf("a page URL as origin: %v", err)
	}
	if _, err := (Config{Site: "s", Duration: time.Second}).withDefaults(); err != nil {
		t.Fatal(err)
	}
}

// The bodies' JSON is encoding/json's without HTML escaping (what
// JSON.stringify writes), for every string and props object.
func TestAppendJSONIsEncodingJSONs(t *testing.T) {
	encode := func(v any) string {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			t.Fatal(err)
		}
		return "x" + strings.TrimSuffix(b.String(), "\n")
	}
	for _, v := range []string{
		"", "plain", "Getting started – Docs", "a&b<c>", `quote " and \ backslash`, "tab\tnew\nline\x01",
		"line\u2028sep\u2029", "bad \xff utf-8", "emoji 🎉", "https://www.example.com/?utm_source=a&b=c",
	} {
		if got, want := string(appendJSONString([]byte("x"), v)), encode(v); got != want {
			t.Errorf("%q: %s, encoding/json %s", v, got, want)
		}
	}
	for _, m := range []map[string]string{{}, {"url": "https://x/&"}, {"plan": "pro", "a": "1", "Z": "\n", "é": "<"}} {
		if got, want := string(appendProps([]byte("x"), m)), encode(m); got != want {
			t.Errorf("%v: %s, encoding/json %s", m, got, want)
		}
	}
}

// pathOnly is url.Parse's path, with or without its shortcut.
func TestPathOnlyIsURLParses(t *testing.T) {
	for _, p := range []string{"/", "/pricing", "/docs/getting-started", "/a?utm_source=x", "/a#top", "/caf%C3%A9", "//host/path", "/a;b", "/a+b", "/é"} {
		u, err := url.Parse(p)
		want := p
		if err == nil {
			want = u.Path
		}
		if got := pathOnly(p); got != want {
			t.Errorf("%q: %q, url.Parse %q", p, got, want)
		}
	}
}

// The ground truth keeps each event's page as an index in the run's
// pathnames: it must name the step's own path, for pages with and without
// a campaign query.
func TestStepPathIDsNameTheirPaths(t *testing.T) {
	pages := newPageSet("http://localhost", append([]string{"/a%20b", "/pricing?x=1"}, DefaultPaths...))
	queries := 0
	for i := 0; i < 300; i++ {
		b := newBrowser(i, 3, 0.1)
		for _, s := range b.planVisit("demo", pages) {
			if int(s.pathID) >= len(pages.pathnames) || pages.pathnames[s.pathID] != s.path {
				t.Fatalf("step %s of %s: path id %d names %q, want %q", s.kind, s.page, s.pathID, pages.pathnames, s.path)
			}
			if strings.Contains(s.page, "utm_") {
				queries++
			}
		}
	}
	if queries == 0 {
		t.Fatal("no landing page with a campaign query in 300 visits")
	}
}
