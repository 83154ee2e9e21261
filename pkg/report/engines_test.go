package report_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/teller-analytics/teller/internal/chtest"
	"github.com/teller-analytics/teller/internal/reporttest"
	"github.com/teller-analytics/teller/pkg/report"
	"github.com/teller-analytics/teller/schema"
)

// everyReport runs each report query of Reports once on the data set. A new
// report method is one more line here; TestEveryReportOnBothEngines fails
// until it has one.
var everyReport = map[string]func(ctx context.Context, r *report.Reports) (any, error){
	"Summary": func(ctx context.Context, r *report.Reports) (any, error) {
		return r.Summary(ctx, withBots(mainQuery()))
	},
	"Sessions": func(ctx context.Context, r *report.Reports) (any, error) {
		return r.Sessions(ctx, withBots(mainQuery()), report.MaxLimit)
	},
	"Timeseries": func(ctx context.Context, r *report.Reports) (any, error) {
		return r.Timeseries(ctx, withBots(mainQuery()), reporttest.Location())
	},
	"Breakdown": func(ctx context.Context, r *report.Reports) (any, error) {
		var all [][]report.Row
		for _, dim := range report.Dimensions() {
			rows, err := r.Breakdown(ctx, withBots(mainQuery()), dim, report.MaxLimit)
			if err != nil {
				return nil, err
			}
			all = append(all, rows)
		}
		return all, nil
	},
	"Breakdowns": func(ctx context.Context, r *report.Reports) (any, error) {
		return r.Breakdowns(ctx, withBots(mainQuery()), report.Dimensions(), 2)
	},
	"Compare": func(ctx context.Context, r *report.Reports) (any, error) {
		return r.Compare(ctx, withBots(mainQuery()))
	},
	"Series": func(ctx context.Context, r *report.Reports) (any, error) {
		var all [][]report.Point
		for _, iv := range report.Intervals() {
			p, err := r.Series(ctx, withBots(mainQuery()), reporttest.Location(), report.MetricBounceRate, iv)
			if err != nil {
				return nil, err
			}
			all = append(all, p)
		}
		return all, nil
	},
	"WithPreviousCache": func(ctx context.Context, r *report.Reports) (any, error) {
		// The second of each pair is answered from the kept figures.
		r.WithPreviousCache(report.NewPreviousCache(0))
		var all []any
		for range 2 {
			c, err := r.Compare(ctx, withBots(mainQuery()))
			if err != nil {
				return nil, err
			}
			o, err := r.Overview(ctx, withBots(mainQuery()), reporttest.Location(), report.MetricSessions, report.Day, true)
			if err != nil {
				return nil, err
			}
			all = append(all, c, o)
		}
		return all, nil
	},
	"WithClosedCache": func(ctx context.Context, r *report.Reports) (any, error) { return closedReports(ctx, r, false) },
	"WithClock":       func(ctx context.Context, r *report.Reports) (any, error) { return closedReports(ctx, r, false) },
	"WithPartMarks":   func(ctx context.Context, r *report.Reports) (any, error) { return closedReports(ctx, r, true) },
	"Overview": func(ctx context.Context, r *report.Reports) (any, error) {
		var all []report.Overview
		for _, compare := range []bool{true, false} {
			for _, iv := range report.Intervals() {
				o, err := r.Overview(ctx, withBots(mainQuery()), reporttest.Location(), report.MetricBounceRate, iv, compare)
				if err != nil {
					return nil, err
				}
				all = append(all, o)
			}
		}
		return all, nil
	},
	"SessionList": func(ctx context.Context, r *report.Reports) (any, error) {
		var pages []report.SessionPage
		cursor := ""
		for {
			p, err := r.SessionList(ctx, withBots(mainQuery()), 2, cursor)
			if err != nil {
				return nil, err
			}
			pages = append(pages, p)
			if cursor = p.Next; cursor == "" {
				return pages, nil
			}
		}
	},
	"SessionPath": func(ctx context.Context, r *report.Reports) (any, error) {
		var all []report.SessionDetail
		for _, n := range []string{"S1", "S3", "S4", "S5"} {
			d, _, err := r.SessionPath(ctx, mainQuery(), reporttest.SessionID(n))
			if err != nil {
				return nil, err
			}
			all = append(all, d)
		}
		return all, nil
	},
	"VisitorSessions": func(ctx context.Context, r *report.Reports) (any, error) {
		return r.VisitorSessions(ctx, mainQuery(), reporttest.VisitorID("V1"), report.MaxLimit)
	},
	"GoalConversions": func(ctx context.Context, r *report.Reports) (any, error) {
		return r.GoalConversions(ctx, withBots(mainQuery()), testGoals)
	},
	"Funnel": func(ctx context.Context, r *report.Reports) (any, error) {
		return r.Funnel(ctx, withBots(mainQuery()), testFunnel)
	},
	"PageEngagement": func(ctx context.Context, r *report.Reports) (any, error) {
		return r.PageEngagement(ctx, withBots(mainQuery()), report.MaxLimit)
	},
	"EventProps": func(ctx context.Context, r *report.Reports) (any, error) {
		return r.EventProps(ctx, mainQuery(), "signup_click", report.MaxLimit)
	},
	"Realtime": func(ctx context.Context, r *report.Reports) (any, error) {
		return r.Realtime(ctx, reporttest.SiteID, utc("2024-03-10T09:01:10Z"), false)
	},
	"Bots": func(ctx context.Context, r *report.Reports) (any, error) {
		return r.Bots(ctx, mainQuery(), report.MaxLimit)
	},
	"BotSeries": func(ctx context.Context, r *report.Reports) (any, error) {
		return r.BotSeries(ctx, mainQuery(), reporttest.Location(), report.Day)
	},
	"Rejected": func(ctx context.Context, r *report.Reports) (any, error) {
		from, to := reporttest.Range()
		return r.Rejected(ctx, from, to, reporttest.Location())
	},
	"Completeness": func(ctx context.Context, r *report.Reports) (any, error) {
		return r.Completeness(ctx, mainQuery(), reporttest.Location())
	},
	"TopPages":     func(ctx context.Context, r *report.Reports) (any, error) { return r.TopPages(ctx, mainQuery(), 3) },
	"EntryPages":   func(ctx context.Context, r *report.Reports) (any, error) { return r.EntryPages(ctx, mainQuery(), 3) },
	"ExitPages":    func(ctx context.Context, r *report.Reports) (any, error) { return r.ExitPages(ctx, mainQuery(), 3) },
	"TopReferrers": func(ctx context.Context, r *report.Reports) (any, error) { return r.TopReferrers(ctx, mainQuery(), 3) },
	"Channels":     func(ctx context.Context, r *report.Reports) (any, error) { return r.Channels(ctx, mainQuery(), 3) },
}

// testGoals and testFunnel match parts of the data set: pages exactly and
// by prefix, and a custom event.
var (
	testGoals = []report.Goal{
		{ID: "g1", Site: reporttest.SiteID, Name: "Signed up", Kind: report.GoalPage, Pattern: "/signup"},
		{ID: "g2", Site: reporttest.SiteID, Name: "Read the blog", Kind: report.GoalPage, Pattern: "/blog/*"},
		{ID: "g3", Site: reporttest.SiteID, Name: "Clicked sign-up", Kind: report.GoalEvent, Pattern: "signup_click"},
		{ID: "g4", Site: reporttest.SiteID, Name: "Home", Kind: report.GoalPage, Pattern: "/"},
	}
	testFunnel = []report.FunnelStep{{Kind: report.GoalPage, Pattern: "/"}, {Kind: report.GoalPage, Pattern: "/pricing"},
		{Kind: report.GoalPage, Pattern: "/sign*"}}
)

// TestEveryReportOnBothEngines: every query of Reports gives the same
// figures on ClickHouse 18.16 and on the current release. (The tests in
// report_test.go also assert each engine's figures against hand-computed
// ones.)
func TestEveryReportOnBothEngines(t *testing.T) {
	typ := reflect.TypeOf(&report.Reports{})
	for i := 0; i < typ.NumMethod(); i++ {
		name := typ.Method(i).Name
		t.Run(name, func(t *testing.T) {
			run, ok := everyReport[name]
			if !ok {
				t.Fatalf("Reports.%s is not in everyReport: add the line that runs it, so that it is checked on both engines", name)
			}
			got := chtest.Same(t, srv.Engines, name, func(e *chtest.Engine) (any, error) { return run(ctx(t), report.New(e)) })
			if v := reflect.ValueOf(got); v.IsZero() || (v.Kind() == reflect.Slice && v.Len() == 0) {
				t.Errorf("%s returned nothing: the comparison would prove little", name)
			}
		})
	}
}

// TestBounceHasOneDefinition: the sessions view's is_bounce is BounceSQL
// word for word, and on the same sessions the view and the reports agree,
// on both engines, with the boundaries GA4 draws.
func TestBounceHasOneDefinition(t *testing.T) {
	view, err := schema.Files.ReadFile("0003_sessions.sql")
	if err != nil {
		t.Fatal(err)
	}
	if want := "toUInt8(" + report.BounceSQL("pageviews", "duration_ms", "custom_events") + ") AS is_bounce"; !strings.Contains(string(view), want) {
		t.Errorf("schema/0003_sessions.sql does not define is_bounce as %q", want)
	}

	const site = "bounce-cases"
	day := time.Date(2024, 4, 1, 0, 0, 0, 0, time.UTC)
	type step struct {
		offsetMs int64
		kind     string
	}
	cases := []struct {
		name   string
		steps  []step
		bounce bool
	}{
		{"one pageview", []step{{0, "pageview"}}, true},
		{"two pageviews", []step{{0, "pageview"}, {1000, "pageview"}}, false},
		{"10000 ms", []step{{0, "pageview"}, {10000, "engagement"}}, true},
		{"10001 ms", []step{{0, "pageview"}, {10001, "engagement"}}, false},
		{"a custom event", []step{{0, "pageview"}, {1000, "event"}}, false},
	}
	var events []reporttest.Event
	want := map[string]bool{}
	names := map[string]string{}
	for i, c := range cases {
		sid := uuid.NewSHA1(uuid.NameSpaceOID, []byte("bounce/"+c.name))
		names[sid.String()] = c.name
		want[c.name] = c.bounce
		start := day.Add(time.Duration(i) * time.Hour)
		for j, s := range c.steps {
			events = append(events, reporttest.Event{
				ID: uuid.NewSHA1(sid, []byte{byte(j)}), Visitor: sid, Session: sid, Site: site,
				TS: start.Add(time.Duration(s.offsetMs) * time.Millisecond), Kind: s.kind, Name: s.kind, Pathname: "/",
				Channel: "direct", SessionStart: start, StartReason: "first_visit", IsStart: j == 0,
			})
		}
	}
	q := report.Query{Site: site, From: day, To: day.Add(24 * time.Hour)}
	each(t, func(t *testing.T, r *report.Reports, e *chtest.Engine) {
		if err := reporttest.Insert(ctx(t), e, events); err != nil {
			t.Fatal(err)
		}
		rows, err := e.Query(context.Background(), "SELECT toString(session_id), is_bounce FROM sessions WHERE site_id = ?", site)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		fromView := map[string]bool{}
		for rows.Next() {
			var id string
			var b uint8
			if err := rows.Scan(&id, &b); err != nil {
				t.Fatal(err)
			}
			fromView[names[id]] = b == 1
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(fromView, want) {
			t.Errorf("sessions view is_bounce = %v, want %v", fromView, want)
		}
		sessions, err := r.Sessions(ctx(t), q, 10)
		if err != nil {
			t.Fatal(err)
		}
		fromReport := map[string]bool{}
		for _, s := range sessions {
			fromReport[names[s.ID.String()]] = s.Bounce
		}
		if !reflect.DeepEqual(fromReport, want) {
			t.Errorf("report Sessions Bounce = %v, want %v", fromReport, want)
		}
		sum, err := r.Summary(ctx(t), q)
		if err != nil {
			t.Fatal(err)
		}
		if sum.Sessions != 5 || sum.BounceRate != 2.0/5 {
			t.Errorf("Summary: %d sessions, bounce rate %v; want 5 and 0.4", sum.Sessions, sum.BounceRate)
		}
	})
}

// closedReports runs the grouped reports twice on a ClosedCache whose cut
// lies in the middle of the data set's range (the second run answered from
// the kept figures), and fails unless each equals the report without it.
func closedReports(ctx context.Context, plain *report.Reports, byPart bool) (any, error) {
	q := withBots(mainQuery())
	mid := q.From.Add(q.To.Sub(q.From) / 2).UTC().Truncate(24 * time.Hour)
	r := *plain
	cached := r.WithClosedCache(report.NewClosedCache(0)).WithClock(func() time.Time { return mid.Add(49 * time.Hour) })
	if byPart {
		cached.WithPartMarks(report.NewPartMarks(0))
	}
	loc := reporttest.Location()
	dims := report.Dimensions()
	run := func(r *report.Reports) ([]any, error) {
		c, err := r.Compare(ctx, q)
		if err != nil {
			return nil, err
		}
		o, err := r.Overview(ctx, q, loc, report.MetricVisitors, report.Day, true)
		if err != nil {
			return nil, err
		}
		s, err := r.Series(ctx, q, loc, report.MetricSessions, report.Hour)
		if err != nil {
			return nil, err
		}
		b, err := r.Breakdowns(ctx, q, dims, 5)
		if err != nil {
			return nil, err
		}
		d, err := r.Completeness(ctx, q, loc)
		if err != nil {
			return nil, err
		}
		return []any{c, o, s, b, d}, nil
	}
	want, err := run(plain)
	if err != nil {
		return nil, err
	}
	var all []any
	for i := range 2 {
		got, err := run(cached)
		if err != nil {
			return nil, err
		}
		if !reflect.DeepEqual(got, want) {
			return nil, fmt.Errorf("run %d on a ClosedCache cut at %s:\n got %+v\nwant %+v", i, mid, got, want)
		}
		all = append(all, got...)
	}
	return all, nil
}
