package loadgen

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The traffic model: who the browsers are, where visits come from, what they
// do. Shares are rough figures of a small content/SaaS site, not a standard.

// agent is a user agent with the screens its devices have.
type agent struct {
	ua      string
	weight  int
	screens [][2]int // width, height in CSS pixels; nil: none reported
}

var (
	desktopScreens = [][2]int{{1920, 1080}, {1536, 864}, {1440, 900}, {1366, 768}, {2560, 1440}}
	macScreens     = [][2]int{{1512, 982}, {1440, 900}, {1728, 1117}, {1680, 1050}}
	iphoneScreens  = [][2]int{{390, 844}, {393, 852}, {430, 932}, {375, 667}}
	androidScreens = [][2]int{{412, 915}, {360, 800}, {384, 854}, {393, 873}}
)

// humans is the browser mix: desktop and mobile Chrome, Safari, Firefox.
var humans = []agent{
	{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Safari/537.36", 28, desktopScreens},
	{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Safari/537.36", 10, macScreens},
	{"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Mobile Safari/537.36", 20, androidScreens},
	{"Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.5 Mobile/15E148 Safari/604.1", 18, iphoneScreens},
	{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.5 Safari/605.1.15", 9, macScreens},
	{"Mozilla/5.0 (iPad; CPU OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.5 Mobile/15E148 Safari/604.1", 2, [][2]int{{820, 1180}, {768, 1024}}},
	{"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:140.0) Gecko/20100101 Firefox/140.0", 6, desktopScreens},
	{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:140.0) Gecko/20100101 Firefox/140.0", 2, macScreens},
	{"Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0", 2, desktopScreens},
	{"Mozilla/5.0 (Android 15; Mobile; rv:140.0) Gecko/140.0 Firefox/140.0", 1, androidScreens},
}

// bots run the snippet too (they render pages with JavaScript), and are
// recorded and flagged by the sessionizer.
var bots = []agent{
	{"Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.7204.100 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", 4, [][2]int{{412, 732}}},
	{"Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm) Chrome/116.0.1938.76 Safari/537.36", 2, nil},
	{"Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)", 2, nil},
	{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/138.0.0.0 Safari/537.36", 2, [][2]int{{800, 600}}},
}

// Pick returns one of items, each as likely as its weight.
func Pick[T any](r *rand.Rand, items []T, weight func(T) int) T {
	total := 0
	for _, it := range items {
		total += weight(it)
	}
	n := r.IntN(total)
	for _, it := range items {
		if n -= weight(it); n < 0 {
			return it
		}
	}
	return items[len(items)-1]
}

// Where a visit comes from: the entry page view's document.referrer, and
// campaign parameters on the landing URL.
type source struct {
	weight    int
	referrers []string // one is chosen; "" is none
	query     string   // added to the landing page URL
}

var sources = []source{
	{45, []string{""}, ""}, // direct: typed, bookmarked, or the referrer was stripped
	{30, []string{"https://www.google.com/"}, ""},
	{15, []string{"https://t.co/", "https://www.facebook.com/", "https://www.linkedin.com/", "https://www.reddit.com/", "https://news.ycombinator.com/"}, ""},
	{10, []string{""}, "utm_source=newsletter&utm_medium=email&utm_campaign=monthly-digest"}, // mail clients send no referrer
}

// pagesPerVisit weighs visits of 1..8 page views: many bounces, a long tail.
var pagesPerVisit = []int{35, 20, 15, 10, 8, 5, 4, 3}

// visitLengths are pagesPerVisit's indices, to Pick from.
var visitLengths = Indices(len(pagesPerVisit))

// customEvents are what the site's code and the snippet's click tracking send.
var customEvents = []struct {
	name  string
	props func(r *rand.Rand, origin string) map[string]string
}{
	{"Signup", func(r *rand.Rand, _ string) map[string]string {
		return map[string]string{"plan": []string{"free", "pro", "team"}[r.IntN(3)]}
	}},
	{"Outbound Link: Click", func(*rand.Rand, string) map[string]string {
		return map[string]string{"url": "https://github.com/teller-analytics/teller"}
	}},
	{"File Download", func(_ *rand.Rand, origin string) map[string]string {
		return map[string]string{"url": origin + "/files/teller-whitepaper.pdf"}
	}},
}

// minEngagedMs is the snippet's MIN_ENGAGED_MS: shorter visible time sends
// no engagement event.
const minEngagedMs = 1000

// customShare is the share of human visits with one custom event.
const customShare = 0.25

// spaShare is the share of human visits' page changes made by a
// single-page app's router (history.pushState, the snippet's route())
// rather than by loading the next page.
const spaShare = 0.3

// browser is one simulated visitor: a browser profile with its own visitor
// cookie (cookie.go). Only one worker uses a browser at a time, so its
// requests are sequential, as a person's are, and the cookie from the first
// answer comes back with every later request.
type browser struct {
	index  int
	rand   *rand.Rand
	ua     string
	bot    bool
	screen [2]int

	// Filled as answers come (by the worker holding the browser).
	jar      visitorCookie // what the browser holds of the collector's cookie
	accepted int           // events the collector accepted for this browser
	cookie   string        // the visitor cookie value held after the last accepted event
	changes  int           // times the collector set a different visitor cookie

	// The visit under way (by the worker holding the browser).
	plan  []step
	next  int     // index in plan of the next request
	visit visitID // its ground truth, when sessions are checked
	// sent is when the visit's last request was sent (checkPause).
	sent time.Time
}

func newBrowser(index int, seed uint64, botShare float64) *browser {
	r := rand.New(rand.NewPCG(seed, uint64(index)))
	a := Pick(r, humans, func(a agent) int { return a.weight })
	bot := r.Float64() < botShare
	if bot {
		a = Pick(r, bots, func(a agent) int { return a.weight })
	}
	b := &browser{index: index, rand: r, ua: a.ua, bot: bot}
	if len(a.screens) > 0 {
		b.screen = a.screens[r.IntN(len(a.screens))]
	}
	return b
}

// step is one request of a visit.
type step struct {
	kind string // pageview, event, engagement
	page string // the URL of the page the event is about
	path string // its path, as the sessions table's entry and exit pages hold it
	// pathID is path's index in the run's pageSet.pathnames.
	pathID uint32
	body   []byte
	// doc is the document's URL when it differs from page: an app
	// navigation's engagement event is sent after the URL changed.
	doc string
	// then: the next step is sent at once, without a think time.
	then bool
	// with: this step's event travels in the previous step's request (the
	// snippet sends the events of one moment together, as a JSON array).
	with bool
}

// location is the document's URL when the step is sent (the Referer).
func (s *step) location() string {
	if s.doc != "" {
		return s.doc
	}
	return s.page
}

// planVisit draws one visit: 1-8 page views, sometimes a custom event, and an
// engagement event for every page a human leaves, when it was visible for
// at least a second (as the snippet's flush() does). A human's page changes
// are sometimes app navigations (spaShare), sent as the snippet's route()
// sends them: the engagement event of the page left and the page view of
// the new URL, with the page left as its referrer, in one request (events
// of one task travel together); a navigation to the same path and query
// sends nothing. The other page changes load the next page: the page left
// sends its engagement by beacon on pagehide, and the next page its page
// view right after, in a request of its own.
func (b *browser) planVisit(site string, pages *pageSet) []step {
	r := b.rand
	n := 1 + Pick(r, visitLengths, func(i int) int { return pagesPerVisit[i] })
	if b.bot {
		n = 1 + r.IntN(3)
	}
	src := Pick(r, sources, func(s source) int { return s.weight })
	referrer := src.referrers[r.IntN(len(src.referrers))]
	query := src.query
	if b.bot {
		referrer, query = "", ""
	}
	custom := -1
	if !b.bot && r.Float64() < customShare {
		custom = r.IntN(n)
	}
	steps := make([]step, 0, 2*n+1)
	var pageURL, title, pathname string
	var pathID uint32
	var key *page
	for i := 0; i < n; i++ {
		pg := pages.page(r.IntN(len(pages.plain)), "")
		if i == 0 && query != "" {
			pg = pages.page(pg.index, query)
		}
		app := false // an app navigation: its engagement and page view share a request
		if i > 0 && !b.bot {
			app = r.Float64() < spaShare
			if app && key != nil && pg.url == key.url {
				continue // route(): the key (path and query) did not change
			}
			engaged := r.Int64N(60_000)
			depth := 10 + r.IntN(91)
			if engaged >= minEngagedMs {
				doc := "" // pagehide: sent from the page left
				if app {
					doc = pg.url // route(): sent after the URL changed
				}
				steps = append(steps, step{kind: "engagement", page: pageURL, path: pathname, pathID: pathID, doc: doc, then: true,
					body: b.body(site, "engagement", "engagement", pageURL, title,
						str("url", pageURL), num("engaged_ms", engaged), num("scroll_depth", int64(depth)))})
			} else {
				app = false // nothing to send with
			}
		}
		key, pathname, pathID = pg, pg.pathname, pg.pathID
		pageURL, title = pg.url, pg.title
		steps = append(steps, step{kind: "pageview", page: pageURL, path: pathname, pathID: pathID, with: app,
			body: b.body(site, "pageview", "pageview", pageURL, title, str("referrer", referrer))})
		// The next page is reached by a link: document.referrer is this page
		// (same origin, so the full URL under the default referrer policy).
		referrer = pageURL
		if i == custom {
			ev := customEvents[r.IntN(len(customEvents))]
			steps = append(steps, step{kind: "event", page: pageURL, path: pathname, pathID: pathID,
				body: b.body(site, "event", ev.name, pageURL, title, props("props", ev.props(r, pages.origin)))})
		}
	}
	if !b.bot {
		engaged := minEngagedMs + r.Int64N(120_000) // the snippet sends only after >= 1 s visible
		depth := 10 + r.IntN(91)
		steps = append(steps, step{kind: "engagement", page: pageURL, path: pathname, pathID: pathID, body: b.body(site, "engagement", "engagement", pageURL, title,
			str("url", pageURL), num("engaged_ms", engaged), num("scroll_depth", int64(depth)))})
	}
	return steps
}

// page is what a visit's steps take from one of the site's pages: made
// once per run (each visit made its URL, title and path again, a sixth of
// drawing it).
type page struct {
	index    int    // in pageSet.plain: the path without the query
	url      string // origin + path (and query)
	title    string // TitleOf(path)
	pathname string // pathOnly(path): the sessions table's entry and exit
	pathID   uint32 // pathname's index in pageSet.pathnames
}

// pageSet is every page a visit can land on: the site's paths, and each
// with every campaign query of the sources.
type pageSet struct {
	origin string
	// pathnames are the pages' distinct pathnames: the ground truth keeps
	// an index in it per event (liveTruth).
	pathnames []string
	plain     []page
	withQuery map[string][]page // by source query
}

func newPageSet(origin string, paths []string) *pageSet {
	ps := &pageSet{origin: origin, withQuery: map[string][]page{}}
	pathIDs := indexer{ids: map[string]uint32{}, list: &ps.pathnames}
	build := func(query string) []page {
		out := make([]page, len(paths))
		for i, p := range paths {
			if query != "" {
				p += "?" + query
			}
			out[i] = page{index: i, url: origin + p, title: TitleOf(p), pathname: pathOnly(p)}
			out[i].pathID = pathIDs.of(out[i].pathname)
		}
		return out
	}
	ps.plain = build("")
	for _, src := range sources {
		if src.query != "" {
			ps.withQuery[src.query] = build(src.query)
		}
	}
	return ps
}

// indexer gives each distinct string its index in list.
type indexer struct {
	ids  map[string]uint32
	list *[]string
}

func (x indexer) of(s string) uint32 {
	id, ok := x.ids[s]
	if !ok {
		id = uint32(len(*x.list))
		*x.list = append(*x.list, s)
		x.ids[s] = id
	}
	return id
}

// page is path i, with query ("" for none: one of the sources').
func (ps *pageSet) page(i int, query string) *page {
	if query == "" {
		return &ps.plain[i]
	}
	return &ps.withQuery[query][i]
}

// Indices are 0..n-1, to Pick an index by weight.
func Indices(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// TitleOf makes a document title from a path: "/docs/getting-started" is
// "Getting started – Docs".
func TitleOf(path string) string {
	path, _, _ = strings.Cut(path, "?")
	parts := strings.FieldsFunc(path, func(r rune) bool { return r == '/' })
	if len(parts) == 0 {
		return "Home"
	}
	words := func(s string) string {
		s = strings.ReplaceAll(s, "-", " ")
		return strings.ToUpper(s[:1]) + s[1:]
	}
	t := words(parts[len(parts)-1])
	if len(parts) > 1 {
		t += " – " + words(parts[0])
	}
	return t
}

// field is a member the snippet adds to (or overrides in) the default
// event: a string, a number or the props object (typed rather than an
// interface: boxing every value cost an allocation each).
type field struct {
	key   string
	kind  fieldKind
	str   string
	num   int64
	props map[string]string
}

type fieldKind uint8

const (
	stringField fieldKind = iota
	numberField
	propsField
)

func str(key, v string) field                     { return field{key: key, kind: stringField, str: v} }
func num(key string, v int64) field               { return field{key: key, kind: numberField, num: v} }
func props(key string, m map[string]string) field { return field{key: key, kind: propsField, props: m} }

// empty is JavaScript's falsiness for the values the snippet sends.
func (f *field) empty() bool {
	switch f.kind {
	case numberField:
		return f.num == 0
	case propsField:
		return f.props == nil // an object is truthy even when empty
	}
	return f.str == ""
}

// body is the JSON the snippet's send() posts: the defaults {site, kind,
// name, url, title, screen_width, screen_height} merged with the extra
// fields by Object.assign (an override keeps its place, a new key goes at
// the end), with every empty value left out.
func (b *browser) body(site, kind, name, pageURL, title string, extra ...field) []byte {
	var stack [10]field
	fields := append(stack[:0], str("site", site), str("kind", kind), str("name", name), str("url", pageURL), str("title", title),
		num("screen_width", int64(b.screen[0])), num("screen_height", int64(b.screen[1])))
next:
	for _, e := range extra {
		for i := range fields {
			if fields[i].key == e.key {
				fields[i] = e
				continue next
			}
		}
		fields = append(fields, e)
	}
	buf := make([]byte, 0, 256)
	buf = append(buf, '{')
	first := true
	for i := range fields {
		f := &fields[i]
		if f.empty() {
			continue // the snippet: for (k in event) if (!event[k]) delete event[k]
		}
		if !first {
			buf = append(buf, ',')
		}
		first = false
		buf = appendJSONString(buf, f.key)
		buf = append(buf, ':')
		switch f.kind {
		case stringField:
			buf = appendJSONString(buf, f.str)
		case numberField:
			buf = strconv.AppendInt(buf, f.num, 10)
		case propsField:
			buf = appendProps(buf, f.props)
		}
	}
	return append(buf, '}')
}

// The bodies' JSON is what JSON.stringify writes: encoding/json's output
// without its HTML escaping ("&", "<" and ">" stay as they are), written
// directly (a visit's bodies were a sixth of the load generator's CPU
// through an Encoder per value).

// appendProps writes a string map as encoding/json does (keys sorted).
func appendProps(buf []byte, m map[string]string) []byte {
	var stack [4]string
	keys := stack[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	buf = append(buf, '{')
	for i, k := range keys {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(appendJSONString(buf, k), ':')
		buf = appendJSONString(buf, m[k])
	}
	return append(buf, '}')
}

// appendJSONString writes s as a JSON string: as it is between quotes when
// nothing in it needs escaping, else through encoding/json.
func appendJSONString(buf []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == '"' || c == '\\' {
				return appendEncoded(buf, s)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || r == '\u2028' || r == '\u2029' {
			return appendEncoded(buf, s) // encoding/json escapes these
		}
		i += size
	}
	buf = append(buf, '"')
	buf = append(buf, s...)
	return append(buf, '"')
}

// appendEncoded is encoding/json's encoding of s without HTML escaping.
func appendEncoded(buf []byte, s string) []byte {
	w := bytes.NewBuffer(buf)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string: never fails
	out := w.Bytes()
	return out[:len(out)-1] // Encode's newline
}
