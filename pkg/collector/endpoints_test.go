package collector_test

import (
	"bytes"
	"encoding/json"
	"image/gif"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/teller-analytics/teller/internal/testenv"
	"github.com/teller-analytics/teller/pkg/event"
)

func events(t *testing.T, brokers []string, n int) []*event.Event {
	t.Helper()
	var out []*event.Event
	for _, m := range readAll(t, brokers, n) {
		ev, err := event.Unmarshal(m.Value)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ev)
	}
	return out
}

// A batch publishes its good events and lists the refused ones by index.
func TestBatch(t *testing.T) {
	brokers := testenv.Kafka(t, topic, 2)
	srv := newServer(t, brokers, nil)
	body := `[{"site":"shop","kind":"pageview","url":"https://shop.example/a"},
		{"site":"shop","kind":"event","url":"https://shop.example/a"},
		{"site":"shop","kind":"event","name":"signup","url":"https://shop.example/a","props":{"plan":"pro"}}]`
	resp, b := post(t, http.DefaultClient, srv.URL, body, nil)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	var ans struct {
		IDs      []string
		Rejected []struct {
			Index        int
			Error, Field string
		}
	}
	if err := json.Unmarshal([]byte(b), &ans); err != nil || len(ans.IDs) != 2 || len(ans.Rejected) != 1 ||
		ans.Rejected[0].Index != 1 || ans.Rejected[0].Field != "name" {
		t.Fatalf("answer %s", b)
	}
	evs := events(t, brokers, 2)
	if len(evs) != 2 || evs[0].Visitor != evs[1].Visitor {
		t.Fatalf("%d events, want 2 of one visitor", len(evs))
	}
	// The session rules order one millisecond's events by id: a batch's ids
	// ascend in its order, so the browser's order is the events' order.
	for i := 0; i < 50; i++ {
		resp, b := post(t, http.DefaultClient, srv.URL, `[{"site":"shop","kind":"engagement","url":"https://shop.example/a","engaged_ms":2000},
			{"site":"shop","kind":"pageview","url":"https://shop.example/b"},{"site":"shop","kind":"event","name":"x","url":"https://shop.example/b"}]`, nil)
		if err := json.Unmarshal([]byte(b), &ans); resp.StatusCode != http.StatusAccepted || err != nil || len(ans.IDs) != 3 {
			t.Fatalf("%d %s", resp.StatusCode, b)
		}
		if !(ans.IDs[0] < ans.IDs[1] && ans.IDs[1] < ans.IDs[2]) {
			t.Fatalf("batch %d: ids %v do not ascend in the batch's order", i, ans.IDs)
		}
		// The fixed answer is what gin.JSON (encoding/json) writes for it.
		if want, _ := json.Marshal(map[string]any{"ids": ans.IDs, "rejected": nil}); b != string(want) {
			t.Fatalf("batch answer %s, encoding/json's %s", b, want)
		}
	}
	for _, tt := range []struct{ name, body, field string }{
		{"empty batch", `[]`, ""},
		{"two sites", `[{"site":"shop","kind":"pageview","url":"https://shop.example/"},{"site":"b","kind":"pageview","url":"https://b.example/"}]`, "site"},
		{"too many", "[" + strings.Repeat(`{"site":"shop","kind":"pageview","url":"https://shop.example/"},`, 50) + `{"site":"shop","kind":"pageview","url":"https://shop.example/"}]`, ""},
	} {
		if resp, b := post(t, http.DefaultClient, srv.URL, tt.body, nil); resp.StatusCode != 400 || !strings.Contains(b, `"field":"`+tt.field) && tt.field != "" {
			t.Errorf("%s: %d %s, want 400 naming %q", tt.name, resp.StatusCode, b, tt.field)
		}
	}
}

// The pixel answers a GIF and records the page it names, or the page that
// shows it.
func TestPixel(t *testing.T) {
	brokers := testenv.Kafka(t, topic, 2)
	srv := newServer(t, brokers, nil)
	get := func(q url.Values, referer string) (*http.Response, []byte) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/p.gif?"+q.Encode(), nil)
		if referer != "" {
			req.Header.Set("Referer", referer)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	resp, b := get(url.Values{"site": {"shop"}, "url": {"https://shop.example/mail?token=x&utm_source=newsletter"}, "p.list": {"may"}}, "")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/gif" {
		t.Fatalf("%d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	if _, err := gif.Decode(bytes.NewReader(b)); err != nil {
		t.Fatalf("not a GIF: %v", err)
	}
	if resp, b := get(url.Values{"site": {"shop"}}, "https://shop.example/nojs"); resp.StatusCode != 200 {
		t.Fatalf("page from the Referer: %d %s", resp.StatusCode, b)
	}
	if resp, _ := get(url.Values{"site": {"shop"}}, ""); resp.StatusCode != 400 {
		t.Fatalf("no page at all: %d, want 400", resp.StatusCode)
	}
	if resp, _ := get(url.Values{"site": {"shop"}, "url": {"https://shop.example/"}}, "https://evil.example/"); resp.StatusCode != 403 {
		t.Fatalf("foreign Referer: %d, want 403", resp.StatusCode)
	}
	urls := map[string]*event.Event{}
	for _, ev := range events(t, brokers, 2) {
		urls[ev.URL] = ev
	}
	mail := urls["https://shop.example/mail?utm_source=newsletter"]
	if mail == nil || mail.Kind != event.KindPageview || mail.Props["list"] != "may" || mail.Campaign.Source != "newsletter" || urls["https://shop.example/nojs"] == nil {
		t.Fatalf("pixel events: %v", urls)
	}
}

// Plausible's event API body, as its tracker sends it (text/plain), maps to
// Teller's events (docs/plausible.md).
func TestPlausibleBody(t *testing.T) {
	brokers := testenv.Kafka(t, topic, 2)
	srv := newServer(t, brokers, nil)
	for _, body := range []string{
		`{"n":"pageview","u":"https://shop.example/p?gclid=x","d":"shop.example","r":"https://news.example/","w":1280,"h":0}`,
		`{"n":"Signup","u":"https://shop.example/p","d":"shop.example","r":null,"p":{"plan":"pro","seats":3},"$":{"amount":"12.50","currency":"EUR"}}`,
		`{"n":"engagement","u":"https://shop.example/p","d":"shop.example","sd":64,"e":12345}`,
		`{"n":"Old","u":"https://shop.example/p","d":"shop.example,rollup.example","p":"{\"k\":\"v\"}"}`,
	} {
		if resp, b := post(t, http.DefaultClient, srv.URL, body, map[string]string{"Origin": "https://shop.example"}); resp.StatusCode != 202 {
			t.Fatalf("%s: %d %s", body, resp.StatusCode, b)
		}
	}
	byName := map[string]*event.Event{}
	for _, ev := range events(t, brokers, 4) {
		byName[ev.Name] = ev
	}
	pv, custom, eng, old := byName["pageview"], byName["Signup"], byName["engagement"], byName["Old"]
	switch {
	case pv == nil || pv.Kind != event.KindPageview || pv.Referrer != "https://news.example/" || pv.Campaign.ClickIDType != "gclid" || pv.URL != "https://shop.example/p?gclid=redacted":
		t.Fatalf("pageview: %+v", pv)
	case custom == nil || custom.Kind != event.KindCustom || custom.Props["plan"] != "pro" || custom.Props["seats"] != "3" ||
		custom.Props["revenue_amount"] != "12.50" || custom.Props["revenue_currency"] != "EUR":
		t.Fatalf("custom event: %+v", custom)
	case eng == nil || eng.Kind != event.KindEngagement || eng.ScrollDepth != 64 || eng.EngagedMs != 12345:
		t.Fatalf("engagement: %+v", eng)
	case old == nil || old.Props["k"] != "v" || old.Site != "shop":
		t.Fatalf("props as a string, first of two domains: %+v", old)
	}
	if resp, b := post(t, http.DefaultClient, srv.URL, `{"n":"pageview","u":"https://shop.example/","d":"unknown.example"}`, nil); resp.StatusCode != 403 {
		t.Fatalf("unknown domain: %d %s, want 403", resp.StatusCode, b)
	}
}
