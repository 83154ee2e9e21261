package store_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/teller-analytics/teller/internal/chlocal"
	"github.com/teller-analytics/teller/internal/testenv"
	"github.com/teller-analytics/teller/pkg/store"
)

// Every field of an EventRow lands in its own column: each value below is
// distinct, so a column written from the wrong field shows. Written in one
// insert, and in one insert per row (the second insert reuses the first's
// column slices, whose values must not leak into it).
func TestWriteEventsStoresEveryColumn(t *testing.T) {
	srv := testenv.ClickHouse(t)
	for _, tc := range []struct {
		name  string
		split bool
	}{{"cols", false}, {"cols_per_row", true}} {
		t.Run(tc.name, func(t *testing.T) { testWriteEventsStoresEveryColumn(t, srv, tc.name, tc.split) })
	}
}

func testWriteEventsStoresEveryColumn(t *testing.T, srv *chlocal.Server, name string, split bool) {
	db := testenv.OpenStore(t, srv, name)
	rows := []store.EventRow{{
		EventID: uuid.MustParse("00000000-0000-4000-8000-000000000001"), SiteID: "site",
		VisitorID: uuid.MustParse("00000000-0000-4000-8000-000000000002"), SessionID: uuid.MustParse("00000000-0000-4000-8000-000000000003"),
		TimeMs: 1_700_000_001_234, Kind: "engagement", Name: "name", URL: "https://host.example/path?q", Hostname: "host.example",
		Pathname: "/path", Title: "title", Referrer: "https://ref.example/", ReferrerDomain: "ref.example", ReferrerSource: "source",
		Channel: "referral", UTMSource: "us", UTMMedium: "um", UTMCampaign: "uc", UTMTerm: "ut", UTMContent: "uco", ClickIDType: "gclid",
		Browser: "Firefox", BrowserVersion: "140", OS: "Linux", Device: "desktop", IsBot: true, BotReason: "crawler:X",
		ScreenWidth: 1440, ScreenHeight: 900, PropsKeys: []string{"k1", "k2"}, PropsValues: []string{"v1", "v2"}, EngagedMs: 4321,
		ScrollDepth: 55, SessionStartedMs: 1_699_999_000_000, SessionStartReason: "campaign", IsSessionStart: false, IsLate: true,
		IsBridging: true, KafkaPartition: 7, KafkaOffset: 123456789,
	}, {
		EventID: uuid.MustParse("00000000-0000-4000-8000-000000000004"), SiteID: "other",
		VisitorID: uuid.MustParse("00000000-0000-4000-8000-000000000005"), SessionID: uuid.MustParse("00000000-0000-4000-8000-000000000006"),
		TimeMs: 1_700_000_002_000, Kind: "pageview", Name: "pageview", SessionStartedMs: 1_700_000_002_000,
		SessionStartReason: "first_visit", IsSessionStart: true,
	}}
	inserts := [][]store.EventRow{rows}
	if split {
		inserts = [][]store.EventRow{rows[:1], rows[1:]}
	}
	for _, in := range inserts {
		if err := db.WriteEvents(context.Background(), in); err != nil {
			t.Fatal(err)
		}
	}
	got := testenv.ClientQuery(t, srv, name, `SELECT event_id, site_id, visitor_id, session_id, ts, ts_ms, kind, name, url, hostname,
 pathname, title, referrer, referrer_domain, referrer_source, channel, utm_source, utm_medium, utm_campaign, utm_term, utm_content,
 click_id_type, browser, browser_version, os, device, is_bot, bot_reason, screen_width, screen_height, props_keys, props_values,
 engaged_ms, scroll_depth, session_started_at, session_start_reason, is_session_start, is_late, is_bridging, kafka_partition,
 kafka_offset FROM events ORDER BY event_id`)
	want := strings.Join([]string{
		strings.Join([]string{"00000000-0000-4000-8000-000000000001", "site", "00000000-0000-4000-8000-000000000002",
			"00000000-0000-4000-8000-000000000003", "2023-11-14 22:13:21", "1700000001234", "engagement", "name",
			"https://host.example/path?q", "host.example", "/path", "title", "https://ref.example/", "ref.example", "source", "referral",
			"us", "um", "uc", "ut", "uco", "gclid", "Firefox", "140", "Linux", "desktop", "1", "crawler:X", "1440", "900",
			"['k1','k2']", "['v1','v2']", "4321", "55", "2023-11-14 21:56:40", "campaign", "0", "1", "1", "7", "123456789"}, "\t"),
		strings.Join([]string{"00000000-0000-4000-8000-000000000004", "other", "00000000-0000-4000-8000-000000000005",
			"00000000-0000-4000-8000-000000000006", "2023-11-14 22:13:22", "1700000002000", "pageview", "pageview",
			"", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "0", "", "0", "0",
			"[]", "[]", "0", "0", "2023-11-14 22:13:22", "first_visit", "1", "0", "0", "0", "0"}, "\t"),
	}, "\n")
	if got != want {
		t.Fatalf("events table:\n got %q\nwant %q", got, want)
	}
}
