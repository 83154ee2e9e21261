package enrich

import (
	"bytes"
	"encoding/json"
	"net/url"
	"os"
	"reflect"
	"testing"

	"github.com/google/uuid"

	"github.com/teller-analytics/teller/pkg/enrich/campaign"
	"github.com/teller-analytics/teller/pkg/event"
	"github.com/teller-analytics/teller/pkg/store"
)

var shopHosts = []string{"shop.example"}

// testEvent is a valid page view of shop.example, validated as the
// sessionizer's event.Unmarshal does.
func testEvent(t testing.TB, pageURL, referrer string) *event.Event {
	t.Helper()
	ev := &event.Event{V: event.Version, ID: uuid.MustParse("0b5a6a36-0c55-4b6b-9e0a-1d1c37e5a111"), Site: "shop",
		Visitor: uuid.MustParse("6f1d8c52-4a8e-4f0e-8d5c-2f5a0c4b9e22"), ReceivedMs: 1772445600000,
		Kind: event.KindPageview, Name: "pageview", URL: pageURL, Referrer: referrer,
		UserAgent: "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"}
	if u, err := url.Parse(pageURL); err == nil {
		ev.Campaign = campaign.FromQuery(u.RawQuery) // what the collector sends
	}
	if err := ev.Validate(); err != nil {
		t.Fatal(err)
	}
	return ev
}

// TestCampaignColumnsAndChannelAgree is the one-parser check: for each
// landing URL, the campaign the collector puts on the wire, the columns the
// row stores, the campaign the session split compares (CampaignOf) and the
// channel and source all come from the same reading of the URL.
func TestCampaignColumnsAndChannelAgree(t *testing.T) {
	tests := []struct {
		name, url, referrer string
		campaign            event.Campaign
		source, channel     string
	}{
		// The three rows of issue 7, where the copies disagreed.
		{"ref is utm_source", "https://shop.example/?ref=newsletter", "",
			event.Campaign{Source: "newsletter"}, "newsletter", ChannelEmail},
		{"gbraid is a click id", "https://shop.example/?gbraid=abc", "",
			event.Campaign{ClickIDType: "gbraid"}, "Google", ChannelPaidSearch},
		{"names in capitals", "https://shop.example/?UTM_SOURCE=google&utm_medium=cpc", "",
			event.Campaign{Source: "google", Medium: "cpc"}, "Google", ChannelPaidSearch},

		{"mixed case", "https://shop.example/?Utm_Source=Bing&UTM_MEDIUM=PPC&utm_Campaign=Spring", "",
			event.Campaign{Source: "Bing", Medium: "PPC", Name: "Spring"}, "Bing", ChannelPaidSearch},
		{"ref with utm_source present", "https://shop.example/?ref=blog&utm_source=reddit", "",
			event.Campaign{Source: "reddit"}, "Reddit", ChannelOrganicSocial},
		{"ref naming a service", "https://shop.example/?REF=bluesky", "",
			event.Campaign{Source: "bluesky"}, "Bluesky", ChannelOrganicSocial},
		{"encoded values", "https://shop.example/?utm_source=fb&utm_medium=Paid%20Social&utm_campaign=caf%C3%A9+au+lait", "",
			event.Campaign{Source: "fb", Medium: "Paid Social", Name: "café au lait"}, "Facebook", ChannelPaidSocial},
		{"trimmed values", "https://shop.example/?utm_source=+Partner+&utm_medium=%20email%20", "",
			event.Campaign{Source: "Partner", Medium: "email"}, "partner", ChannelEmail},
		{"duplicate params", "https://shop.example/?utm_medium=&utm_medium=email&utm_medium=cpc&utm_source=news", "",
			event.Campaign{Source: "news", Medium: "email"}, "news", ChannelEmail},
		{"fragment is not a campaign", "https://shop.example/#utm_source=google&utm_medium=cpc", "",
			event.Campaign{}, "", ChannelDirect},
		{"fragment after the query", "https://shop.example/?utm_source=newsletter#utm_medium=cpc", "",
			event.Campaign{Source: "newsletter"}, "newsletter", ChannelEmail},
		{"unknown source on a search referrer", "https://shop.example/?utm_source=partner", "https://www.google.com/",
			event.Campaign{Source: "partner"}, "partner", ChannelOrganicSearch},
		{"nothing", "https://shop.example/pricing", "", event.Campaign{}, "", ChannelDirect},
	}
	// Every click id of the table, in capitals, where no other rule applies.
	for _, id := range campaign.ClickIDs() {
		channel := adChannel(id.Ad)
		if channel == "" {
			channel = ChannelOrganicSocial // fbclid: Meta's apps, no ad
		}
		tests = append(tests, struct {
			name, url, referrer string
			campaign            event.Campaign
			source, channel     string
		}{"click id " + id.Param, "https://shop.example/?" + id.Param + "=X1&" + "Q=1", "",
			event.Campaign{ClickIDType: id.Param}, id.Network, channel})
	}

	pipe := NewPipe(StandardSteps(NewUAParser(0))...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := testEvent(t, tt.url, tt.referrer)
			if ev.Campaign != tt.campaign {
				t.Errorf("collector's campaign %+v, want %+v", ev.Campaign, tt.campaign)
			}
			row := pipe.Row(ev, shopHosts)
			stored := event.Campaign{Source: row.UTMSource, Medium: row.UTMMedium, Name: row.UTMCampaign,
				Term: row.UTMTerm, Content: row.UTMContent, ClickIDType: row.ClickIDType}
			if stored != tt.campaign {
				t.Errorf("stored columns %+v, want %+v", stored, tt.campaign)
			}
			if split := CampaignOf(ev); split != tt.campaign {
				t.Errorf("campaign split compares %+v, want %+v", split, tt.campaign)
			}
			if row.ReferrerSource != tt.source || row.Channel != tt.channel {
				t.Errorf("source %q, channel %q; want %q, %q", row.ReferrerSource, row.Channel, tt.source, tt.channel)
			}
			if ref := ClassifyReferrer(tt.referrer, tt.url, shopHosts); ref != (Referrer{row.ReferrerDomain, row.ReferrerSource, row.Channel}) {
				t.Errorf("ClassifyReferrer says %+v, the row %q %q %q", ref, row.ReferrerDomain, row.ReferrerSource, row.Channel)
			}
		})
	}
}

// TestCampaignOf: the URL is read again, so an event from an older collector
// (or another producer) gets today's reading; its own Campaign counts only
// when the URL carries none.
func TestCampaignOf(t *testing.T) {
	tests := []struct {
		name, url  string
		sent, want event.Campaign
	}{
		{"URL beats what an old collector sent", "https://shop.example/?gbraid=1&UTM_SOURCE=g",
			event.Campaign{}, event.Campaign{Source: "g", ClickIDType: "gbraid"}},
		{"URL beats a differing Campaign", "https://shop.example/?utm_source=url",
			event.Campaign{Source: "sent", Medium: "email"}, event.Campaign{Source: "url"}},
		{"Campaign when the URL has none", "https://shop.example/?plan=pro",
			event.Campaign{Source: " crm ", Medium: "email", ClickIDType: "GCLID"}, event.Campaign{Source: "crm", Medium: "email", ClickIDType: "gclid"}},
		{"nothing anywhere", "https://shop.example/", event.Campaign{}, event.Campaign{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := testEvent(t, tt.url, "")
			ev.Campaign = tt.sent
			if got := CampaignOf(ev); got != tt.want {
				t.Errorf("CampaignOf = %+v, want %+v", got, tt.want)
			}
			if got := NewPage(ev, nil).Campaign; got != tt.want {
				t.Errorf("NewPage(...).Campaign = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// The step tests run each step alone on an empty row: a step fills its own
// columns and no others.

func TestPageURLStep(t *testing.T) {
	tests := []struct{ url, host, path string }{
		{"https://shop.example/", "shop.example", "/"},
		{"https://shop.example", "shop.example", "/"},
		{"https://Shop.EXAMPLE:8443/Pricing?x=1#top", "shop.example", "/Pricing"},
		{"https://shop.example/a%20b/c%2Fd", "shop.example", "/a%20b/c%2Fd"},
		{"https://shop.example/caf%C3%A9", "shop.example", "/caf%C3%A9"},
	}
	for _, tt := range tests {
		ev := testEvent(t, tt.url, "")
		page := NewPage(ev, nil)
		var row store.EventRow
		PageURLStep{}.Apply(ev, &page, &row)
		if want := (store.EventRow{Hostname: tt.host, Pathname: tt.path}); !reflect.DeepEqual(row, want) {
			t.Errorf("%s: %+v", tt.url, row)
		}
	}
}

func TestCampaignStep(t *testing.T) {
	page := Page{Campaign: event.Campaign{Source: "s", Medium: "m", Name: "n", Term: "t", Content: "c", ClickIDType: "gclid"}}
	var row store.EventRow
	CampaignStep{}.Apply(&event.Event{}, &page, &row)
	want := store.EventRow{UTMSource: "s", UTMMedium: "m", UTMCampaign: "n", UTMTerm: "t", UTMContent: "c", ClickIDType: "gclid"}
	if !reflect.DeepEqual(row, want) {
		t.Errorf("%+v", row)
	}
}

func TestReferrerStep(t *testing.T) {
	tests := []struct {
		referrer string
		page     Page
		want     store.EventRow
	}{
		{"", Page{Host: "shop.example"}, store.EventRow{Channel: ChannelDirect}},
		{"https://www.google.com/", Page{Host: "shop.example"}, store.EventRow{ReferrerDomain: "google.com", ReferrerSource: "Google", Channel: ChannelOrganicSearch}},
		{"https://docs.shop.example/x", Page{Host: "other.example", SiteHosts: shopHosts}, store.EventRow{ReferrerDomain: "docs.shop.example", ReferrerSource: "docs.shop.example", Channel: ChannelInternal}},
		{"https://shop.example/", Page{Host: "Shop.Example"}, store.EventRow{ReferrerDomain: "shop.example", ReferrerSource: "shop.example", Channel: ChannelInternal}},
		// The page's campaign, not a URL, decides: the step never reads ev.URL.
		{"", Page{Host: "shop.example", Campaign: event.Campaign{Source: "newsletter"}}, store.EventRow{ReferrerSource: "newsletter", Channel: ChannelEmail}},
		{"", Page{Host: "shop.example", Campaign: event.Campaign{ClickIDType: "gbraid"}}, store.EventRow{ReferrerSource: "Google", Channel: ChannelPaidSearch}},
	}
	for _, tt := range tests {
		ev := &event.Event{Referrer: tt.referrer, URL: "https://unrelated.example/?utm_medium=cpc"}
		var row store.EventRow
		ReferrerStep{}.Apply(ev, &tt.page, &row)
		if !reflect.DeepEqual(row, tt.want) {
			t.Errorf("%q %+v:\n got %+v\nwant %+v", tt.referrer, tt.page, row, tt.want)
		}
	}
}

func TestUserAgentStep(t *testing.T) {
	step := UserAgentStep{Parser: NewUAParser(0)}
	tests := []struct {
		ua   string
		want store.EventRow
	}{
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Safari/537.36",
			store.EventRow{Browser: "Chrome", BrowserVersion: "138", OS: "Windows", Device: DeviceDesktop}},
		{"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
			store.EventRow{Device: DeviceBot, IsBot: true, BotReason: "crawler:Googlebot"}},
		{"", store.EventRow{Device: DeviceBot, IsBot: true, BotReason: BotReasonEmpty}},
	}
	for _, tt := range tests {
		var row store.EventRow
		step.Apply(&event.Event{UserAgent: tt.ua}, &Page{}, &row)
		if !reflect.DeepEqual(row, tt.want) {
			t.Errorf("%q:\n got %+v\nwant %+v", tt.ua, row, tt.want)
		}
	}
}

func TestPropsStep(t *testing.T) {
	tests := []struct {
		props        map[string]string
		keys, values []string
	}{
		{nil, nil, nil},
		{map[string]string{}, nil, nil},
		{map[string]string{"plan": "pro"}, []string{"plan"}, []string{"pro"}},
		{map[string]string{"b": "2", "a": "1", "c": "3"}, []string{"a", "b", "c"}, []string{"1", "2", "3"}},
	}
	for _, tt := range tests {
		for range 5 { // map order varies; the row must not
			var row store.EventRow
			PropsStep{}.Apply(&event.Event{Props: tt.props}, &Page{}, &row)
			if !reflect.DeepEqual(row, store.EventRow{PropsKeys: tt.keys, PropsValues: tt.values}) {
				t.Fatalf("%v: %q %q", tt.props, row.PropsKeys, row.PropsValues)
			}
		}
	}
}

func fixtureEvents(t testing.TB) []event.Event {
	t.Helper()
	b, err := os.ReadFile("testdata/events.json")
	if err != nil {
		t.Fatal(err)
	}
	var evs []event.Event
	if err := json.Unmarshal(b, &evs); err != nil {
		t.Fatal(err)
	}
	for i := range evs {
		if err := evs[i].Validate(); err != nil {
			t.Fatal(err)
		}
	}
	return evs
}

// TestPipeGolden maps testdata/events.json (page views, custom and
// engagement events; search, social, internal and app referrers; campaigns
// in every spelling; browsers, bots, curl and no user agent) to rows and
// compares them with testdata/rows.golden.json, so that a change to any
// column is deliberate (run with -update and review the diff). The events'
// Campaign fields are what the collector before issue 7 sent: the rows read
// the URL again.
func TestPipeGolden(t *testing.T) {
	evs := fixtureEvents(t)
	pipe := NewPipe(StandardSteps(NewUAParser(0))...)
	rows := make([]store.EventRow, len(evs))
	for i := range evs {
		rows[i] = pipe.Row(&evs[i], shopHosts)
	}
	got, err := json.MarshalIndent(rows, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	const golden = "testdata/rows.golden.json"
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("rows differ from %s (run go test -update and review the diff):\n%s", golden, got)
	}
	// The scratch the pipe recycles leaks nothing from one event to the
	// next: the same events in reverse order give the same rows.
	for i := len(evs) - 1; i >= 0; i-- {
		if r := pipe.Row(&evs[i], shopHosts); !reflect.DeepEqual(r, rows[i]) {
			t.Errorf("event %d mapped after event %d differs:\n got %+v\nwant %+v", i, i+1, r, rows[i])
		}
	}
}

func TestPipeRunsEveryStep(t *testing.T) {
	var calls []string
	pipe := NewPipe(recordStep{"a", &calls}, recordStep{"b", &calls})
	row := pipe.Row(testEvent(t, "https://shop.example/x", ""), nil)
	if !reflect.DeepEqual(calls, []string{"a", "b"}) || row.Title != "b" {
		t.Errorf("calls %v, row title %q", calls, row.Title)
	}
	if row.URL != "https://shop.example/x" || row.Hostname != "" {
		t.Errorf("the pipe's own fields: %+v", row)
	}
}

type recordStep struct {
	name  string
	calls *[]string
}

func (s recordStep) Apply(_ *event.Event, page *Page, row *store.EventRow) {
	*s.calls = append(*s.calls, s.name)
	if page.Host != "shop.example" {
		panic("the page was not parsed before the steps")
	}
	row.Title = s.name
}

func BenchmarkPipeRow(b *testing.B) {
	evs := fixtureEvents(b)
	pipe := NewPipe(StandardSteps(NewUAParser(0))...)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		_ = pipe.Row(&evs[i%len(evs)], shopHosts)
		i++
	}
}
