package collectorbench

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/teller-analytics/teller/pkg/identity"
)

// MixRequest is one request of the whole pipeline's traffic, as a page's
// fetch sends it to the collector.
type MixRequest struct {
	Body      string
	Page      string // the page's URL: the event's url and the Referer
	UserAgent string
	// Cookie is the browser's visitor cookie header value; "" for a
	// browser on its first visit (a new visitor id and a Set-Cookie).
	Cookie string
}

// mixAgents are user agents in about the shares internal/loadgen sends
// (desktop and mobile Chrome, Safari, Firefox, and a crawler, which the
// collector keeps and the sessionizer flags).
var mixAgents = []string{
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Mobile Safari/537.36",
	"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Mobile Safari/537.36",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.5 Mobile/15E148 Safari/604.1",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.5 Mobile/15E148 Safari/604.1",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.5 Safari/605.1.15",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:140.0) Gecko/20100101 Firefox/140.0",
	"Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.7204.100 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
}

// Mix returns n requests of internal/loadgen's traffic model on Origin's
// site, each from a browser of its own (its cookie and user agent), one in
// 25 on its first visit: visits' landing page views (direct, from a search
// engine or a social site, or with a newsletter's campaign), page views
// reached by a link, custom events with properties and the engagement
// event sent on leaving. Titles carry a dash, as loadgen's do. The same
// seed gives the same requests except the cookies' random visitor ids.
func Mix(n int, seed uint64) []MixRequest {
	signer, err := identity.NewSigner(Key)
	if err != nil {
		panic(err)
	}
	r := rand.New(rand.NewPCG(seed, 2))
	paths := []string{"/", "/pricing", "/docs/getting-started", "/blog/why-sessions-matter", "/features", "/docs/api", "/about"}
	landing := []struct{ referrer, query string }{
		{"", ""}, {"", ""}, {"https://www.google.com/", ""}, {"https://t.co/", ""}, {"https://news.ycombinator.com/", ""},
		{"", "utm_source=newsletter&utm_medium=email&utm_campaign=monthly-digest"},
	}
	out := make([]MixRequest, n)
	for i := range out {
		page := Origin + paths[r.IntN(len(paths))]
		var body string
		switch k := r.IntN(20); {
		case k < 5: // a visit's first page view
			l := landing[r.IntN(len(landing))]
			if l.query != "" {
				page += "?" + l.query
			}
			body = fmt.Sprintf(`{"site":%q,"kind":"pageview","name":"pageview","url":%q,"title":"Page %d – Bench","screen_width":1920,"screen_height":1080`, SiteID, page, i%97)
			if l.referrer != "" {
				body += fmt.Sprintf(`,"referrer":%q`, l.referrer)
			}
			body += "}"
		case k < 14: // a page view reached by a link
			body = fmt.Sprintf(`{"site":%q,"kind":"pageview","name":"pageview","url":%q,"title":"Page %d – Bench","screen_width":390,"screen_height":844,"referrer":%q}`, SiteID, page, i%97, Origin+"/")
		case k < 16: // a custom event with properties
			body = fmt.Sprintf(`{"site":%q,"kind":"event","name":"Signup","url":%q,"title":"Pricing – Bench","screen_width":1440,"screen_height":900,"props":{"plan":"pro"}}`, SiteID, page)
		default: // the engagement event on leaving the page
			body = fmt.Sprintf(`{"site":%q,"kind":"engagement","name":"engagement","url":%q,"title":"Page %d – Bench","screen_width":1536,"screen_height":864,"engaged_ms":%d,"scroll_depth":%d}`,
				SiteID, page, i%97, 1000+r.IntN(120_000), 10+r.IntN(91))
		}
		m := MixRequest{Body: body, Page: page, UserAgent: mixAgents[r.IntN(len(mixAgents))]}
		if i%25 != 24 {
			m.Cookie = identity.CookieName + "=" + signer.Sign(identity.NewVisitorID())
		}
		out[i] = m
	}
	return out
}

// MixHeaders are the headers a page's fetch adds to every request of the
// mix besides its own (Origin, Referer, User-Agent, Cookie).
var MixHeaders = [][2]string{{"Content-Type", "text/plain"}, {"Accept", "*/*"}, {"Accept-Language", "en-US,en;q=0.9"}, {"Accept-Encoding", "gzip"}}

// MixLua is a wrk script that sends reqs in turn, as MixRequest describes
// them, with the Origin and Referer a cross-origin fetch sends (the page's
// origin, and it with a "/"), to wrk's own Host.
func MixLua(reqs []MixRequest) string {
	lua := func(s string) string { return "[==[" + s + "]==]" }
	var b strings.Builder
	b.WriteString("-- internal/collectorbench's Mix: the whole pipeline's traffic\nreqs = {}\ninit = function(args)\n")
	for i, m := range reqs {
		fmt.Fprintf(&b, `  reqs[%d] = wrk.format("POST", "/api/event", {["Host"]=wrk.headers["Host"], ["Origin"]=%s, ["Referer"]=%s, ["User-Agent"]=%s`,
			i+1, lua(Origin), lua(Origin+"/"), lua(m.UserAgent))
		for _, h := range MixHeaders {
			fmt.Fprintf(&b, `, [%q]=%s`, h[0], lua(h[1]))
		}
		if m.Cookie != "" {
			fmt.Fprintf(&b, `, ["Cookie"]=%s`, lua(m.Cookie))
		}
		fmt.Fprintf(&b, "}, %s)\n", lua(m.Body))
	}
	fmt.Fprintf(&b, "end\ni = 0\nrequest = function()\n  i = i %% %d + 1\n  return reqs[i]\nend\n", len(reqs))
	return b.String()
}
