package report_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/teller-analytics/teller/internal/chtest"
	"github.com/teller-analytics/teller/internal/reporttest"
	"github.com/teller-analytics/teller/pkg/report"
	"github.com/teller-analytics/teller/pkg/store"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// TestGoalsAndFunnels: conversions against the golden sessions' pages and
// events, and a funnel whose steps S1 alone takes in order.
func TestGoalsAndFunnels(t *testing.T) {
	each(t, func(t *testing.T, r *report.Reports, e *chtest.Engine) {
		q := mainQuery()
		got, err := r.GoalConversions(ctx(t), q, testGoals)
		if err != nil {
			t.Fatal(err)
		}
		from, args := sessionsOf(q, "1")
		var want [4][2]uint64
		golden(t, e, `SELECT uniqExactIf(x_visitor, has(x_pages, '/signup')), countIf(has(x_pages, '/signup')),
       uniqExactIf(x_visitor, arrayExists(p -> substring(p, 1, 6) = '/blog/', x_pages)), countIf(arrayExists(p -> substring(p, 1, 6) = '/blog/', x_pages)),
       uniqExactIf(x_visitor, has(x_events, 'signup_click')), countIf(has(x_events, 'signup_click')),
       uniqExactIf(x_visitor, has(x_pages, '/')), countIf(has(x_pages, '/'))
FROM `+from, args, func(rows store.Rows) error {
			return rows.Scan(&want[0][0], &want[0][1], &want[1][0], &want[1][1], &want[2][0], &want[2][1], &want[3][0], &want[3][1])
		})
		byHand := []uint64{1, 1, 1, 4} // S1; S3; S3; S1, S2, S4, S5
		for i, g := range got {
			if g.Goal != testGoals[i] || g.Visitors != want[i][0] || g.Conversions != want[i][1] || g.Conversions != byHand[i] ||
				!near(g.Rate, float64(byHand[i])/6) {
				t.Errorf("goal %s = %+v, want %d visitors, %d conversions of 6", testGoals[i].Name, g, want[i][0], byHand[i])
			}
		}

		funnel, err := r.Funnel(ctx(t), q, testFunnel)
		if err != nil {
			t.Fatal(err)
		}
		// / in S1, S2, S4, S5; then /pricing in S1; then /signup in S1.
		wantFunnel := []report.FunnelRow{
			{Step: testFunnel[0], Sessions: 4, Conversion: 4.0 / 6, DropOff: 2, DropOffRate: 2.0 / 6},
			{Step: testFunnel[1], Sessions: 1, Conversion: 1.0 / 6, DropOff: 3, DropOffRate: 3.0 / 4},
			{Step: testFunnel[2], Sessions: 1, Conversion: 1.0 / 6, DropOff: 0, DropOffRate: 0},
		}
		if !funnelEqual(funnel, wantFunnel) {
			t.Errorf("Funnel =\n%+v\nwant\n%+v", funnel, wantFunnel)
		}
		// The order counts: S1 reached /pricing before /signup.
		reversed := []report.FunnelStep{{Kind: report.GoalPage, Pattern: "/signup"}, {Kind: report.GoalPage, Pattern: "/pricing"}}
		funnel, err = r.Funnel(ctx(t), q, reversed)
		if err != nil {
			t.Fatal(err)
		}
		if funnel[0].Sessions != 1 || funnel[1].Sessions != 0 {
			t.Errorf("signup then pricing = %+v, want 1 then 0", funnel)
		}
		// An event step, and a filter.
		fq := q
		fq.Filters = []report.Filter{{Dimension: report.Referrers, Op: report.Is, Value: "news.ycombinator.com"}}
		funnel, err = r.Funnel(ctx(t), fq, []report.FunnelStep{{Kind: report.GoalPage, Pattern: "/blog/*"}, {Kind: report.GoalEvent, Pattern: "signup_click"}})
		if err != nil {
			t.Fatal(err)
		}
		if funnel[0].Sessions != 1 || funnel[1].Sessions != 1 || !near(funnel[1].Conversion, 1) {
			t.Errorf("blog then signup_click from HN = %+v, want S3 through both", funnel)
		}
	})
}

func funnelEqual(a, b []report.FunnelRow) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Step != b[i].Step || a[i].Sessions != b[i].Sessions || a[i].DropOff != b[i].DropOff ||
			!near(a[i].Conversion, b[i].Conversion) || !near(a[i].DropOffRate, b[i].DropOffRate) {
			return false
		}
	}
	return true
}

// TestGoalStore: goals saved, changed and removed on both engines.
func TestGoalStore(t *testing.T) {
	each(t, func(t *testing.T, r *report.Reports, e *chtest.Engine) {
		c := context.Background()
		s := report.NewGoalStore(e)
		site := "goals-" + strings.ReplaceAll(e.Name, ".", "-")
		g, err := s.SaveGoal(c, report.Goal{Site: site, Name: "Signed up", Kind: report.GoalPage, Pattern: "/signup"})
		if err != nil {
			t.Fatal(err)
		}
		h, err := s.SaveGoal(c, report.Goal{Site: site, Name: "Clicked", Kind: report.GoalEvent, Pattern: "signup_click"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.SaveGoal(c, report.Goal{Site: "another-" + site, Name: "Other", Kind: report.GoalPage, Pattern: "/"}); err != nil {
			t.Fatal(err)
		}
		if g.ID == "" || g.ID == h.ID {
			t.Fatalf("ids %q and %q", g.ID, h.ID)
		}
		g.Name, g.Pattern = "Read the blog", "/blog/*"
		if _, err := s.SaveGoal(c, g); err != nil {
			t.Fatal(err)
		}
		list, err := s.ListGoals(c, site)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(list, []report.Goal{g, h}) {
			t.Errorf("goals = %+v, want %+v", list, []report.Goal{g, h})
		}
		if err := s.DeleteGoal(c, site, g.ID); err != nil {
			t.Fatal(err)
		}
		if list, err = s.ListGoals(c, site); err != nil || !reflect.DeepEqual(list, []report.Goal{h}) {
			t.Errorf("after delete: %+v, %v", list, err)
		}
		for _, bad := range []report.Goal{
			{Site: site, Name: "x", Kind: report.GoalPage, Pattern: "signup"},
			{Site: site, Name: "x", Kind: report.GoalPage, Pattern: "/a*b"},
			{Site: site, Name: "x", Kind: "visit", Pattern: "/"},
			{Site: site, Name: "", Kind: report.GoalPage, Pattern: "/"},
			{Site: site, Name: "x", Kind: report.GoalEvent, Pattern: strings.Repeat("e", report.MaxGoalPattern+1)},
		} {
			if _, err := s.SaveGoal(c, bad); !errors.Is(err, report.ErrInvalidQuery) {
				t.Errorf("SaveGoal(%+v) = %v, want ErrInvalidQuery", bad, err)
			}
		}
	})
}

// TestPagesEngagementAndProps: engagement and scroll per page, and the
// properties of the custom event, against golden SQL.
func TestPagesEngagementAndProps(t *testing.T) {
	each(t, func(t *testing.T, r *report.Reports, e *chtest.Engine) {
		q := mainQuery()
		got, err := r.PageEngagement(ctx(t), q, report.MaxLimit)
		if err != nil {
			t.Fatal(err)
		}
		from, args := sessionsOf(q, "1")
		want := []report.PageEngagement{}
		golden(t, e, `SELECT pathname AS p, countIf(kind = 'pageview') AS n, uniqExactIf(visitor_id, kind = 'pageview'),
       if(countIf(kind = 'engagement') = 0, 0, avgIf(engaged_ms, kind = 'engagement') / 1000),
       if(countIf(kind = 'engagement') = 0, 0, avgIf(scroll_depth, kind = 'engagement')),
       if(countIf(kind = 'engagement') = 0, 0, toFloat64(medianExactIf(scroll_depth, kind = 'engagement')))
FROM events FINAL
WHERE session_id IN (SELECT x_id FROM `+from+`) AND is_bot = 0
GROUP BY p HAVING n > 0 ORDER BY n DESC, p`, args, func(rows store.Rows) error {
			var p report.PageEngagement
			err := rows.Scan(&p.Path, &p.Pageviews, &p.Visitors, &p.AvgEngagedSec, &p.AvgScroll, &p.MedianScroll)
			want = append(want, p)
			return err
		})
		if !reflect.DeepEqual(got, want) {
			t.Errorf("PageEngagement =\n%+v\nwant\n%+v", got, want)
		}
		if len(got) == 0 || got[0].Path != "/" || got[0].AvgEngagedSec != 8 || got[0].AvgScroll != 75 || got[0].MedianScroll != 75 {
			t.Errorf("/ = %+v, want S4's 8 s and 75 %%", got)
		}

		props, err := r.EventProps(ctx(t), q, "signup_click", 10)
		if err != nil {
			t.Fatal(err)
		}
		wantProps := []report.PropRow{{Key: "from", Value: "blog", Visitors: 1, Sessions: 1, Events: 1},
			{Key: "plan", Value: "pro", Visitors: 1, Sessions: 1, Events: 1}}
		if !reflect.DeepEqual(props, wantProps) {
			t.Errorf("EventProps = %+v, want %+v", props, wantProps)
		}
		if props, err := r.EventProps(ctx(t), q, "no_such_event", 10); err != nil || len(props) != 0 {
			t.Errorf("EventProps of an unknown event = %+v, %v", props, err)
		}
	})
}

// TestRealtimeBotsAndCompleteness: the last five minutes, the bot report,
// the refused messages and the completeness line, on the data set.
func TestRealtimeBotsAndCompleteness(t *testing.T) {
	berlin := reporttest.Location()
	each(t, func(t *testing.T, r *report.Reports, e *chtest.Engine) {
		// (09:00:10, 09:01:10]: S1's /pricing, / and /signup, not its first /.
		rt, err := r.Realtime(ctx(t), reporttest.SiteID, utc("2024-03-10T09:01:10Z"), false)
		if err != nil {
			t.Fatal(err)
		}
		if want := (report.Realtime{Visitors: 1, Pages: []report.Row{{Key: "/signup", Visitors: 1}}}); !reflect.DeepEqual(rt, want) {
			t.Errorf("Realtime = %+v, want %+v", rt, want)
		}
		rt, err = r.Realtime(ctx(t), reporttest.SiteID, utc("2024-03-11T06:00:30Z"), false)
		if err != nil || rt.Visitors != 0 || len(rt.Pages) != 0 {
			t.Errorf("Realtime with only a bot = %+v, %v", rt, err)
		}
		rt, err = r.Realtime(ctx(t), reporttest.SiteID, utc("2024-03-11T06:00:30Z"), true)
		if err != nil || rt.Visitors != 1 || rt.Pages[0].Key != "/robots-only" {
			t.Errorf("Realtime with bots = %+v, %v", rt, err)
		}

		bots, err := r.Bots(ctx(t), mainQuery(), 10)
		if err != nil {
			t.Fatal(err)
		}
		if want := []report.BotRow{{Reason: "crawler:Googlebot", Sessions: 1, Events: 2}}; !reflect.DeepEqual(bots, want) {
			t.Errorf("Bots = %+v, want %+v", bots, want)
		}
		series, err := r.BotSeries(ctx(t), mainQuery(), berlin, report.Day)
		if err != nil {
			t.Fatal(err)
		}
		var line []string
		for _, p := range series {
			line = append(line, p.Label+" "+p.Reason+" "+itoa(p.Sessions)+"/"+itoa(p.Events))
		}
		if want := []string{"2024-03-10 crawler:Googlebot 0/0", "2024-03-11 crawler:Googlebot 1/2", "2024-03-12 crawler:Googlebot 0/0"}; !reflect.DeepEqual(line, want) {
			t.Errorf("BotSeries = %q, want %q", line, want)
		}

		from, to := reporttest.Range()
		rejected, err := r.Rejected(ctx(t), from, to, berlin)
		if err != nil {
			t.Fatal(err)
		}
		wantRejected := []report.RejectedRow{{Day: "2024-03-10", Reason: "invalid event: not a JSON event", Messages: 2},
			{Day: "2024-03-11", Reason: "invalid event: unknown version 9", Messages: 1},
			{Day: "2024-03-12", Reason: "invalid event: field site_id", Messages: 1}}
		if !reflect.DeepEqual(rejected, wantRejected) {
			t.Errorf("Rejected = %+v, want %+v (each message once though written twice)", rejected, wantRejected)
		}

		days, err := r.Completeness(ctx(t), mainQuery(), berlin)
		if err != nil {
			t.Fatal(err)
		}
		stored := map[string]uint64{}
		golden(t, e, `SELECT toString(toDate(ts, 'Europe/Berlin')) AS d, count() FROM events FINAL WHERE site_id = ? GROUP BY d`,
			[]any{reporttest.SiteID}, func(rows store.Rows) error {
				var d string
				var n uint64
				err := rows.Scan(&d, &n)
				stored[d] = n
				return err
			})
		want := []report.CompletenessDay{{Day: "2024-03-10", Accepted: 6, Stored: stored["2024-03-10"]},
			{Day: "2024-03-11", Accepted: 4, Stored: stored["2024-03-11"]}, {Day: "2024-03-12", Accepted: 5, Stored: stored["2024-03-12"]}}
		if !reflect.DeepEqual(days, want) || want[2].Stored != 4 {
			t.Errorf("Completeness = %+v, want %+v", days, want)
		}
	})
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

// TestShownSQLRuns: the statements a report logs, pasted as they are,
// give the report's figures; a quote in a filter value stays inside its
// literal.
func TestShownSQLRuns(t *testing.T) {
	each(t, func(t *testing.T, r *report.Reports, e *chtest.Engine) {
		for _, value := range []string{"organic_search", `x' OR 1 = 1 --`, `back\slash'`} {
			var log report.SQLLog
			q := mainQuery()
			q.Filters = []report.Filter{{Dimension: report.Channels, Op: report.IsNot, Value: value}}
			rows, err := r.Breakdown(report.WithSQLLog(ctx(t), &log), q, report.Channels, 10)
			if err != nil {
				t.Fatal(err)
			}
			stmts := log.Statements()
			if len(stmts) != 1 || strings.Contains(stmts[0], "?") {
				t.Fatalf("logged %q", stmts)
			}
			var pasted []string
			res, err := e.Query(context.Background(), stmts[0])
			if err != nil {
				t.Fatalf("the shown SQL does not run: %v\n%s", err, stmts[0])
			}
			for res.Next() {
				var k string
				var v, s, p, ev, b, d uint64
				if err := res.Scan(&k, &v, &s, &p, &ev, &b, &d); err != nil {
					t.Fatal(err)
				}
				pasted = append(pasted, k)
			}
			res.Close()
			var keys []string
			for _, row := range rows {
				keys = append(keys, row.Key)
			}
			if !reflect.DeepEqual(keys, pasted) || len(keys) == 0 {
				t.Errorf("%q: report keys %q, pasted SQL %q", value, keys, pasted)
			}
		}
	})
	if got := report.Inline("SELECT ?, '?', ?", "a'b\\c", int64(3)); got != `SELECT 'a\'b\\c', '?', 3` {
		t.Errorf("Inline = %s", got)
	}
}

// TestCSV: RFC 4180 quoting and formula-inert cells, against a golden file.
func TestCSV(t *testing.T) {
	rows := []report.Row{
		{Key: "/", Visitors: 3, Sessions: 4, Pageviews: 5, BounceRate: 0.25, AvgDurationSec: 12.5},
		{Key: "=HYPERLINK(\"http://evil\")", Visitors: 1, Sessions: 1},
		{Key: "+1", Sessions: 1}, {Key: "-2", Sessions: 1}, {Key: "@SUM(A1)", Sessions: 1}, {Key: "\tx", Sessions: 1},
		{Key: "a,b \"quoted\"\nnext line", Sessions: 1}, {Key: "", Sessions: 2},
	}
	sessions := []report.SessionRow{{ID: reporttest.SessionID("S1"), Visitor: reporttest.VisitorID("V1"), Started: utc("2024-03-10T09:00:00Z"),
		DurationMs: 65500, Pageviews: 4, Events: 4, EntryPath: "/", ExitPath: "=cmd|' /C calc'!A0", Channel: "organic_search", StartReason: "first_visit"}}
	var b bytes.Buffer
	if err := report.WriteCSV(&b, rows); err != nil {
		t.Fatal(err)
	}
	if err := report.WriteCSV(&b, sessions); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "export.csv")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run TestCSV -update once)", err)
	}
	if !bytes.Equal(b.Bytes(), want) {
		t.Errorf("CSV =\n%s\nwant (%s)\n%s", b.Bytes(), path, want)
	}
	for _, line := range strings.Split(b.String(), "\r\n") {
		for _, cell := range strings.Split(line, ",") {
			if cell != "" && strings.ContainsRune("=+-@\t", rune(strings.TrimPrefix(cell, `"`)[0])) {
				t.Errorf("cell %q would run as a formula", cell)
			}
		}
	}
}

// TestParseInput: what a stranger can send is checked and bounded.
func TestParseInput(t *testing.T) {
	good := map[string]report.Filter{
		"channel:is:direct":      {Dimension: report.Channels, Op: report.Is, Value: "direct"},
		"page:is:/a:b":           {Dimension: report.Pages, Op: report.Is, Value: "/a:b"},
		"pages:contains:blog":    {Dimension: report.Pages, Op: report.Contains, Value: "blog"},
		"referrer:is:":           {Dimension: report.Referrers, Op: report.Is, Value: ""},
		"event:not_contains:x":   {Dimension: report.Events, Op: report.NotContains, Value: "x"},
		"screen:is_not:992-1439": {Dimension: report.Screens, Op: report.IsNot, Value: "992-1439"},
		"country:is:DE":          {Dimension: report.Countries, Op: report.Is, Value: "DE"},
	}
	for s, want := range good {
		got, err := report.ParseFilter(s)
		if err != nil || got != want {
			t.Errorf("ParseFilter(%q) = %+v, %v; want %+v", s, got, err, want)
		}
		if err == nil && s != "pages:contains:blog" && got.String() != s {
			t.Errorf("%+v.String() = %q, want %q", got, got.String(), s)
		}
	}
	bad := []string{"", "channel", "channel:is", "nope:is:x", "channel:like:x", "channel:contains:",
		"channel:is:" + strings.Repeat("x", report.MaxFilterValue+1), "channel:is:\xff", "channel:is:a\x00b"}
	for _, s := range bad {
		if _, err := report.ParseFilter(s); !errors.Is(err, report.ErrInvalidQuery) {
			t.Errorf("ParseFilter(%q) = %v, want ErrInvalidQuery", s, err)
		}
	}
	many := make([]string, report.MaxFilters+1)
	for i := range many {
		many[i] = "channel:is:direct"
	}
	if _, err := report.ParseFilters(many); !errors.Is(err, report.ErrInvalidQuery) {
		t.Errorf("%d filters: %v", len(many), err)
	}
	if _, err := report.ParseID("not-a-uuid"); !errors.Is(err, report.ErrInvalidQuery) {
		t.Errorf("ParseID: %v", err)
	}
	if id, err := report.ParseID(reporttest.SessionID("S1").String()); err != nil || id != reporttest.SessionID("S1") {
		t.Errorf("ParseID of a UUID: %v, %v", id, err)
	}
	for _, s := range []string{"x", "pie"} {
		if _, err := report.ParseMetric(s); !errors.Is(err, report.ErrInvalidQuery) {
			t.Errorf("ParseMetric(%q): %v", s, err)
		}
		if _, err := report.ParseInterval(s); !errors.Is(err, report.ErrInvalidQuery) {
			t.Errorf("ParseInterval(%q): %v", s, err)
		}
	}

	r := report.New(srv.DB)
	invalid := map[string]func() error{
		"a bad cursor": func() error { _, err := r.SessionList(ctx(t), mainQuery(), 5, "12_nope"); return err },
		"a funnel of one step": func() error {
			_, err := r.Funnel(ctx(t), mainQuery(), testFunnel[:1])
			return err
		},
		"an unvalidated filter": func() error {
			q := mainQuery()
			q.Filters = []report.Filter{{Dimension: "nope", Op: report.Is}}
			_, err := r.Summary(ctx(t), q)
			return err
		},
		"a goal with a bad pattern": func() error {
			_, err := r.GoalConversions(ctx(t), mainQuery(), []report.Goal{{Kind: report.GoalPage, Pattern: "x"}})
			return err
		},
		"an hour series of a century": func() error {
			q := report.Query{Site: "x", From: utc("1950-01-01T00:00:00Z"), To: utc("2050-01-01T00:00:00Z")}
			_, err := r.Series(ctx(t), q, time.UTC, report.MetricVisitors, report.Hour)
			return err
		},
		"an unnamed zone": func() error {
			_, err := r.Completeness(ctx(t), mainQuery(), time.FixedZone("", 3600))
			return err
		},
	}
	for name, run := range invalid {
		if err := run(); !errors.Is(err, report.ErrInvalidQuery) {
			t.Errorf("%s: %v, want ErrInvalidQuery", name, err)
		}
	}
}
