package dashbench

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/teller-analytics/teller/internal/loadgen"
	"github.com/teller-analytics/teller/pkg/enrich/campaign"
	"github.com/teller-analytics/teller/pkg/event"
	"github.com/teller-analytics/teller/pkg/site"
)

// Traffic describes a data set: how many events, over how many sites and
// days. The same Traffic (seed included) always yields the same events.
type Traffic struct {
	// Events is the number of distinct events written (exactly, unless the
	// days run out first: then Generate reports fewer).
	Events int
	// Sites is the number of sites; the first, LargestSite, holds
	// LargestShare of the events and the others share the rest on a Zipf
	// curve.
	Sites int
	// LargestShare is the share of events of the largest site (0..1).
	LargestShare float64
	// Days is how many days the events span, ending the day before End.
	Days int
	// End is midnight UTC after the last day.
	End time.Time
	// DuplicateShare is the share of events published twice in a row, as a
	// producer retry does (at-least-once delivery); they count once.
	DuplicateShare float64
	// Seed makes the data set reproducible.
	Seed uint64
}

// LargestSite is the id of the site with the most events.
const LargestSite = "site00"

// DefaultEnd is the End of the recorded runs: the data set covers the 90
// days up to 2026-11-30.
var DefaultEnd = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

// withDefaults fills zero fields and checks the rest.
func (t Traffic) withDefaults() (Traffic, error) {
	if t.Sites == 0 {
		t.Sites = 50
	}
	if t.LargestShare == 0 {
		t.LargestShare = 0.2
	}
	if t.Days == 0 {
		t.Days = 90
	}
	if t.End.IsZero() {
		t.End = DefaultEnd
	}
	if t.Seed == 0 {
		t.Seed = 1
	}
	switch {
	case t.Events <= 0:
		return t, fmt.Errorf("dashbench: events must be positive, not %d", t.Events)
	case t.Sites < 1 || t.Sites > 1000:
		return t, fmt.Errorf("dashbench: sites must be 1..1000, not %d", t.Sites)
	case t.LargestShare <= 0 || t.LargestShare > 1:
		return t, fmt.Errorf("dashbench: largest share must be in (0, 1], not %g", t.LargestShare)
	case t.Days < 1 || t.Days > 3660:
		return t, fmt.Errorf("dashbench: days must be 1..3660, not %d", t.Days)
	case t.DuplicateShare < 0 || t.DuplicateShare > 0.5:
		return t, fmt.Errorf("dashbench: duplicate share must be in [0, 0.5], not %g", t.DuplicateShare)
	case !t.End.Equal(t.End.UTC().Truncate(24 * time.Hour)):
		return t, errors.New("dashbench: end must be a midnight UTC")
	}
	return t, nil
}

// Validate reports what is wrong with t, before anything is started.
func (t Traffic) Validate() error {
	_, err := t.withDefaults()
	return err
}

// Start is midnight UTC of the first day.
func (t Traffic) Start() time.Time { return t.End.AddDate(0, 0, -t.Days) }

// zones are the sites' time zones in turn; the largest site is in Berlin,
// so its report days are not UTC days.
var zones = []string{"Europe/Berlin", "UTC", "America/New_York", "Asia/Tokyo", "Europe/London", "America/Los_Angeles"}

// SiteList returns the sites of the data set with their share of events.
func (t Traffic) SiteList() ([]site.Site, []float64) {
	t, _ = t.withDefaults()
	sites := make([]site.Site, t.Sites)
	shares := make([]float64, t.Sites)
	var rest float64
	for i := 1; i < t.Sites; i++ {
		shares[i] = 1 / math.Pow(float64(i), 0.8)
		rest += shares[i]
	}
	for i := range sites {
		id := fmt.Sprintf("site%02d", i)
		sites[i] = site.Site{ID: id, Name: id + ".example", Domains: []string{id + ".example"},
			Timezone: zones[i%len(zones)]}
		if i == 0 {
			shares[i] = t.LargestShare
			if t.Sites == 1 {
				shares[i] = 1
			}
		} else {
			shares[i] = shares[i] / rest * (1 - t.LargestShare)
		}
	}
	return sites, shares
}

// agent is a user agent with the screens its devices report.
type agent struct {
	ua      string
	weight  int
	screens [][2]int
}

// The browser mix follows internal/loadgen's (whose tables are unexported):
// desktop and mobile Chrome, Safari, Firefox, Edge, a tablet, a TV.
var (
	desktop = [][2]int{{1920, 1080}, {1536, 864}, {1440, 900}, {1366, 768}, {2560, 1440}}
	mac     = [][2]int{{1512, 982}, {1440, 900}, {1728, 1117}}
	phone   = [][2]int{{390, 844}, {393, 852}, {412, 915}, {360, 800}}
	humans  = []agent{
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Safari/537.36", 26, desktop},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Safari/537.36 Edg/138.0.0.0", 5, desktop},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Safari/537.36", 9, mac},
		{"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Mobile Safari/537.36", 20, phone},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.5 Mobile/15E148 Safari/604.1", 18, phone},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.5 Safari/605.1.15", 8, mac},
		{"Mozilla/5.0 (iPad; CPU OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.5 Mobile/15E148 Safari/604.1", 2, [][2]int{{820, 1180}}},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:140.0) Gecko/20100101 Firefox/140.0", 6, desktop},
		{"Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0", 2, desktop},
		{"Mozilla/5.0 (SMART-TV; Linux; Tizen 7.0) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/5.0 Chrome/94.0.4606.31 TV Safari/537.36", 1, [][2]int{{1920, 1080}}},
	}
	bots = []agent{
		{"Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.7204.100 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", 4, [][2]int{{412, 732}}},
		{"Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm) Chrome/116.0.1938.76 Safari/537.36", 2, nil},
		{"Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)", 2, nil},
		{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/138.0.0.0 Safari/537.36", 2, [][2]int{{800, 600}}},
	}
)

// botShare is the share of visitors that are bots running the snippet.
const botShare = 0.03

// source is where a visit comes from: the landing page view's referrer and
// the campaign parameters on its URL.
type source struct {
	weight    int
	referrers []string
	query     string
}

var sources = []source{
	{38, []string{""}, ""},
	{25, []string{"https://www.google.com/"}, ""},
	{4, []string{"https://www.bing.com/"}, ""},
	{3, []string{"https://duckduckgo.com/"}, ""},
	{10, []string{"https://t.co/", "https://www.facebook.com/", "https://www.linkedin.com/", "https://www.reddit.com/", "https://news.ycombinator.com/"}, ""},
	{3, []string{"https://chatgpt.com/", "https://www.perplexity.ai/"}, ""},
	{5, []string{"https://github.com/teller-analytics/teller", "https://blog.example.org/2026/analytics", "https://en.wikipedia.org/wiki/Web_analytics"}, ""},
	{7, []string{""}, "utm_source=newsletter&utm_medium=email&utm_campaign=monthly-digest"},
	{5, []string{"https://www.google.com/"}, "utm_source=google&utm_medium=cpc&utm_campaign=brand&gclid=EAIaIQobChMI"},
}

// pagesPerVisit weighs visits of 1..10 page views: many bounces, a long tail.
var pagesPerVisit = []int{50, 20, 10, 7, 5, 3, 2, 1, 1, 1}

// customShare is the share of human visits with a custom event;
// engagedShare those whose last page sends an engagement event.
const customShare, engagedShare = 0.2, 0.85

// returnShare is the chance that a visitor comes back after a visit.
const returnShare = 0.45

// hourWeight is the traffic by local hour: low at night, high in the
// afternoon and evening.
var hourWeight = [24]int{3, 2, 1, 1, 1, 2, 4, 7, 10, 12, 13, 13, 12, 13, 13, 13, 12, 12, 12, 12, 11, 9, 7, 5}

// eventsPerVisit is the mean of the visit model, to size the visits.
func eventsPerVisit() float64 {
	var pages, n float64
	for i, w := range pagesPerVisit {
		pages += float64((i+1)*w) / 100
		n += float64(w) / 100
	}
	pages /= n
	bot := 2.0 // bots see 1..3 pages and send nothing else
	return (1-botShare)*(pages+customShare+engagedShare) + botShare*bot
}

// visitor is one browser: a cookie and a user agent.
type visitor struct {
	id     uuid.UUID
	agent  *agent
	screen [2]int
	bot    bool
	visits int
}

// visit is a planned visit of a visitor to a site.
type visit struct {
	site  int
	at    int64 // ms
	who   *visitor
	first bool // the visitor's first visit: the collector mints its cookie
}

// generator draws the data set day by day.
type generator struct {
	t       Traffic
	r       *rand.Rand
	sites   []site.Site
	shares  []float64
	paths   []string
	zones   []*time.Location
	pending map[int][]visit // by day index: returns already planned
	carry   []event.Event   // events of visits that run past midnight
	emitted int
}

// paths are the pages of each site: the load generator's plus a blog and
// docs with a long tail.
func sitePaths() []string {
	p := append([]string{}, loadgen.DefaultPaths...)
	for i := 1; i <= 60; i++ {
		p = append(p, "/blog/post-"+strconv.Itoa(i))
	}
	for i := 1; i <= 40; i++ {
		p = append(p, "/docs/page-"+strconv.Itoa(i))
	}
	return p
}

// Generate calls emit once per day of the data set with that day's events
// in time order (received_ms, then id), duplicates included right after
// their original. It stops early with emit's error.
func (t Traffic) Generate(emit func(day time.Time, events []event.Event) error) (int, error) {
	t, err := t.withDefaults()
	if err != nil {
		return 0, err
	}
	g := &generator{t: t, r: rand.New(rand.NewPCG(t.Seed, 0x7e11e7)), paths: sitePaths(), pending: map[int][]visit{}}
	g.sites, g.shares = t.SiteList()
	for _, s := range g.sites {
		g.zones = append(g.zones, s.Location())
	}
	perVisit := eventsPerVisit()
	start := t.Start()
	// scale corrects the model's mean by what was drawn so far (bias), so
	// that the data set reaches Events on its last day, not before.
	weekday := func(day time.Time) float64 {
		if wd := day.Weekday(); wd == time.Saturday || wd == time.Sunday {
			return 0.75 * 7 / 6.5
		}
		return 7 / 6.5
	}
	var wantTotal, wantSoFar, wantScaled float64
	for d := range t.Days {
		wantTotal += float64(t.Events) / perVisit / float64(t.Days) * weekday(start.AddDate(0, 0, d))
	}
	scale := 1.0
	for d := 0; d < t.Days && g.emitted < t.Events; d++ {
		day := start.AddDate(0, 0, d)
		dayEnd := day.AddDate(0, 0, 1).UnixMilli()
		visits := g.pending[d]
		delete(g.pending, d)
		// New visitors make up the visits returns do not: the expected
		// returns per day, once the data set is in its steady state, are
		// returnShare of all visits.
		for si := range g.sites {
			want := float64(t.Events) * g.shares[si] / perVisit / float64(t.Days) * weekday(day)
			wantSoFar += want
			wantScaled += want * scale
			fresh := g.poisson(want * (1 - returnShare) * scale)
			for range fresh {
				v := &visitor{id: g.uuid()}
				v.bot = g.r.Float64() < botShare
				pool := humans
				if v.bot {
					pool = bots
				}
				v.agent = &pool[loadgen.Pick(g.r, loadgen.Indices(len(pool)), func(i int) int { return pool[i].weight })]
				if len(v.agent.screens) > 0 {
					v.screen = v.agent.screens[g.r.IntN(len(v.agent.screens))]
				}
				visits = append(visits, visit{site: si, at: g.timeOfDay(day, g.zones[si]), who: v, first: true})
			}
		}
		var events []event.Event
		events = append(events, g.carry...)
		g.carry = g.carry[:0]
		// Returns later the same day join this loop; later ones wait for
		// their day.
		for i := 0; i < len(visits); i++ {
			v := visits[i]
			end := g.visitEvents(v, &events)
			if g.r.Float64() >= returnShare {
				continue
			}
			at := end + g.pause()
			nv := visit{site: v.site, at: at, who: v.who}
			switch rd := int((at - start.UnixMilli()) / 86_400_000); {
			case rd == d:
				visits = append(visits, nv)
			case rd < t.Days:
				g.pending[rd] = append(g.pending[rd], nv)
			}
		}
		slices.SortFunc(events, func(a, b event.Event) int {
			return cmp.Or(cmp.Compare(a.ReceivedMs, b.ReceivedMs), bytes.Compare(a.ID[:], b.ID[:]))
		})
		cut, _ := slices.BinarySearchFunc(events, dayEnd, func(e event.Event, ms int64) int { return cmp.Compare(e.ReceivedMs, ms) })
		g.carry = append(g.carry, events[cut:]...)
		events = events[:cut]
		if rest := t.Events - g.emitted; len(events) > rest {
			events = events[:rest]
		}
		g.emitted += len(events)
		if rest := wantTotal - wantSoFar; g.emitted > 0 && rest > 0 {
			bias := float64(g.emitted) / perVisit / wantScaled
			scale = min(max(float64(t.Events-g.emitted)/perVisit/(rest*bias), 0.5), 2)
		}
		if err := emit(day, g.duplicate(events)); err != nil {
			return g.emitted, err
		}
	}
	return g.emitted, nil
}

// duplicate repeats a share of the events right after themselves.
func (g *generator) duplicate(events []event.Event) []event.Event {
	if g.t.DuplicateShare == 0 {
		return events
	}
	out := make([]event.Event, 0, len(events)+int(float64(len(events))*g.t.DuplicateShare*2)+1)
	for _, e := range events {
		out = append(out, e)
		if g.r.Float64() < g.t.DuplicateShare {
			out = append(out, e)
		}
	}
	return out
}

// visitEvents appends the events of v and returns the time of its last.
func (g *generator) visitEvents(v visit, out *[]event.Event) int64 {
	r, who := g.r, v.who
	s := g.sites[v.site]
	origin := "https://" + s.Domains[0]
	pages := 1 + loadgen.Pick(r, loadgen.Indices(len(pagesPerVisit)), func(i int) int { return pagesPerVisit[i] })
	src := loadgen.Pick(r, sources, func(s source) int { return s.weight })
	referrer, query := src.referrers[r.IntN(len(src.referrers))], src.query
	if who.bot {
		pages, referrer, query = 1+r.IntN(3), "", ""
	}
	custom := -1
	if !who.bot && r.Float64() < customShare {
		custom = r.IntN(pages)
	}
	at := v.at
	var pageURL, title string
	newVisitor := v.first
	base := func(kind event.Kind, name string) event.Event {
		e := event.Event{V: event.Version, ID: g.uuid(), Site: s.ID, Visitor: who.id, NewVisitor: newVisitor,
			ReceivedMs: at, Kind: kind, Name: name, URL: pageURL, Title: title, UserAgent: who.agent.ua,
			ScreenWidth: who.screen[0], ScreenHeight: who.screen[1]}
		newVisitor = false                     // the collector set the cookie on its answer
		e.Campaign = campaign.FromURL(pageURL) // as the collector fills it
		return e
	}
	for i := 0; i < pages; i++ {
		if i > 0 {
			// Think time: mostly under a minute, sometimes several.
			at += 1000 + int64(r.ExpFloat64()*40_000)
		}
		path := g.path(i == 0)
		if i == 0 && query != "" {
			path += "?" + query
		}
		pageURL, title = origin+path, loadgen.TitleOf(path)
		e := base(event.KindPageview, "pageview")
		e.Referrer = referrer
		*out = append(*out, e)
		referrer = pageURL
		if i == custom {
			at += 2000 + r.Int64N(20_000)
			e := base(event.KindCustom, "")
			switch r.IntN(3) {
			case 0:
				e.Name, e.Props = "Signup", map[string]string{"plan": []string{"free", "pro", "team"}[r.IntN(3)]}
			case 1:
				e.Name, e.Props = "Outbound Link: Click", map[string]string{"url": "https://github.com/teller-analytics/teller"}
			default:
				e.Name, e.Props = "File Download", map[string]string{"url": origin + "/files/whitepaper.pdf"}
			}
			*out = append(*out, e)
		}
	}
	if !who.bot && r.Float64() < engagedShare {
		engaged := 1000 + int64(r.ExpFloat64()*15_000)
		at += engaged
		e := base(event.KindEngagement, "engagement")
		e.EngagedMs, e.ScrollDepth = engaged, 10+r.IntN(91)
		*out = append(*out, e)
	}
	who.visits++
	return at
}

// pause is the time until a visitor's next visit: the same day after more
// than the inactivity gap, later that day, within the week or the month.
func (g *generator) pause() int64 {
	const minute, hour, day = 60_000, 3_600_000, 86_400_000
	r := g.r
	switch k := r.Float64(); {
	case k < 0.25:
		return 35*minute + r.Int64N(145*minute)
	case k < 0.5:
		return 3*hour + r.Int64N(21*hour)
	case k < 0.85:
		return day + r.Int64N(6*day)
	default:
		return 7*day + r.Int64N(23*day)
	}
}

// path draws a page, the home page and the blog most often; landings favour
// the home page.
func (g *generator) path(landing bool) string {
	if landing && g.r.IntN(3) == 0 {
		return "/"
	}
	// A Zipf-like rank: small indices far more often.
	i := int(math.Floor(math.Pow(g.r.Float64(), 2.2) * float64(len(g.paths))))
	return g.paths[min(i, len(g.paths)-1)]
}

// timeOfDay draws an instant of day (a UTC midnight) weighted by the site's
// local hour.
func (g *generator) timeOfDay(day time.Time, loc *time.Location) int64 {
	for {
		ms := g.r.Int64N(86_400_000)
		t := day.Add(time.Duration(ms) * time.Millisecond)
		if g.r.IntN(13) < hourWeight[t.In(loc).Hour()] {
			return t.UnixMilli()
		}
	}
}

func (g *generator) uuid() uuid.UUID {
	var u uuid.UUID
	hi, lo := g.r.Uint64(), g.r.Uint64()
	for i := range 8 {
		u[i], u[8+i] = byte(hi>>(8*i)), byte(lo>>(8*i))
	}
	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
	return u
}

// poisson draws a count with mean m (normal approximation above 50).
func (g *generator) poisson(m float64) int {
	if m > 50 {
		return max(0, int(math.Round(m+g.r.NormFloat64()*math.Sqrt(m))))
	}
	l, k, p := math.Exp(-m), 0, 1.0
	for {
		p *= g.r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}
