package sessionizer

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/teller-analytics/teller/pkg/enrich"
	"github.com/teller-analytics/teller/pkg/event"
	"github.com/teller-analytics/teller/pkg/session"
	"github.com/teller-analytics/teller/pkg/site"
	"github.com/teller-analytics/teller/pkg/store"
)

// fixtureSites knows every site as shop.example, the fixture's domain.
type fixtureSites struct{}

func (fixtureSites) Lookup(id string) (site.Site, bool) {
	return site.Site{ID: id, Domains: []string{"shop.example"}}, true
}

func (fixtureSites) Session(string) (*time.Location, session.SiteOptions, bool) {
	return time.UTC, session.SiteOptions{}, true
}

// fixtureEvents are pkg/enrich's fixture (testdata/events.json there).
func fixtureEvents(tb testing.TB) []event.Event {
	b, err := os.ReadFile("../enrich/testdata/events.json")
	if err != nil {
		tb.Fatal(err)
	}
	var evs []event.Event
	if err := json.Unmarshal(b, &evs); err != nil {
		tb.Fatal(err)
	}
	validate(tb, evs)
	return evs
}

// validate checks the events as event.Unmarshal does for every message.
func validate(tb testing.TB, evs []event.Event) {
	for i := range evs {
		if err := evs[i].Validate(); err != nil {
			tb.Fatal(err)
		}
	}
}

// BenchmarkEnricherRow measures the event-to-row mapping alone (user agents
// cached after the first round, as in production): "mix" is the throughput
// benchmark's mix of events, "fixture" pkg/enrich's campaign-heavy fixture.
func BenchmarkEnricherRow(b *testing.B) {
	for _, bc := range []struct {
		name string
		evs  []event.Event
	}{{"mix", benchEvents(1000)}, {"fixture", fixtureEvents(b)}} {
		b.Run(bc.name, func(b *testing.B) {
			e := newEnricher(fixtureSites{})
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				r := e.row(&bc.evs[i%len(bc.evs)])
				withSession(&r, session.Assignment{})
				i++
			}
		})
	}
}

// TestEnricherRow: the row is pkg/enrich's, plus the session decision; the
// campaign the split compares is the one the row's columns hold.
func TestEnricherRow(t *testing.T) {
	e := newEnricher(fixtureSites{})
	pipe := enrich.NewPipe(enrich.StandardSteps(enrich.NewUAParser(0))...)
	a := session.Assignment{SessionID: uuid.MustParse("5e55105e-0000-4000-8000-000000000001"), StartMs: 1772445600000,
		Reason: session.Inactivity, Opens: true, Late: true, Bridging: true}
	evs := fixtureEvents(t)
	for i := range evs {
		ev := &evs[i]
		got := e.row(ev)
		withSession(&got, a)
		want := pipe.Row(ev, []string{"shop.example"})
		want.SessionID, want.SessionStartedMs, want.SessionStartReason = a.SessionID, a.StartMs, a.Reason.String()
		want.IsSessionStart, want.IsLate, want.IsBridging = true, true, true
		want.Country = ev.Country
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %+v\nwant %+v", ev.URL, got, want)
		}
		// The split's key is made of the stored columns, which hold the
		// campaign parser's reading of the URL.
		c := enrich.CampaignOf(ev)
		if want := session.CampaignKey(c.Source, c.Medium, c.Name, c.Term, c.Content, c.ClickIDType); campaignKey(&got) != want {
			t.Errorf("%s: split key of the row %x, of the parsed campaign %+v %x", ev.URL, campaignKey(&got), c, want)
		}
	}
}

// The collector's country reaches the events row, the session's facts and
// its version row (the entry's).
func TestEnricherCountry(t *testing.T) {
	e := newEnricher(fixtureSites{})
	ev := fixtureEvents(t)[0]
	ev.Country = "DE"
	r := e.row(&ev)
	if r.Country != "DE" {
		t.Fatalf("row country %q", r.Country)
	}
	if f := factsOf(&r); f.Attrs.Country != "DE" {
		t.Fatalf("facts country %q", f.Attrs.Country)
	}
	withSession(&r, session.Assignment{SessionID: uuid.New(), StartMs: r.TimeMs, Reason: session.FirstVisit, Opens: true})
	v, err := SessionVersions([]store.EventRow{r})
	if err != nil || len(v) != 1 || v[0].Country != "DE" {
		t.Fatalf("session version %+v, %v", v, err)
	}
}

// benchEvents are n events of BenchmarkSessionizerThroughput's mix (pageviews
// with search, social, campaign and internal referrers; custom and engagement
// events), n/8 visitors over about an hour, in time order.
func benchEvents(n int) []event.Event {
	uas := []string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Safari/537.36",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Safari/537.36",
		"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Mobile Safari/537.36",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.5 Mobile/15E148 Safari/604.1",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.5 Safari/605.1.15",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:140.0) Gecko/20100101 Firefox/140.0",
		"Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0",
		"Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.7204.100 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
	}
	paths := []string{"/", "/pricing", "/features", "/docs", "/docs/getting-started", "/blog", "/blog/launch", "/about", "/signup"}
	r := rand.New(rand.NewPCG(1, 2))
	visitors := make([]uuid.UUID, max(n/8, 1))
	for i := range visitors {
		visitors[i] = uuid.NewSHA1(uuid.NameSpaceOID, []byte("bench-visitor-"+strconv.Itoa(i)))
	}
	base := time.Date(2026, 5, 4, 8, 0, 0, 0, time.UTC).UnixMilli()
	evs := make([]event.Event, n)
	for i := range evs {
		v := r.IntN(len(visitors))
		path := paths[r.IntN(len(paths))]
		u := "https://bench.example" + path
		ev := event.Event{V: event.Version, ID: uuid.NewSHA1(uuid.NameSpaceURL, []byte("bench-event-"+strconv.Itoa(i))),
			Site: "bench", Visitor: visitors[v], ReceivedMs: base + int64(i)*18, UserAgent: uas[v%len(uas)],
			Title: strings.TrimPrefix(path, "/") + " – Bench", ScreenWidth: 1440, ScreenHeight: 900}
		switch k := r.IntN(100); {
		case k < 72:
			ev.Kind, ev.Name = event.KindPageview, "pageview"
			switch ref := r.IntN(100); {
			case ref < 30:
				ev.Referrer = "https://www.google.com/"
			case ref < 40:
				ev.Referrer = "https://t.co/"
			case ref < 45:
				u += "?utm_source=newsletter&utm_medium=email&utm_campaign=monthly-digest"
				ev.Campaign = event.Campaign{Source: "newsletter", Medium: "email", Name: "monthly-digest"}
			case ref < 75:
				ev.Referrer = "https://bench.example" + paths[r.IntN(len(paths))]
			}
		case k < 80:
			ev.Kind, ev.Name, ev.Props = event.KindCustom, "Signup", map[string]string{"plan": "pro"}
		default:
			ev.Kind, ev.Name, ev.EngagedMs, ev.ScrollDepth = event.KindEngagement, "engagement", 1000+r.Int64N(60_000), 1+r.IntN(100)
		}
		ev.URL = u
		evs[i] = ev
	}
	return evs
}
