package collector_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/teller-analytics/teller/internal/testenv"
	"github.com/teller-analytics/teller/pkg/collector"
	"github.com/teller-analytics/teller/pkg/site"
)

// A site that respects Do Not Track / Global Privacy Control gets nothing
// from a browser that sends either: 204, no cookie, nothing in Kafka, no
// new visitor, and the request counted by reason. A site that does not
// (the default) leaves the decision to the snippet and stores the event.
func TestRespectDNTAndGPC(t *testing.T) {
	brokers := testenv.Kafka(t, topic, 2)
	both := staticSites{
		{ID: "private", Domains: []string{"private.example"}, Timezone: "UTC", Settings: site.Settings{RespectDNT: true}},
		{ID: "shop", Domains: []string{"shop.example"}, Timezone: "UTC"},
		{ID: "nocookie", Domains: []string{"nocookie.example"}, Timezone: "UTC",
			Settings: site.Settings{RespectDNT: true, CookieMode: site.CookieModeCookieless}},
	}
	srv, reg := newServerWith(t, brokers, func(o *collector.Options) { o.Sites = both })
	body := func(id string) string {
		return `{"site":"` + id + `","kind":"pageview","url":"https://` + id + `.example/"}`
	}
	tests := []struct {
		name   string
		site   string
		header map[string]string
		stored bool
	}{
		{"DNT on a respecting site", "private", map[string]string{"DNT": "1"}, false},
		{"GPC on a respecting site", "private", map[string]string{"Sec-GPC": "1"}, false},
		{"both on a respecting site count as GPC", "private", map[string]string{"DNT": "1", "Sec-GPC": "1"}, false},
		{"GPC on a cookieless respecting site", "nocookie", map[string]string{"Sec-GPC": " 1 "}, false},
		{"DNT 0 is no opt-out", "private", map[string]string{"DNT": "0"}, true},
		{"no header on a respecting site", "private", nil, true},
		{"DNT on a site that leaves it to the snippet", "shop", map[string]string{"DNT": "1"}, true},
		{"GPC on a site that leaves it to the snippet", "shop", map[string]string{"Sec-GPC": "1"}, true},
	}
	stored := 0
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, b := post(t, http.DefaultClient, srv.URL, body(tt.site), tt.header)
			if !tt.stored {
				if resp.StatusCode != http.StatusNoContent || b != "" || len(resp.Cookies()) != 0 {
					t.Fatalf("got %d %q cookies %v, want 204, no body, no cookie", resp.StatusCode, b, resp.Cookies())
				}
				return
			}
			stored++
			if resp.StatusCode != http.StatusAccepted {
				t.Fatalf("got %d %s, want 202", resp.StatusCode, b)
			}
		})
	}
	// The pixel obeys the same setting.
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/p.gif?"+url.Values{"site": {"private"}, "url": {"https://private.example/mail"}}.Encode(), nil)
	req.Header.Set("DNT", "1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent || len(resp.Cookies()) != 0 {
		t.Fatalf("pixel with DNT: %d, cookies %v; want 204 and none", resp.StatusCode, resp.Cookies())
	}
	msgs := readAll(t, brokers, stored)
	if len(msgs) != stored {
		t.Fatalf("%d events in Kafka, want the %d stored ones", len(msgs), stored)
	}
	want := `
# HELP teller_collector_opted_out_total Requests answered 204 and not stored because their site respects Do Not Track / Global Privacy Control and the browser sent it, by reason (dnt, gpc).
# TYPE teller_collector_opted_out_total counter
teller_collector_opted_out_total{reason="dnt"} 2
teller_collector_opted_out_total{reason="gpc"} 3
`
	// Only the stored requests (no cookie jar: each a new visitor) minted
	// visitors; the opted-out ones minted none.
	want += `
# HELP teller_collector_new_visitors_total Visitor cookies issued for browsers without a valid one.
# TYPE teller_collector_new_visitors_total counter
teller_collector_new_visitors_total ` + strconv.Itoa(stored) + "\n"
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "teller_collector_opted_out_total", "teller_collector_new_visitors_total"); err != nil {
		t.Fatal(err)
	}
}
