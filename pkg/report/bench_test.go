package report_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/teller-analytics/teller/internal/reporttest"
	"github.com/teller-analytics/teller/pkg/report"
)

// benchSite holds a month of synthetic traffic, written once per run of
// BenchmarkReports on the 18.16 server: about the 30 days of the largest
// site of issue 8 (200k sessions, 700k events).
const (
	benchSite     = "bench"
	benchSessions = 200000
)

var benchFrom = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

func seedBench(b *testing.B) {
	b.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	pages := []string{"/", "/pricing", "/signup", "/docs", "/docs/start", "/blog/a", "/blog/b", "/about"}
	channels := []string{"direct", "organic_search", "referral", "organic_social", "email"}
	sources := []string{"", "Google", "Hacker News", "X", "Newsletter"}
	browsers := []string{"Chrome", "Firefox", "Safari", "Edge"}
	var batch []reporttest.Event
	flush := func() {
		if err := reporttest.Insert(context.Background(), srv.Engines[0], batch); err != nil {
			b.Fatal(err)
		}
		batch = batch[:0]
	}
	for s := 0; s < benchSessions; s++ {
		sid := uuid.NewSHA1(uuid.NameSpaceOID, fmt.Appendf(nil, "bench/s/%d", s))
		vid := uuid.NewSHA1(uuid.NameSpaceOID, fmt.Appendf(nil, "bench/v/%d", s*2/3))
		start := benchFrom.Add(time.Duration(rng.Int64N(int64(30 * 24 * time.Hour)))).Truncate(time.Second)
		c := rng.IntN(len(channels))
		n := 1 + rng.IntN(6)
		for i := 0; i < n; i++ {
			kind, name := "pageview", "pageview"
			switch {
			case i > 0 && rng.IntN(10) == 0:
				kind, name = "event", "signup"
			case i > 0 && rng.IntN(4) == 0:
				kind, name = "engagement", "engagement"
			}
			e := reporttest.Event{
				ID: uuid.NewSHA1(sid, []byte{byte(i)}), Visitor: vid, Session: sid, Site: benchSite,
				TS: start.Add(time.Duration(i) * 20 * time.Second), Kind: kind, Name: name, Pathname: pages[rng.IntN(len(pages))],
				Channel: channels[c], ReferrerSource: sources[c], Browser: browsers[rng.IntN(len(browsers))], OS: "Linux", Device: "desktop",
				SessionStart: start, StartReason: "first_visit", IsStart: i == 0, ScreenWidth: uint16(360 + rng.IntN(1600)),
				EngagedMs: uint32(rng.IntN(60000)), ScrollDepth: uint8(rng.IntN(101)),
			}
			batch = append(batch, e)
		}
		if len(batch) >= 100000 {
			flush()
		}
	}
	flush()
}

// BenchmarkReports times every report over 30 days of benchSite on
// ClickHouse 18.16, with and without filters:
//
//	go test ./pkg/report -run '^$' -bench Reports -benchtime 20x
func BenchmarkReports(b *testing.B) {
	start := time.Now()
	seedBench(b)
	b.Logf("seeded %d sessions in %s", benchSessions, time.Since(start).Round(time.Millisecond))
	r := report.New(srv.DB)
	q := report.Query{Site: benchSite, From: benchFrom, To: benchFrom.AddDate(0, 0, 30)}
	fq := q
	fq.Filters = []report.Filter{{Dimension: report.Channels, Op: report.Is, Value: "organic_search"},
		{Dimension: report.Pages, Op: report.Contains, Value: "blog"}}
	ctx := context.Background()
	cases := []struct {
		name string
		run  func(q report.Query) error
	}{
		{"Summary", func(q report.Query) error { _, err := r.Summary(ctx, q); return err }},
		{"Compare", func(q report.Query) error { _, err := r.Compare(ctx, q); return err }},
		{"Compare/15d", func(q report.Query) error { // the previous period holds sessions too
			q.From = q.To.AddDate(0, 0, -15)
			_, err := r.Compare(ctx, q)
			return err
		}},
		{"Series/day", func(q report.Query) error {
			_, err := r.Series(ctx, q, time.UTC, report.MetricVisitors, report.Day)
			return err
		}},
		{"Breakdown/page", func(q report.Query) error { _, err := r.Breakdown(ctx, q, report.Pages, 10); return err }},
		{"Breakdown/channel", func(q report.Query) error { _, err := r.Breakdown(ctx, q, report.Channels, 10); return err }},
		{"Breakdown/screen", func(q report.Query) error { _, err := r.Breakdown(ctx, q, report.Screens, 10); return err }},
		{"Breakdown/event", func(q report.Query) error { _, err := r.Breakdown(ctx, q, report.Events, 10); return err }},
		{"PageEngagement", func(q report.Query) error { _, err := r.PageEngagement(ctx, q, 10); return err }},
		{"SessionList", func(q report.Query) error { _, err := r.SessionList(ctx, q, 50, ""); return err }},
		{"GoalConversions", func(q report.Query) error { _, err := r.GoalConversions(ctx, q, testGoals); return err }},
		{"Funnel", func(q report.Query) error { _, err := r.Funnel(ctx, q, testFunnel); return err }},
		{"Completeness", func(q report.Query) error { _, err := r.Completeness(ctx, q, time.UTC); return err }},
	}
	for _, c := range cases {
		for _, filtered := range []bool{false, true} {
			name := c.name
			qq := q
			if filtered {
				name, qq = name+"/filtered", fq
			}
			b.Run(name, func(b *testing.B) {
				var times []time.Duration
				for i := 0; i < b.N; i++ {
					t0 := time.Now()
					if err := c.run(qq); err != nil {
						b.Fatal(err)
					}
					times = append(times, time.Since(t0))
				}
				sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
				b.ReportMetric(float64(times[len(times)*95/100].Microseconds())/1000, "p95-ms")
			})
		}
	}
}
