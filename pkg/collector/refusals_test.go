package collector_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/teller-analytics/teller/pkg/bus"
	"github.com/teller-analytics/teller/pkg/collector"
)

const refusedTopic = "events.invalid"

// kafkaWithDeadLetters is a kfake broker with the events topic and the
// dead-letter topic.
func kafkaWithDeadLetters(t *testing.T) []string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, topic), kfake.SeedTopics(1, refusedTopic))
	if err != nil {
		t.Fatalf("start kfake: %v", err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()
}

func deadLetters(t *testing.T, brokers []string) []bus.DeadLetter {
	t.Helper()
	var out []bus.DeadLetter
	for _, r := range readTopic(t, brokers, refusedTopic, 1) {
		var d bus.DeadLetter
		if err := json.Unmarshal(r.value, &d); err != nil {
			t.Fatalf("dead letter %s: %v", r.value, err)
		}
		out = append(out, d)
	}
	return out
}

// TestRefusalsAreDeadLettered: every kind of refusal, 400, 403, 413 and 429,
// from the JSON endpoint and the pixel, keeps its raw input, reason and time
// in the dead-letter topic, and never the client's address.
func TestRefusalsAreDeadLettered(t *testing.T) {
	brokers := kafkaWithDeadLetters(t)
	srv, _ := newServerWith(t, brokers, func(o *collector.Options) {
		o.DeadLetterTopic = refusedTopic
		o.MaxBodyBytes = 512
		// The address's bucket holds the table's requests before the 429 case.
		o.Limits.Client = collector.Rate{PerSecond: 0.001, Burst: 7}
	})
	partBad := `[` + pageview + `,{"site":"shop","kind":"pageview","url":"ftp://shop.example/"}]`
	allBad := `[{"site":"shop","kind":"pageview","url":"https://elsewhere.example/"},{"site":"shop","kind":"pageview","url":"ftp://shop.example/"}]`
	big := `{"site":"shop","kind":"pageview","url":"https://shop.example/","title":"` + strings.Repeat("x", 600) + `"}`
	tests := []struct {
		name, method, body, query string
		header                    map[string]string
		status                    int
		reason, payload           string
	}{
		{"bad field", "POST", `{"site":"shop","kind":"pageview","url":"ftp://shop.example/"}`, "", nil,
			400, "url", `{"site":"shop","kind":"pageview","url":"ftp://shop.example/"}`},
		{"unknown site", "POST", `{"site":"nope","kind":"pageview","url":"https://shop.example/"}`, "", nil,
			403, "unknown_site", `{"site":"nope","kind":"pageview","url":"https://shop.example/"}`},
		{"forged origin", "POST", pageview, "", map[string]string{"Origin": "https://evil.example"},
			403, "origin", pageview},
		{"too large", "POST", big, "", nil, 413, "too_large", big[:512]},
		{"pixel, foreign referer", "GET", "", "site=shop&url=https%3A%2F%2Fshop.example%2F", map[string]string{"Referer": "https://evil.example/"},
			403, "referer", "site=shop&url=https%3A%2F%2Fshop.example%2F"},
		// A batch keeps its good events; the body is kept once, under the
		// reason of its first refused event.
		{"batch with a refused event", "POST", partBad, "", nil, 202, "url", partBad},
		{"batch of refused events", "POST", allBad, "", nil, 400, "foreign_host", allBad},
		{"client over its rate", "POST", pageview, "", nil, 429, "rate_client", pageview},
	}
	for _, tt := range tests {
		url := srv.URL + "/api/event"
		if tt.method == "GET" {
			url = srv.URL + "/p.gif?" + tt.query
		}
		req, _ := http.NewRequest(tt.method, url, strings.NewReader(tt.body))
		for k, v := range tt.header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.status {
			t.Fatalf("%s: status %d, want %d", tt.name, resp.StatusCode, tt.status)
		}
	}
	got := deadLetters(t, brokers)
	if len(got) != len(tests) {
		t.Fatalf("%d dead letters for %d refusals: %+v", len(got), len(tests), got)
	}
	for i, tt := range tests {
		d := got[i] // one partition, in the order refused
		if d.Reason != tt.reason || d.Payload != tt.payload || time.Since(d.Time) > time.Minute || d.Time.After(time.Now()) {
			t.Errorf("%s: dead letter %+v, want reason %q and payload %.80q", tt.name, d, tt.reason, tt.payload)
		}
		if raw, _ := json.Marshal(d); strings.Contains(string(raw), "127.0.0.1") {
			t.Errorf("%s: the dead letter holds the client address: %s", tt.name, raw)
		}
	}
}

// TestDeadLettersAreBounded: a flood of refusals is counted in full but kept
// only as fast as its reason's dead-letter bucket allows, so it cannot
// flood Kafka; the rest is counted as not kept.
func TestDeadLettersAreBounded(t *testing.T) {
	brokers := kafkaWithDeadLetters(t)
	srv, reg := newServerWith(t, brokers, func(o *collector.Options) {
		o.DeadLetterTopic = refusedTopic
		o.DeadLetterRate = collector.Rate{PerSecond: 0.001, Burst: 5}
	})
	const flood = 40
	for i := 0; i < flood; i++ {
		if resp, body := post(t, http.DefaultClient, srv.URL, pageview, map[string]string{"Origin": "https://evil.example"}); resp.StatusCode != 403 {
			t.Fatalf("forged origin %d: %d %s", i, resp.StatusCode, body)
		}
	}
	// Another reason has a bucket of its own.
	if resp, body := post(t, http.DefaultClient, srv.URL, `{"site":"nope"}`, nil); resp.StatusCode != 403 {
		t.Fatalf("unknown site: %d %s", resp.StatusCode, body)
	}
	byReason := map[string]int{}
	for _, d := range deadLetters(t, brokers) {
		byReason[d.Reason]++
	}
	if byReason["origin"] != 5 || byReason["unknown_site"] != 1 || len(byReason) != 2 {
		t.Fatalf("dead letters by reason %v, want 5 origin (the burst) and 1 unknown_site", byReason)
	}
	want := `# HELP teller_collector_dead_letters_not_kept_total Refusals counted but not kept in the dead-letter topic because their reason's dead-letter rate was exceeded, by reason.
# TYPE teller_collector_dead_letters_not_kept_total counter
teller_collector_dead_letters_not_kept_total{reason="origin"} 35
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "teller_collector_dead_letters_not_kept_total"); err != nil {
		t.Fatal(err)
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(rejected("origin", flood)+
		"teller_collector_events_rejected_total{reason=\"unknown_site\"} 1\n"), "teller_collector_events_rejected_total"); err != nil {
		t.Fatal(err)
	}
}
