package report_test

import (
	"context"
	"errors"
	"math"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/teller-analytics/teller/internal/chtest"
	"github.com/teller-analytics/teller/internal/reporttest"
	"github.com/teller-analytics/teller/pkg/report"
)

// srv holds the package's two engines, ClickHouse 18.16 and the current
// release, each seeded with reporttest's data set. Every test below runs
// on each (subtests named by release) and asserts the same figures.
var srv *reporttest.Server

func TestMain(m *testing.M) { os.Exit(reporttest.MainBoth(m, "pkg/report", &srv)) }

// ctx makes every query fail unless it selects by the partition key and
// the primary key: the report filters must stay index-friendly, on both
// engines.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return chtest.WithSettings(c, clickhouse.Settings{
		"force_index_by_date": 1,
		"force_primary_key":   1,
	})
}

// each runs fn as a subtest per engine with Reports reading that engine.
func each(t *testing.T, fn func(t *testing.T, r *report.Reports, e *chtest.Engine)) {
	t.Helper()
	chtest.Each(t, srv.Engines, func(t *testing.T, e *chtest.Engine) { fn(t, report.New(e), e) })
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// mainQuery is the data set's Berlin range without bots, read in
// mainStreams FINAL streams (0: the package's default).
func mainQuery() report.Query {
	from, to := reporttest.Range()
	return report.Query{Site: reporttest.SiteID, From: from, To: to}.WithFinalStreams(mainStreams)
}

// mainStreams is set only by TestFinalStreamsAgree.
var mainStreams int

func withBots(q report.Query) report.Query { q.IncludeBots = true; return q }

func TestSummary(t *testing.T) {
	each(t, func(t *testing.T, r *report.Reports, e *chtest.Engine) {
		tests := []struct {
			name string
			q    report.Query
			want report.Summary
		}{
			{"berlin days", mainQuery(), report.Summary{Visitors: 4, Sessions: 6, Pageviews: 10,
				BounceRate: 3.0 / 6, AvgDurationSec: 93.5 / 6, PageviewsPerSession: 10.0 / 6}},
			{"with bots", withBots(mainQuery()), report.Summary{Visitors: 5, Sessions: 7, Pageviews: 12,
				BounceRate: 3.0 / 7, AvgDurationSec: 94.5 / 7, PageviewsPerSession: 12.0 / 7}},
			{"one utc day", report.Query{Site: reporttest.SiteID, From: utc("2024-03-10T00:00:00Z"), To: utc("2024-03-11T00:00:00Z")},
				report.Summary{Visitors: 2, Sessions: 2, Pageviews: 5, BounceRate: 0.5, AvgDurationSec: 32.75, PageviewsPerSession: 2.5}},
			{"from is inclusive", report.Query{Site: reporttest.SiteID, From: utc("2024-03-09T23:00:00Z"), To: utc("2024-03-09T23:00:01Z")},
				report.Summary{Visitors: 1, Sessions: 1, Pageviews: 1, BounceRate: 1, PageviewsPerSession: 1}},
			{"to is exclusive", report.Query{Site: reporttest.SiteID, From: utc("2024-03-09T22:00:00Z"), To: utc("2024-03-09T23:00:00Z")},
				report.Summary{Visitors: 1, Sessions: 1, Pageviews: 1, BounceRate: 1, PageviewsPerSession: 1}},
			{"sub-second bounds", report.Query{Site: reporttest.SiteID,
				From: utc("2024-03-09T22:59:58Z").Add(500 * time.Millisecond), To: utc("2024-03-09T22:59:59Z").Add(500 * time.Millisecond)},
				report.Summary{Visitors: 1, Sessions: 1, Pageviews: 1, BounceRate: 1, PageviewsPerSession: 1}},
			{"other site", report.Query{Site: reporttest.OtherSiteID, From: utc("2024-03-01T00:00:00Z"), To: utc("2024-04-01T00:00:00Z")},
				report.Summary{Visitors: 1, Sessions: 1, Pageviews: 1, BounceRate: 1, PageviewsPerSession: 1}},
			{"no sessions", report.Query{Site: reporttest.SiteID, From: utc("2020-01-01T00:00:00Z"), To: utc("2020-02-01T00:00:00Z")},
				report.Summary{}},
			{"unknown site", report.Query{Site: "nope", From: utc("2024-03-01T00:00:00Z"), To: utc("2024-04-01T00:00:00Z")},
				report.Summary{}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := r.Summary(ctx(t), tt.q)
				if err != nil {
					t.Fatal(err)
				}
				if !summaryEqual(got, tt.want) {
					t.Errorf("Summary =\n%+v, want\n%+v", got, tt.want)
				}
			})
		}
	})
}

func summaryEqual(a, b report.Summary) bool {
	near := func(x, y float64) bool { return math.Abs(x-y) < 1e-9 }
	return a.Visitors == b.Visitors && a.Sessions == b.Sessions && a.Pageviews == b.Pageviews &&
		near(a.BounceRate, b.BounceRate) && near(a.AvgDurationSec, b.AvgDurationSec) &&
		near(a.PageviewsPerSession, b.PageviewsPerSession)
}

func TestBreakdowns(t *testing.T) {
	each(t, func(t *testing.T, r *report.Reports, e *chtest.Engine) {
		// The first four figures of each row; the others are checked by
		// TestBreakdownsMatchSQL.
		type rows = []figures
		tests := []struct {
			name  string
			q     report.Query
			dim   report.Dimension
			limit int
			want  rows
		}{
			{"pages", mainQuery(), report.Pages, 10, rows{
				{"/", 3, 4, 5}, {reporttest.XSSPath, 1, 1, 1}, {"/about", 1, 1, 1}, {"/blog/hello", 1, 1, 1},
				{"/pricing", 1, 1, 1}, {"/signup", 1, 1, 1}}},
			{"pages limited", mainQuery(), report.Pages, 2, rows{{"/", 3, 4, 5}, {reporttest.XSSPath, 1, 1, 1}}},
			{"pages with bots", withBots(mainQuery()), report.Pages, 2, rows{{"/", 4, 5, 6}, {reporttest.XSSPath, 1, 1, 1}}},
			{"pages of one utc day", report.Query{Site: reporttest.SiteID, From: utc("2024-03-10T00:00:00Z"), To: utc("2024-03-11T00:00:00Z")},
				report.Pages, 10, rows{{"/", 2, 2, 3}, {"/pricing", 1, 1, 1}, {"/signup", 1, 1, 1}}},
			{"entry pages", mainQuery(), report.EntryPages, 10, rows{
				{"/", 3, 3, 6}, {reporttest.XSSPath, 1, 1, 2}, {"/about", 1, 1, 1}, {"/blog/hello", 1, 1, 1}}},
			{"exit pages", mainQuery(), report.ExitPages, 10, rows{
				{"/", 2, 3, 4}, {"/signup", 1, 1, 4}, {"/about", 1, 1, 1}, {"/blog/hello", 1, 1, 1}}},
			{"referrers", mainQuery(), report.Referrers, 10, rows{
				{"google.com", 2, 2, 5}, {"", 2, 2, 2}, {"t.co", 1, 1, 2}, {"news.ycombinator.com", 1, 1, 1}}},
			{"referrers with bots", withBots(mainQuery()), report.Referrers, 1, rows{{"", 3, 3, 4}}},
			{"channels", mainQuery(), report.Channels, 10, rows{
				{"organic_search", 2, 2, 5}, {"direct", 2, 2, 2}, {"organic_social", 1, 1, 2}, {"referral", 1, 1, 1}}},
			{"no sessions", report.Query{Site: reporttest.SiteID, From: utc("2020-01-01T00:00:00Z"), To: utc("2020-01-02T00:00:00Z")},
				report.Channels, 10, rows{}},
			{"no pages", report.Query{Site: reporttest.SiteID, From: utc("2020-01-01T00:00:00Z"), To: utc("2020-01-02T00:00:00Z")},
				report.Pages, 10, rows{}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				all, err := r.Breakdown(ctx(t), tt.q, tt.dim, tt.limit)
				if err != nil {
					t.Fatal(err)
				}
				got := rows{}
				for _, row := range all {
					got = append(got, figures{row.Key, row.Visitors, row.Sessions, row.Pageviews})
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Errorf("%s =\n%+v, want\n%+v", tt.dim, got, tt.want)
				}
			})
		}
	})
}

// figures are a breakdown row's key, visitors, sessions and pageviews.
type figures struct {
	Key                           string
	Visitors, Sessions, Pageviews uint64
}

// TestNamedBreakdowns checks that each named method is its dimension.
func TestNamedBreakdowns(t *testing.T) {
	each(t, func(t *testing.T, r *report.Reports, e *chtest.Engine) {
		named := map[report.Dimension]func(context.Context, report.Query, int) ([]report.Row, error){
			report.Pages: r.TopPages, report.EntryPages: r.EntryPages, report.ExitPages: r.ExitPages,
			report.Referrers: r.TopReferrers, report.Channels: r.Channels,
		}
		for dim := range named {
			got, err := named[dim](ctx(t), mainQuery(), 10)
			if err != nil {
				t.Fatal(err)
			}
			want, err := r.Breakdown(ctx(t), mainQuery(), dim, 10)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) || len(got) == 0 {
				t.Errorf("%s: named method gives %+v, Breakdown %+v", dim, got, want)
			}
		}
	})
}

// TestPagesAddUpToSummary: the pages' pageviews are those of the summary's
// sessions.
func TestPagesAddUpToSummary(t *testing.T) {
	each(t, func(t *testing.T, r *report.Reports, e *chtest.Engine) {
		for _, q := range []report.Query{mainQuery(), withBots(mainQuery())} {
			pages, err := r.TopPages(ctx(t), q, report.MaxLimit)
			if err != nil {
				t.Fatal(err)
			}
			sum, err := r.Summary(ctx(t), q)
			if err != nil {
				t.Fatal(err)
			}
			var n uint64
			for _, p := range pages {
				n += p.Pageviews
			}
			if n != sum.Pageviews {
				t.Errorf("bots %v: pages add up to %d pageviews, summary has %d", q.IncludeBots, n, sum.Pageviews)
			}
		}
	})
}

func TestTimeseries(t *testing.T) {
	each(t, func(t *testing.T, r *report.Reports, e *chtest.Engine) {
		type days = []report.DayPoint
		berlin := reporttest.Location()
		tests := []struct {
			name string
			q    report.Query
			loc  *time.Location
			want days
		}{
			// S4 starts at 23:30 UTC on the 11th: the 12th in Berlin.
			{"berlin", mainQuery(), berlin, days{{"2024-03-10", 3, 3, 6}, {"2024-03-11", 1, 1, 1}, {"2024-03-12", 2, 2, 3}}},
			{"berlin with bots", withBots(mainQuery()), berlin, days{{"2024-03-10", 3, 3, 6}, {"2024-03-11", 2, 2, 3}, {"2024-03-12", 2, 2, 3}}},
			{"utc", report.Query{Site: reporttest.SiteID, From: utc("2024-03-09T00:00:00Z"), To: utc("2024-03-13T00:00:00Z")}, time.UTC,
				days{{"2024-03-09", 2, 2, 2}, {"2024-03-10", 2, 2, 5}, {"2024-03-11", 2, 2, 2}, {"2024-03-12", 2, 2, 3}}},
			{"zero-filled", report.Query{Site: reporttest.SiteID,
				From: time.Date(2024, 3, 7, 0, 0, 0, 0, berlin), To: time.Date(2024, 3, 10, 0, 0, 0, 0, berlin)}, berlin,
				days{{"2024-03-07", 0, 0, 0}, {"2024-03-08", 0, 0, 0}, {"2024-03-09", 1, 1, 1}}},
			{"nil zone is utc", report.Query{Site: reporttest.SiteID, From: utc("2024-03-12T00:00:00Z"), To: utc("2024-03-13T00:00:00Z")}, nil,
				days{{"2024-03-12", 2, 2, 3}}},
			// The last instant before To decides the last day: 12:00 on the 12th.
			{"partial days", report.Query{Site: reporttest.SiteID, From: utc("2024-03-10T12:00:00Z"), To: utc("2024-03-12T12:00:00Z")}, time.UTC,
				days{{"2024-03-10", 1, 1, 1}, {"2024-03-11", 2, 2, 2}, {"2024-03-12", 1, 1, 2}}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := r.Timeseries(ctx(t), tt.q, tt.loc)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Errorf("Timeseries =\n%+v, want\n%+v", got, tt.want)
				}
			})
		}
	})
}

func TestSessions(t *testing.T) {
	each(t, func(t *testing.T, r *report.Reports, e *chtest.Engine) {
		got, err := r.Sessions(ctx(t), mainQuery(), 50)
		if err != nil {
			t.Fatal(err)
		}
		var order []string
		names := map[string]string{}
		for _, n := range []string{"S0", "S1", "S2", "S3", "S4", "S5", "S6", "S7", "B1"} {
			names[reporttest.SessionID(n).String()] = n
		}
		bounces := map[string]bool{}
		for _, s := range got {
			n := names[s.ID.String()]
			order = append(order, n)
			bounces[n] = s.Bounce
		}
		if want := []string{"S5", "S4", "S3", "S2", "S1", "S6"}; !reflect.DeepEqual(order, want) {
			t.Fatalf("sessions = %v, want %v (latest first)", order, want)
		}
		if want := map[string]bool{"S5": false, "S4": true, "S3": false, "S2": true, "S1": false, "S6": true}; !reflect.DeepEqual(bounces, want) {
			t.Errorf("bounces = %v, want %v", bounces, want)
		}
		s1 := report.SessionRow{ID: reporttest.SessionID("S1"), Visitor: reporttest.VisitorID("V1"),
			Started: utc("2024-03-10T09:00:00Z"), DurationMs: 65500, Pageviews: 4, Events: 4,
			EntryPath: "/", ExitPath: "/signup", Referrer: "google.com", Channel: "organic_search",
			Browser: "Firefox", OS: "Linux", Device: "desktop", StartReason: "first_visit", Source: "Google"}
		if !reflect.DeepEqual(got[4], s1) {
			t.Errorf("S1 =\n%+v, want\n%+v", got[4], s1)
		}
		s3 := report.SessionRow{ID: reporttest.SessionID("S3"), Visitor: reporttest.VisitorID("V1"),
			Started: utc("2024-03-11T08:00:00Z"), DurationMs: 5000, Pageviews: 1, Events: 2,
			EntryPath: "/blog/hello", ExitPath: "/blog/hello", Referrer: "news.ycombinator.com", Channel: "referral",
			Browser: "Firefox", OS: "Linux", Device: "desktop", StartReason: "inactivity", Source: "Hacker News"}
		if !reflect.DeepEqual(got[2], s3) {
			t.Errorf("S3 =\n%+v, want\n%+v", got[2], s3)
		}

		got, err = r.Sessions(ctx(t), withBots(mainQuery()), 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].ID != reporttest.SessionID("S5") || got[1].ID != reporttest.SessionID("S4") {
			t.Errorf("limit 2: got %+v, want S5, S4", got)
		}
		got, err = r.Sessions(ctx(t), withBots(mainQuery()), 50)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 7 || got[3].ID != reporttest.SessionID("B1") || got[3].Device != "bot" || got[3].Bounce {
			t.Errorf("with bots: %d sessions, 4th %+v; want 7 with B1 4th, not a bounce", len(got), got[3])
		}
	})
}

// TestReplayAndMerge: replaying the data set once more, and then merging
// every part, changes no figure.
func TestReplayAndMerge(t *testing.T) {
	each(t, func(t *testing.T, r *report.Reports, e *chtest.Engine) {
		snapshot := func() []any {
			t.Helper()
			var out []any
			for _, q := range []report.Query{mainQuery(), withBots(mainQuery())} {
				sum, err := r.Summary(ctx(t), q)
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, sum)
				for _, dim := range report.Dimensions() {
					rows, err := r.Breakdown(ctx(t), q, dim, report.MaxLimit)
					if err != nil {
						t.Fatal(err)
					}
					out = append(out, rows)
				}
				days, err := r.Timeseries(ctx(t), q, reporttest.Location())
				if err != nil {
					t.Fatal(err)
				}
				sessions, err := r.Sessions(ctx(t), q, report.MaxLimit)
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, days, sessions)
			}
			return out
		}
		before := snapshot()
		if err := reporttest.Insert(ctx(t), e, reporttest.Events()); err != nil {
			t.Fatal(err)
		}
		if got := snapshot(); !reflect.DeepEqual(got, before) {
			t.Fatalf("after a replay:\n%+v\nbefore:\n%+v", got, before)
		}
		for _, table := range []string{"events", "session_versions"} {
			if err := e.Exec(context.Background(), "OPTIMIZE TABLE "+table+" FINAL"); err != nil {
				t.Fatal(err)
			}
		}
		if got := snapshot(); !reflect.DeepEqual(got, before) {
			t.Fatalf("after merges:\n%+v\nbefore:\n%+v", got, before)
		}
	})
}

func TestInvalidQueries(t *testing.T) {
	r := report.New(srv.DB)
	from, to := reporttest.Range()
	local := time.FixedZone("", 3600)
	tests := []struct {
		name string
		run  func() error
	}{
		{"no site", func() error { _, err := r.Summary(ctx(t), report.Query{From: from, To: to}); return err }},
		{"no from", func() error { _, err := r.Summary(ctx(t), report.Query{Site: "x", To: to}); return err }},
		{"empty range", func() error { _, err := r.Summary(ctx(t), report.Query{Site: "x", From: to, To: to}); return err }},
		{"reversed range", func() error { _, err := r.Sessions(ctx(t), report.Query{Site: "x", From: to, To: from}, 5); return err }},
		{"limit 0", func() error { _, err := r.TopPages(ctx(t), mainQuery(), 0); return err }},
		{"limit too big", func() error { _, err := r.Sessions(ctx(t), mainQuery(), report.MaxLimit+1); return err }},
		{"unknown dimension", func() error { _, err := r.Breakdown(ctx(t), mainQuery(), "countries", 5); return err }},
		{"unnamed zone", func() error { _, err := r.Timeseries(ctx(t), mainQuery(), local); return err }},
		{"local zone", func() error { _, err := r.Timeseries(ctx(t), mainQuery(), time.Local); return err }},
		{"9 FINAL streams", func() error { _, err := r.Summary(ctx(t), mainQuery().WithFinalStreams(9)); return err }},
		{"negative FINAL streams", func() error { _, err := r.Summary(ctx(t), mainQuery().WithFinalStreams(-1)); return err }},
		{"too many days", func() error {
			_, err := r.Timeseries(ctx(t), report.Query{Site: "x", From: utc("1900-01-01T00:00:00Z"), To: to}, time.UTC)
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.run(); !errors.Is(err, report.ErrInvalidQuery) {
				t.Errorf("err = %v, want ErrInvalidQuery", err)
			}
		})
	}
	if d, err := report.ParseDimension("exit_pages"); err != nil || d != report.ExitPages {
		t.Errorf("ParseDimension(exit_pages) = %q, %v", d, err)
	}
}
