package report_test

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/teller-analytics/teller/internal/chtest"
	"github.com/teller-analytics/teller/pkg/report"
	"github.com/teller-analytics/teller/pkg/store"
)

// The tests in this file check the reports against queries written here,
// separately from the package's builders: plain SQL over events FINAL (one
// row per event), one row per session with its entry attribution taken
// from the event flagged is_session_start. A report that agrees with them
// on both engines computes what the data set says.

// goldenSessions is one row per session of site ? that started in
// [?, ?), every column prefixed x_ so that no alias shadows a column.
const goldenSessions = `SELECT session_id AS x_id,
    any(visitor_id) AS x_visitor,
    min(session_started_at) AS x_started,
    countIf(kind = 'pageview') AS x_pv,
    countIf(kind = 'event') AS x_custom,
    toUInt64(max(ts_ms) - min(ts_ms)) AS x_dur,
    max(is_bot) AS x_bot,
    anyIf(pathname, is_session_start = 1) AS x_entry_page,
    argMax(pathname, ts_ms) AS x_exit_page,
    anyIf(referrer_source, is_session_start = 1) AS x_source,
    anyIf(referrer_domain, is_session_start = 1) AS x_referrer,
    anyIf(channel, is_session_start = 1) AS x_channel,
    anyIf(utm_source, is_session_start = 1) AS x_utm_source,
    anyIf(utm_medium, is_session_start = 1) AS x_utm_medium,
    anyIf(utm_campaign, is_session_start = 1) AS x_utm_campaign,
    anyIf(utm_term, is_session_start = 1) AS x_utm_term,
    anyIf(utm_content, is_session_start = 1) AS x_utm_content,
    anyIf(browser, is_session_start = 1) AS x_browser,
    anyIf(if(browser_version = '', browser, concat(browser, ' ', browser_version)), is_session_start = 1) AS x_browser_version,
    anyIf(os, is_session_start = 1) AS x_os,
    anyIf(device, is_session_start = 1) AS x_device,
    anyIf(multiIf(screen_width = 0, '', screen_width < 576, '<576', screen_width < 992, '576-991', screen_width < 1440, '992-1439', '1440+'),
          is_session_start = 1) AS x_screen,
    anyIf(country, is_session_start = 1) AS x_country,
    toString(any(session_start_reason)) AS x_start_reason,
    groupUniqArrayIf(pathname, kind = 'pageview') AS x_pages,
    groupUniqArrayIf(name, kind = 'event') AS x_events
FROM events FINAL
WHERE site_id = ? AND session_started_at >= toDateTime(?) AND session_started_at < toDateTime(?)
GROUP BY session_id`

// goldenBounce is GA4's rule, written out again.
const goldenBounce = "x_pv < 2 AND x_dur <= 10000 AND x_custom = 0"

// golden runs an expectation query (no index constraints: FINAL reads all).
func golden(t *testing.T, e *chtest.Engine, query string, args []any, scan func(store.Rows) error) {
	t.Helper()
	rows, err := e.Query(context.Background(), query, args...)
	if err != nil {
		t.Fatalf("golden query: %v\n%s", err, query)
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			t.Fatal(err)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
}

// sessionsOf is goldenSessions for q (bots left out unless asked), kept to
// those matching cond, as a subquery, with its arguments.
func sessionsOf(q report.Query, cond string) (string, []any) {
	where := cond
	if !q.IncludeBots {
		where = "(" + cond + ") AND x_bot = 0"
	}
	return "(SELECT * FROM (" + goldenSessions + ") WHERE " + where + ")", []any{q.Site, q.From.Unix(), q.To.Unix()}
}

func goldenSummary(t *testing.T, e *chtest.Engine, q report.Query, cond string) report.Summary {
	from, args := sessionsOf(q, cond)
	var s report.Summary
	golden(t, e, `SELECT uniqExact(x_visitor), count(), sum(x_pv), countIf(`+goldenBounce+`), sum(x_dur), sum(x_custom) FROM `+from, args,
		func(rows store.Rows) error {
			var bounces, dur uint64
			if err := rows.Scan(&s.Visitors, &s.Sessions, &s.Pageviews, &bounces, &dur, &s.Events); err != nil {
				return err
			}
			if s.Sessions > 0 {
				s.BounceRate = float64(bounces) / float64(s.Sessions)
				s.AvgDurationSec = float64(dur) / 1000 / float64(s.Sessions)
				s.PageviewsPerSession = float64(s.Pageviews) / float64(s.Sessions)
			}
			return nil
		})
	return s
}

// goldenBreakdown computes dim's rows for the sessions matching cond; for
// page and event, of their events matching rowCond (over pathname / name).
func goldenBreakdown(t *testing.T, e *chtest.Engine, q report.Query, dim report.Dimension, cond, rowCond string) []report.Row {
	from, args := sessionsOf(q, cond)
	var query string
	switch dim {
	case report.Pages, report.Events:
		kind, col, rank := "pageview", "pathname", "pageviews DESC, sessions DESC"
		pv, ev := "count()", "toUInt64(0)"
		if dim == report.Events {
			kind, col, rank = "event", "name", "sessions DESC, events DESC"
			pv, ev = "toUInt64(0)", "count()"
		}
		bots := " AND is_bot = 0"
		if q.IncludeBots {
			bots = ""
		}
		query = `SELECT ` + col + ` AS k, uniqExact(visitor_id), uniqExact(session_id) AS sessions, ` + pv + ` AS pageviews, ` + ev + ` AS events,
       toUInt64(0), toUInt64(0)
FROM events FINAL
WHERE session_id IN (SELECT x_id FROM ` + from + `) AND kind = '` + kind + `'` + bots + ` AND (` + rowCond + `)
GROUP BY k ORDER BY ` + rank + `, k`
	default:
		query = `SELECT x_` + string(dim) + ` AS k, uniqExact(x_visitor), count() AS sessions, sum(x_pv) AS pageviews, sum(x_custom),
       countIf(` + goldenBounce + `), sum(x_dur)
FROM ` + from + `
GROUP BY k ORDER BY sessions DESC, pageviews DESC, k`
	}
	out := []report.Row{}
	golden(t, e, query, args, func(rows store.Rows) error {
		var r report.Row
		var bounces, dur uint64
		if err := rows.Scan(&r.Key, &r.Visitors, &r.Sessions, &r.Pageviews, &r.Events, &bounces, &dur); err != nil {
			return err
		}
		if dim != report.Pages && dim != report.Events && r.Sessions > 0 {
			r.BounceRate = float64(bounces) / float64(r.Sessions)
			r.AvgDurationSec = float64(dur) / 1000 / float64(r.Sessions)
		}
		out = append(out, r)
		return nil
	})
	return out
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func rowsEqual(a, b []report.Row) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.Key != y.Key || x.Visitors != y.Visitors || x.Sessions != y.Sessions || x.Pageviews != y.Pageviews ||
			x.Events != y.Events || !near(x.BounceRate, y.BounceRate) || !near(x.AvgDurationSec, y.AvgDurationSec) {
			return false
		}
	}
	return true
}

// TestBreakdownsMatchSQL: every dimension's breakdown, with and without
// bots, equals the golden query's, and has a row with a non-empty key (so
// the data set exercises it).
func TestBreakdownsMatchSQL(t *testing.T) {
	each(t, func(t *testing.T, r *report.Reports, e *chtest.Engine) {
		for _, q := range []report.Query{mainQuery(), withBots(mainQuery())} {
			for _, dim := range report.Dimensions() {
				t.Run(fmt.Sprintf("%s/bots=%v", dim, q.IncludeBots), func(t *testing.T) {
					got, err := r.Breakdown(ctx(t), q, dim, report.MaxLimit)
					if err != nil {
						t.Fatal(err)
					}
					want := goldenBreakdown(t, e, q, dim, "1", "1")
					if !rowsEqual(got, want) {
						t.Errorf("Breakdown(%s) =\n%+v\nwant\n%+v", dim, got, want)
					}
					keyed := false
					for _, row := range got {
						keyed = keyed || row.Key != ""
					}
					if !keyed {
						t.Errorf("Breakdown(%s) has no row with a key: the data set does not exercise it", dim)
					}
				})
			}
		}
	})
}

// TestFilters: every operator on several dimensions, alone and combined,
// changes the summary, a session breakdown and the page breakdown as the
// golden queries say; want is the sessions counted by hand from the data
// set (reporttest), so the test cannot pass on an empty answer.
func TestFilters(t *testing.T) {
	contains := func(col, v string) string { return fmt.Sprintf("position(lowerUTF8(%s), lowerUTF8('%s')) > 0", col, v) }
	anyPage := func(cond string) string { return "arrayExists(p -> " + cond + ", x_pages)" }
	tests := []struct {
		filters  []string
		cond     string // over goldenSessions' columns
		pageRows string // which pageviews the page breakdown keeps
		want     uint64 // sessions, by hand
		// eventRows is which custom events the event breakdown keeps
		// ("" is all).
		eventRows string
	}{
		{[]string{"channel:is:organic_search"}, "x_channel = 'organic_search'", "1", 2, ""},
		{[]string{"channel:is_not:organic_search"}, "x_channel != 'organic_search'", "1", 4, ""},
		{[]string{"channel:contains:ORGANIC"}, contains("x_channel", "organic"), "1", 3, ""},
		{[]string{"channel:not_contains:organic"}, "NOT " + contains("x_channel", "organic"), "1", 3, ""},
		{[]string{"page:is:/"}, "has(x_pages, '/')", "pathname = '/'", 4, ""},
		{[]string{"page:is_not:/"}, "NOT has(x_pages, '/')", "pathname != '/'", 2, ""},
		{[]string{"page:contains:BLOG"}, anyPage(contains("p", "blog")), contains("pathname", "blog"), 1, ""},
		{[]string{"page:not_contains:blog"}, "NOT " + anyPage(contains("p", "blog")), "NOT " + contains("pathname", "blog"), 5, ""},
		{[]string{"event:is:signup_click"}, "has(x_events, 'signup_click')", "1", 1, "name = 'signup_click'"},
		{[]string{"event:is_not:signup_click"}, "NOT has(x_events, 'signup_click')", "1", 5, "name != 'signup_click'"},
		{[]string{"event:contains:SignUp"}, "arrayExists(n -> " + contains("n", "signup") + ", x_events)", "1", 1, contains("name", "signup")},
		{[]string{"event:not_contains:signup"}, "NOT arrayExists(n -> " + contains("n", "signup") + ", x_events)", "1", 5, "NOT " + contains("name", "signup")},
		{[]string{"entry_page:is:/"}, "x_entry_page = '/'", "1", 3, ""},
		{[]string{"exit_page:contains:sign"}, contains("x_exit_page", "sign"), "1", 1, ""},
		{[]string{"screen:is:<576"}, "x_screen = '<576'", "1", 2, ""},
		{[]string{"screen:is_not:1440+"}, "x_screen != '1440+'", "1", 4, ""},
		{[]string{"browser_version:is:Chrome 122"}, "x_browser_version = 'Chrome 122'", "1", 3, ""},
		{[]string{"source:is:Google"}, "x_source = 'Google'", "1", 2, ""},
		{[]string{"referrer:is:"}, "x_referrer = ''", "1", 2, ""},
		{[]string{"utm_campaign:is:spring"}, "x_utm_campaign = 'spring'", "1", 1, ""},
		{[]string{"start_reason:is:inactivity"}, "x_start_reason = 'inactivity'", "1", 2, ""},
		{[]string{"country:is:DE"}, "x_country = 'DE'", "1", 2, ""},
		{[]string{"country:is_not:DE"}, "x_country != 'DE'", "1", 4, ""},
		{[]string{"country:is:"}, "x_country = ''", "1", 1, ""},
		{[]string{"country:is:US", "device:is:mobile"}, "x_country = 'US' AND x_device = 'mobile'", "1", 1, ""},
		{[]string{"device:is:mobile", "os:is_not:iOS"}, "x_device = 'mobile' AND x_os != 'iOS'", "1", 1, ""},
		{[]string{"channel:is:organic_search", "page:is:/pricing"}, "x_channel = 'organic_search' AND has(x_pages, '/pricing')", "pathname = '/pricing'", 1, ""},
		{[]string{"page:is:/", "page:is_not:/pricing"}, "has(x_pages, '/') AND NOT has(x_pages, '/pricing')", "pathname = '/' AND pathname != '/pricing'", 3, ""},
		{[]string{"channel:is:nothing-like-this"}, "0", "1", 0, ""},
	}
	each(t, func(t *testing.T, r *report.Reports, e *chtest.Engine) {
		for _, tt := range tests {
			t.Run(strings.Join(tt.filters, "&"), func(t *testing.T) {
				filters, err := report.ParseFilters(tt.filters)
				if err != nil {
					t.Fatal(err)
				}
				q := mainQuery()
				q.Filters = filters
				sum, err := r.Summary(ctx(t), q)
				if err != nil {
					t.Fatal(err)
				}
				if want := goldenSummary(t, e, mainQuery(), tt.cond); !summaryEqual(sum, want) || sum.Events != want.Events {
					t.Errorf("Summary = %+v, want %+v", sum, want)
				}
				if sum.Sessions != tt.want {
					t.Errorf("%d sessions, want %d (by hand)", sum.Sessions, tt.want)
				}
				for _, dim := range []report.Dimension{report.Channels, report.Pages, report.Events} {
					got, err := r.Breakdown(ctx(t), q, dim, report.MaxLimit)
					if err != nil {
						t.Fatal(err)
					}
					rowCond := "1"
					if dim == report.Pages {
						rowCond = tt.pageRows
					}
					if dim == report.Events && tt.eventRows != "" {
						rowCond = tt.eventRows
					}
					if want := goldenBreakdown(t, e, mainQuery(), dim, tt.cond, rowCond); !rowsEqual(got, want) {
						t.Errorf("Breakdown(%s) =\n%+v\nwant\n%+v", dim, got, want)
					}
				}
			})
		}
	})
}
