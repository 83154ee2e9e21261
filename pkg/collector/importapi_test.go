package collector_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/teller-analytics/teller/internal/testenv"
	"github.com/teller-analytics/teller/pkg/bus"
	"github.com/teller-analytics/teller/pkg/collector"
	"github.com/teller-analytics/teller/pkg/config"
	"github.com/teller-analytics/teller/pkg/event"
	"github.com/teller-analytics/teller/pkg/identity"
	"github.com/teller-analytics/teller/pkg/importer"
	"github.com/teller-analytics/teller/pkg/service"
)

const importTopic = "import"

// importServer serves the live collector and the import endpoint, as the
// collector service mounts them, on a broker with both topics, and an
// import token store in a real ClickHouse.
func importServer(t *testing.T, now time.Time) (srv *httptest.Server, brokers []string, tokens *importer.Tokens) {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, topic, importTopic))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	brokers = c.ListenAddrs()
	db := testenv.OpenStore(t, testenv.ClickHouse(t), "importapi")
	tokens = importer.NewTokens(db.Conn())

	live := liveCollector(t, brokers)
	p := bus.NewProducer(bus.Config{Brokers: config.StringList(brokers), Topic: importTopic}, testenv.Logger(t))
	t.Cleanup(func() { p.Close() })
	opts := collector.ImportOptions{Publisher: p, Sites: sites, Tokens: tokens, Horizon: 30 * 24 * time.Hour,
		Logger: testenv.Logger(t), Registerer: service.NewRegistry()}
	opts.SetClock(func() time.Time { return now })
	api, err := collector.NewImportAPI(opts)
	if err != nil {
		t.Fatal(err)
	}
	r := service.NewEngine(testenv.Logger(t))
	live.Mount(r)
	api.Mount(r)
	srv = httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return srv, brokers, tokens
}

// liveCollector is the snippet's endpoint on the live topic, beside the
// import endpoint as the collector service serves both.
func liveCollector(t *testing.T, brokers []string) *collector.Collector {
	t.Helper()
	signer, err := identity.NewSigner("collector-test-key-0123456789")
	if err != nil {
		t.Fatal(err)
	}
	p := bus.NewProducer(bus.Config{Brokers: config.StringList(brokers), Topic: topic}, testenv.Logger(t))
	t.Cleanup(func() { p.Close() })
	c, err := collector.New(collector.Options{Publisher: p, Sites: sites, Signer: signer, Logger: testenv.Logger(t), Registerer: service.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func postImport(t *testing.T, url, token string, b any) (int, string) {
	t.Helper()
	body, _ := json.Marshal(b)
	req, _ := http.NewRequest(http.MethodPost, url+"/api/import", bytes.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

// topicMessages reads every message of a topic's two partitions.
func topicMessages(t *testing.T, brokers []string, name string) []kafka.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out []kafka.Message
	for p := 0; p < 2; p++ {
		conn, err := kafka.DialLeader(ctx, "tcp", brokers[0], name, p)
		if err != nil {
			t.Fatal(err)
		}
		_, last, _ := conn.ReadOffsets()
		conn.Close()
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, Topic: name, Partition: p, MaxWait: 100 * time.Millisecond})
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

func TestImportPublishesToItsOwnTopic(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	srv, brokers, tokens := importServer(t, now)
	secret, _, err := tokens.Create(context.Background(), "shop", "history", now)
	if err != nil {
		t.Fatal(err)
	}
	day := now.Add(-7 * 24 * time.Hour)
	batch := importer.Batch{Site: "shop", Events: []importer.Event{
		// Out of order on purpose: the collector publishes in time order.
		{ID: importer.EventID("b"), TimeMs: day.Add(time.Minute).UnixMilli(), Visitor: "v1", Kind: event.KindPageview,
			URL: "https://shop.example/pricing?utm_source=news", UserAgent: "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"},
		{ID: importer.EventID("a"), TimeMs: day.UnixMilli(), Visitor: "v1", NewVisitor: true, Kind: event.KindPageview, URL: "https://shop.example/"},
		{TimeMs: now.Add(time.Second).UnixMilli(), Visitor: "v1", Kind: event.KindPageview, URL: "https://shop.example/"},          // future
		{TimeMs: now.Add(-31 * 24 * time.Hour).UnixMilli(), Visitor: "v1", Kind: event.KindPageview, URL: "https://shop.example/"}, // past the horizon
		{TimeMs: day.UnixMilli(), Visitor: "v1", Kind: event.KindPageview, URL: "https://elsewhere.example/"},                      // foreign host
		{TimeMs: day.UnixMilli(), Visitor: "v2", Kind: "click", URL: "https://shop.example/"},                                      // bad kind
		{ID: importer.EventID("c"), TimeMs: day.Add(2 * time.Minute).UnixMilli(), Visitor: "v2", Kind: event.KindCustom, Name: "Signup", URL: "https://shop.example/signup"},
	}}
	status, body := postImport(t, srv.URL, secret, batch)
	if status != http.StatusOK {
		t.Fatalf("import: %d %s", status, body)
	}
	var res importer.Result
	if err := json.Unmarshal([]byte(body), &res); err != nil {
		t.Fatal(err)
	}
	if res.Accepted != 3 || len(res.Rejected) != 4 {
		t.Fatalf("answer %s: want 3 accepted and 4 rejected", body)
	}
	for i, want := range map[int]string{0: "future", 1: "horizon", 2: "not a domain", 3: "kind"} {
		if r := res.Rejected[i]; r.Index != i+2 || !strings.Contains(r.Error, want) {
			t.Errorf("rejection %d: %+v, want index %d naming %q", i, r, i+2, want)
		}
	}

	msgs := topicMessages(t, brokers, importTopic)
	if len(msgs) != 3 {
		t.Fatalf("%d messages on the import topic, want 3", len(msgs))
	}
	if live := topicMessages(t, brokers, topic); len(live) != 0 {
		t.Errorf("%d messages on the live topic, want none", len(live))
	}
	byID := map[string]*event.Event{}
	var v1Order []int64
	for _, m := range msgs {
		ev, err := event.Unmarshal(m.Value)
		if err != nil {
			t.Fatal(err)
		}
		if string(m.Key) != string(ev.Visitor[:]) {
			t.Errorf("message key is not the visitor")
		}
		byID[ev.ID.String()] = ev
		if ev.Visitor == importer.VisitorID("shop", "v1") {
			v1Order = append(v1Order, ev.ReceivedMs)
		}
	}
	a := byID[importer.EventID("a").String()]
	b := byID[importer.EventID("b").String()]
	c := byID[importer.EventID("c").String()]
	if a == nil || b == nil || c == nil {
		t.Fatalf("published %v, want the ids the client gave", byID)
	}
	if !a.NewVisitor || b.NewVisitor {
		t.Errorf("new_visitor: %v then %v, want the import's flags", a.NewVisitor, b.NewVisitor)
	}
	if a.ReceivedMs != day.UnixMilli() || b.Campaign.Source != "news" || c.Name != "Signup" || b.UserAgent == "" || a.Site != "shop" {
		t.Errorf("events %+v %+v %+v: want the import's time, campaign, name and user agent", a, b, c)
	}
	if len(v1Order) != 2 || v1Order[0] > v1Order[1] {
		t.Errorf("visitor v1's events in the order %v, want time order", v1Order)
	}
}

func TestImportRefusals(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	srv, brokers, tokens := importServer(t, now)
	ctx := context.Background()
	secret, tok, err := tokens.Create(ctx, "shop", "history", now)
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := tokens.Create(ctx, "blog", "history", now)
	if err != nil {
		t.Fatal(err)
	}
	revoked, rtok, err := tokens.Create(ctx, "shop", "old", now)
	if err != nil {
		t.Fatal(err)
	}
	if err := tokens.Revoke(ctx, "shop", rtok.ID); err != nil {
		t.Fatal(err)
	}
	one := []importer.Event{{TimeMs: now.Add(-time.Hour).UnixMilli(), Visitor: "v", Kind: event.KindPageview, URL: "https://shop.example/"}}
	tooMany := make([]importer.Event, importer.MaxBatchEvents+1)
	for i := range tooMany {
		tooMany[i] = one[0]
	}
	for _, tc := range []struct {
		name   string
		token  string
		batch  any
		status int
		want   string
	}{
		{"no token", "", importer.Batch{Site: "shop", Events: one}, http.StatusUnauthorized, "import token"},
		{"unknown token", "teller_import_" + strings.Repeat("x", 43), importer.Batch{Site: "shop", Events: one}, http.StatusUnauthorized, "unknown or revoked"},
		{"dashboard-style token", "teller_" + strings.Repeat("x", 43), importer.Batch{Site: "shop", Events: one}, http.StatusUnauthorized, "unknown or revoked"},
		{"revoked token", revoked, importer.Batch{Site: "shop", Events: one}, http.StatusUnauthorized, "unknown or revoked"},
		{"another site's token", other, importer.Batch{Site: "shop", Events: one}, http.StatusForbidden, `imports into site \"blog\"`},
		{"empty batch", secret, importer.Batch{Site: "shop"}, http.StatusBadRequest, "no events"},
		{"too many events", secret, importer.Batch{Site: "shop", Events: tooMany}, http.StatusRequestEntityTooLarge, "at most 5000"},
		{"unknown field", secret, map[string]any{"site": "shop", "events": one, "extra": 1}, http.StatusBadRequest, "unknown field"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := postImport(t, srv.URL, tc.token, tc.batch)
			if status != tc.status || !strings.Contains(body, tc.want) {
				t.Errorf("got %d %s, want %d naming %q", status, body, tc.status, tc.want)
			}
		})
	}
	// The body is bounded before it is decoded.
	big := `{"site":"shop","events":[` + strings.Repeat(" ", importer.MaxBatchBytes) + `]}`
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/import", strings.NewReader(big))
	req.Header.Set("Authorization", "Bearer "+secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized body: %d, want 413", resp.StatusCode)
	}
	if msgs := topicMessages(t, brokers, importTopic); len(msgs) != 0 {
		t.Errorf("%d messages published by refused requests", len(msgs))
	}
	if list, err := tokens.List(ctx, "shop"); err != nil || len(list) != 1 || list[0].ID != tok.ID {
		t.Errorf("shop's live tokens %+v (%v), want only %s", list, err, tok.ID)
	}
}
