package dashbench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/teller-analytics/teller/internal/testenv"
)

// TestFillThenBenchTheDashboard runs the whole tool at a small size on real
// servers: the filler writes through kfake and the sessionizer into
// ClickHouse (every distinct event exactly once, duplicates included in the
// topic), then the dashboard binary is started in its own process, the load
// tool signs in through its form and requests every endpoint, and the
// figures it serves equal an independent query of the events table.
func TestFillThenBenchTheDashboard(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	ch := testenv.ClickHouse(t)
	cfg := testenv.StoreConfig(ch, "dashbench_test")
	tr := Traffic{Events: 20_000, Sites: 3, Days: 10, DuplicateShare: 0.01, Seed: 5}
	res, err := Fill(ctx, FillOptions{Traffic: tr, Store: cfg, Partitions: 6, Backlog: 5000, Logger: testenv.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if res.Events != tr.Events || res.Messages <= res.Events {
		t.Fatalf("filled %d events in %d messages; want %d events and some duplicates", res.Events, res.Messages, tr.Events)
	}
	t.Logf("fill: %d messages in %s, %.0f events/s", res.Messages, res.Elapsed, res.EventsPerSecond())
	// Per-partition time order: the sessionizer saw no late event.
	if late := testenv.ClientQuery(t, ch, cfg.Database, "SELECT sum(is_late) FROM events"); late != "0" {
		t.Errorf("%s late events: the topic is not in per-partition time order", late)
	}
	// A filled database is not filled twice.
	if _, err := Fill(ctx, FillOptions{Traffic: tr, Store: cfg}); err == nil {
		t.Error("a second fill into the same database succeeded")
	}

	bin, err := BuildDashboard(ctx, "../..", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	d, err := StartDashboard(ctx, bin, cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Stop()

	if _, err := NewUser(ctx, d.URL, d.User, "not-the-password"); err == nil {
		t.Error("Login with a wrong password succeeded")
	}
	end := tr.End
	if end.IsZero() {
		end = DefaultEnd
	}
	r := LastDays(end, tr.Days)
	stats, err := Bench(ctx, BenchOptions{URL: d.URL, User: d.User, Password: d.Password, Site: LargestSite,
		Ranges: []Range{r}, Concurrency: []int{2}, Rounds: 2}, testWriter{t})
	if err != nil {
		t.Fatal(err)
	}
	// Every report and the three pages of the session explorer.
	if want := len(Endpoints(LargestSite, r.From, r.To)) + 3; len(stats) != want {
		t.Fatalf("%d endpoints measured, want %d", len(stats), want)
	}
	for _, s := range stats {
		if s.Errors > 0 || s.Requests != 4 || s.P50 <= 0 || s.P99 < s.P50 {
			t.Errorf("%s: %d ok, %d errors (%s), p50 %s p99 %s", s.Endpoint.Name, s.Requests, s.Errors, s.FirstError, s.P50, s.P99)
		}
	}

	// The summary the load tool timed shows the events the filler wrote.
	users, err := Users(ctx, d.URL, d.User, d.Password, 1)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := users[0].Get(d.URL + Endpoints(LargestSite, r.From, r.To)[1].Path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var sum struct{ Sessions, Pageviews uint64 }
	if err := json.NewDecoder(resp.Body).Decode(&sum); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("summary: %s, %v", resp.Status, err)
	}
	sites, _ := tr.SiteList()
	loc := sites[0].Location()
	from := time.Date(end.Year(), end.Month(), end.Day()-tr.Days, 0, 0, 0, 0, loc).Unix()
	to := time.Date(end.Year(), end.Month(), end.Day(), 0, 0, 0, 0, loc).Unix()
	where := fmt.Sprintf(`site_id = '%s' AND session_started_at >= toDateTime(%d) AND session_started_at < toDateTime(%d)
  AND session_id NOT IN (SELECT session_id FROM events WHERE site_id = '%s' AND is_bot = 1)`, LargestSite, from, to, LargestSite)
	wantSessions := testenv.ClientQuery(t, ch, cfg.Database, "SELECT uniqExact(session_id) FROM events WHERE "+where)
	wantPageviews := testenv.ClientQuery(t, ch, cfg.Database, "SELECT uniqExact(event_id) FROM events WHERE kind = 'pageview' AND "+where)
	if strconv.FormatUint(sum.Sessions, 10) != wantSessions || strconv.FormatUint(sum.Pageviews, 10) != wantPageviews || sum.Sessions == 0 {
		t.Errorf("dashboard summary: %d sessions, %d pageviews; the events table: %s, %s", sum.Sessions, sum.Pageviews, wantSessions, wantPageviews)
	}
}

// testWriter sends Bench's tables to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
