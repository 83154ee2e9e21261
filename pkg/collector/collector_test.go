package collector_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/segmentio/kafka-go"

	"github.com/teller-analytics/teller/internal/testenv"
	"github.com/teller-analytics/teller/pkg/bus"
	"github.com/teller-analytics/teller/pkg/collector"
	"github.com/teller-analytics/teller/pkg/config"
	"github.com/teller-analytics/teller/pkg/enrich/campaign"
	"github.com/teller-analytics/teller/pkg/event"
	"github.com/teller-analytics/teller/pkg/identity"
	"github.com/teller-analytics/teller/pkg/service"
	"github.com/teller-analytics/teller/pkg/site"
	"github.com/teller-analytics/teller/pkg/snippet"
)

// staticSites is a fixed registry: the site list is not what these tests are about.
type staticSites []site.Site

func (s staticSites) Lookup(id string) (site.Site, bool) {
	for _, x := range s {
		if x.ID == id {
			return x, true
		}
	}
	return site.Site{}, false
}
func (s staticSites) All() []site.Site { return s }

var sites = staticSites{{ID: "shop", Domains: []string{"shop.example"}, Timezone: "UTC"}}

const topic = "events"

func newServer(t *testing.T, brokers []string, now func() time.Time) *httptest.Server {
	srv, _ := newServerWithRegistry(t, brokers, now)
	return srv
}

func newServerWithRegistry(t *testing.T, brokers []string, now func() time.Time) (*httptest.Server, *prometheus.Registry) {
	return newServerWith(t, brokers, func(o *collector.Options) {
		if now != nil {
			o.SetClock(now)
		}
	})
}

// newServerWith starts a collector whose options edit changes.
func newServerWith(t *testing.T, brokers []string, edit func(*collector.Options)) (*httptest.Server, *prometheus.Registry) {
	t.Helper()
	signer, err := identity.NewSigner("collector-test-key-0123456789")
	if err != nil {
		t.Fatal(err)
	}
	p := bus.NewProducer(bus.Config{Brokers: config.StringList(brokers), Topic: topic}, testenv.Logger(t))
	t.Cleanup(func() { p.Close() })
	reg := service.NewRegistry()
	opts := collector.Options{Publisher: p, Sites: sites, Signer: signer, Snippet: snippet.Handler(),
		PublishTimeout: 3 * time.Second, Logger: testenv.Logger(t), Registerer: reg}
	if edit != nil {
		edit(&opts)
	}
	c, err := collector.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	r := service.NewEngine(testenv.Logger(t))
	c.Mount(r)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return srv, reg
}

func post(t *testing.T, client *http.Client, url, body string, header map[string]string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url+"/api/event", strings.NewReader(body))
	req.Header.Set("Content-Type", "text/plain")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// readAll reads n messages from the topic's partitions.
func readAll(t *testing.T, brokers []string, n int) []kafka.Message {
	t.Helper()
	var out []kafka.Message
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for p := 0; p < 2 && len(out) < n; p++ {
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, Topic: topic, Partition: p, MaxWait: 100 * time.Millisecond})
		conn, err := kafka.DialLeader(ctx, "tcp", brokers[0], topic, p)
		if err != nil {
			t.Fatal(err)
		}
		_, last, _ := conn.ReadOffsets()
		conn.Close()
		for i := int64(0); i < last; i++ {
			m, err := r.ReadMessage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, m)
		}
		r.Close()
	}
	return out
}

func TestCookieRoundTripAndEventContract(t *testing.T) {
	brokers := testenv.Kafka(t, topic, 2)
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	srv := newServer(t, brokers, func() time.Time { return now })
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}

	resp, body := post(t, client, srv.URL, `{"site":"shop","kind":"pageview","url":"https://shop.example/a?utm_source=news&utm_campaign=spring","referrer":"https://www.google.com/","title":"A","screen_width":390,"screen_height":844}`,
		map[string]string{"Origin": "https://shop.example", "User-Agent": "UA/1"})
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("first event: %d %s", resp.StatusCode, body)
	}
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == identity.CookieName {
			cookie = c
		}
	}
	// The collector (127.0.0.1) and the page (shop.example) share no
	// registrable domain: the cookie is third-party, SameSite=None; Secure.
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteNoneMode || !cookie.Secure || cookie.MaxAge != int(collector.DefaultCookieMaxAge.Seconds()) {
		t.Fatalf("visitor cookie missing or weak: %+v", cookie)
	}
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "https://shop.example" || resp.Header.Get("Access-Control-Allow-Credentials") != "true" {
		t.Fatalf("CORS for the site's origin: %q", got)
	}
	now = now.Add(90 * time.Second)
	resp, body = post(t, client, srv.URL, `{"site":"shop","kind":"event","name":"Signup","url":"https://shop.example/a","props":{"plan":"pro"},"age_ms":5000}`, nil)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("second event: %d %s", resp.StatusCode, body)
	}

	msgs := readAll(t, brokers, 2)
	if len(msgs) != 2 {
		t.Fatalf("%d messages in Kafka, want 2", len(msgs))
	}
	var evs []*event.Event
	for _, m := range msgs {
		ev, err := event.Unmarshal(m.Value)
		if err != nil {
			t.Fatal(err)
		}
		if string(m.Key) != string(ev.Visitor[:]) {
			t.Fatal("message key is not the visitor id")
		}
		evs = append(evs, ev)
	}
	if evs[0].ReceivedMs > evs[1].ReceivedMs {
		evs[0], evs[1] = evs[1], evs[0]
	}
	first, second := evs[0], evs[1]
	if first.Visitor != second.Visitor || !first.NewVisitor || second.NewVisitor {
		t.Fatalf("the cookie did not carry the visitor: %v/%v new %v/%v", first.Visitor, second.Visitor, first.NewVisitor, second.NewVisitor)
	}
	if first.ReceivedMs != time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC).UnixMilli() ||
		second.ReceivedMs != time.Date(2026, 5, 1, 12, 1, 25, 0, time.UTC).UnixMilli() {
		t.Fatalf("received times %d, %d: want the collector clock, minus age_ms", first.ReceivedMs, second.ReceivedMs)
	}
	if first.Campaign.Source != "news" || first.Campaign.Name != "spring" || first.UserAgent != "UA/1" || first.ScreenWidth != 390 {
		t.Fatalf("first event fields: %+v", first)
	}
	if second.Name != "Signup" || second.Props["plan"] != "pro" || second.Kind != event.KindCustom {
		t.Fatalf("custom event fields: %+v", second)
	}
}

func TestRefusals(t *testing.T) {
	brokers := testenv.Kafka(t, topic, 2)
	srv, reg := newServerWithRegistry(t, brokers, nil)
	tests := []struct {
		name, body string
		status     int
		field      string
	}{
		{"not json", `hello`, 400, ""},
		{"two objects", `{"site":"shop","kind":"pageview","url":"https://shop.example/"} {}`, 400, ""},
		{"unknown field", `{"site":"shop","kind":"pageview","url":"https://shop.example/","x":1}`, 400, ""},
		{"no site", `{"kind":"pageview","url":"https://shop.example/"}`, 400, "site"},
		{"unknown site", `{"site":"other","kind":"pageview","url":"https://shop.example/"}`, 403, "site"},
		{"foreign host", `{"site":"shop","kind":"pageview","url":"https://evil.example/"}`, 400, "url"},
		{"bad kind", `{"site":"shop","kind":"click","url":"https://shop.example/"}`, 400, "kind"},
		{"custom without name", `{"site":"shop","kind":"event","url":"https://shop.example/"}`, 400, "name"},
		{"bad scroll", `{"site":"shop","kind":"engagement","url":"https://shop.example/","scroll_depth":101}`, 400, "scroll_depth"},
		{"future age", `{"site":"shop","kind":"pageview","url":"https://shop.example/","age_ms":-5}`, 400, "age_ms"},
		{"long prop value", `{"site":"shop","kind":"event","name":"x","url":"https://shop.example/","props":{"k":"` + strings.Repeat("v", 600) + `"}}`, 400, "prop"},
		{"too large", `{"site":"shop","kind":"pageview","url":"https://shop.example/","title":"` + strings.Repeat("x", 20000) + `"}`, 413, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := post(t, http.DefaultClient, srv.URL, tt.body, nil)
			var e struct{ Error, Field string }
			if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error == "" {
				t.Fatalf("answer is not a JSON error: %q", body)
			}
			if resp.StatusCode != tt.status || e.Field != tt.field {
				t.Fatalf("got %d field %q (%s), want %d field %q", resp.StatusCode, e.Field, e.Error, tt.status, tt.field)
			}
			if len(resp.Cookies()) != 0 {
				t.Fatal("a refused request must not set the visitor cookie")
			}
		})
	}
	if msgs := readAll(t, brokers, 0); len(msgs) != 0 {
		t.Fatalf("refused events reached Kafka: %d", len(msgs))
	}
	// Every refusal is counted by reason, for alerting.
	want := `
# HELP teller_collector_events_rejected_total Requests refused, by reason.
# TYPE teller_collector_events_rejected_total counter
teller_collector_events_rejected_total{reason="age"} 1
teller_collector_events_rejected_total{reason="foreign_host"} 1
teller_collector_events_rejected_total{reason="invalid"} 4
teller_collector_events_rejected_total{reason="json"} 3
teller_collector_events_rejected_total{reason="site"} 1
teller_collector_events_rejected_total{reason="too_large"} 1
teller_collector_events_rejected_total{reason="unknown_site"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "teller_collector_events_rejected_total"); err != nil {
		t.Fatal(err)
	}
}

// TestCampaignOnTheWire: the collector reads the campaign with the one parser
// (pkg/enrich/campaign), so the event carries what enrichment will read from
// its URL: names in any case, ref as utm_source, every click id.
func TestCampaignOnTheWire(t *testing.T) {
	brokers := testenv.Kafka(t, topic, 2)
	srv := newServer(t, brokers, nil)
	want := map[string]event.Campaign{
		"https://shop.example/?ref=newsletter":                     {Source: "newsletter"},
		"https://shop.example/?gbraid=abc":                         {ClickIDType: "gbraid"},
		"https://shop.example/?UTM_SOURCE=google&utm_medium=cpc":   {Source: "google", Medium: "cpc"},
		"https://shop.example/?utm_source=+a%20b+&utm_source=c":    {Source: "a b"},
		"https://shop.example/#utm_source=fragment":                {},
		"https://WWW.Shop.Example./x?Utm_Campaign=Spring&REF=blog": {Source: "blog", Name: "Spring"}, // host in any case, FQDN dot
	}
	stored := map[string]string{} // the URL as stored (query stripped) -> as sent
	for u := range want {
		resp, body := post(t, http.DefaultClient, srv.URL, `{"site":"shop","kind":"pageview","url":"`+u+`"}`, nil)
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("%s: %d %s", u, resp.StatusCode, body)
		}
		stored[collector.StripURL(u, nil)] = u
	}
	msgs := readAll(t, brokers, len(want))
	if len(msgs) != len(want) {
		t.Fatalf("%d messages, want %d", len(msgs), len(want))
	}
	for _, m := range msgs {
		ev, err := event.Unmarshal(m.Value)
		if err != nil {
			t.Fatal(err)
		}
		sent := stored[ev.URL]
		if ev.Campaign != want[sent] || ev.Campaign != campaign.FromURL(ev.URL) {
			t.Errorf("%s (sent as %s): campaign %+v, want %+v", ev.URL, sent, ev.Campaign, want[sent])
		}
	}
}

// A page's own long title (here 400 CJK characters, 1,200 bytes) is cut on
// a character boundary; the pageview is kept.
func TestLongTitleIsCutNotRefused(t *testing.T) {
	brokers := testenv.Kafka(t, topic, 2)
	srv := newServer(t, brokers, nil)
	title := strings.Repeat("日", 400)
	resp, body := post(t, http.DefaultClient, srv.URL, `{"site":"shop","kind":"pageview","url":"https://shop.example/","title":"`+title+`"}`, nil)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	ev, err := event.Unmarshal(readAll(t, brokers, 1)[0].Value)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Title != strings.Repeat("日", event.MaxTitleLength/3) {
		t.Fatalf("title of %d bytes, want %d whole characters", len(ev.Title), event.MaxTitleLength/3)
	}
}

func TestTamperedCookieGetsNewVisitor(t *testing.T) {
	brokers := testenv.Kafka(t, topic, 2)
	srv := newServer(t, brokers, nil)
	other, _ := identity.NewSigner("some-other-key-0123456789")
	forged := other.Sign(identity.NewVisitorID())
	resp, body := post(t, http.DefaultClient, srv.URL, `{"site":"shop","kind":"pageview","url":"https://shop.example/"}`,
		map[string]string{"Cookie": identity.CookieName + "=" + forged})
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	ev, err := event.Unmarshal(readAll(t, brokers, 1)[0].Value)
	if err != nil {
		t.Fatal(err)
	}
	if !ev.NewVisitor || strings.HasPrefix(forged, resp.Cookies()[0].Value[:10]) {
		t.Fatal("a forged cookie was accepted")
	}
}

func TestKafkaDownAnswers503(t *testing.T) {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := l.Addr().String()
	l.Close()
	srv := newServer(t, []string{dead}, nil)
	resp, body := post(t, http.DefaultClient, srv.URL, `{"site":"shop","kind":"pageview","url":"https://shop.example/"}`, nil)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "retry") {
		t.Fatalf("got %d %s, want 503 asking to retry", resp.StatusCode, body)
	}
}

func TestPreflightAndSnippet(t *testing.T) {
	srv := newServer(t, testenv.Kafka(t, topic, 2), nil)
	req, _ := http.NewRequest(http.MethodOptions, srv.URL+"/api/event", nil)
	req.Header.Set("Origin", "https://www.shop.example")
	req.Header.Set("Access-Control-Request-Method", "POST")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != "https://www.shop.example" {
		t.Fatalf("preflight from a site origin: %d %v", resp.StatusCode, resp.Header)
	}
	req.Header.Set("Origin", "https://evil.example")
	resp, _ = http.DefaultClient.Do(req)
	resp.Body.Close()
	if resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatal("preflight allowed a foreign origin")
	}
	resp, err = http.Get(srv.URL + "/teller.js")
	if err != nil {
		t.Fatal(err)
	}
	js, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), "javascript") || len(js) < 500 {
		t.Fatalf("snippet: %d %s, %d bytes", resp.StatusCode, resp.Header.Get("Content-Type"), len(js))
	}
}
