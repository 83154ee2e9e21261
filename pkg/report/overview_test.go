package report_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/teller-analytics/teller/internal/chtest"
	"github.com/teller-analytics/teller/internal/reporttest"
	"github.com/teller-analytics/teller/pkg/report"
)

// TestOverviewIsCompareAndSeries: the site page's one query gives exactly
// what Compare (or Summary, without the comparison) and Series give, for
// every interval, with the bot rule, session, page and negated page
// filters, on a range whose previous period holds sessions, and on a range
// without any session.
func TestOverviewIsCompareAndSeries(t *testing.T) {
	wide := mainQuery()
	wide.To = wide.To.Add(24 * time.Hour)
	wide.From = wide.To.Add(-36 * time.Hour) // previous period: the 36 h before
	empty := mainQuery()
	empty.From, empty.To = empty.From.AddDate(-1, 0, 0), empty.To.AddDate(-1, 0, 0)
	tests := []struct {
		name    string
		q       report.Query
		filters []report.Filter
	}{
		{"main", mainQuery(), nil},
		{"bots", withBots(mainQuery()), nil},
		{"wide", wide, nil},
		{"empty", empty, nil},
		{"channel", withBots(wide), []report.Filter{{Dimension: report.Channels, Op: report.Is, Value: "organic_search"}}},
		{"page", wide, []report.Filter{{Dimension: report.Pages, Op: report.Contains, Value: "pricing"}}},
		{"not page", withBots(wide), []report.Filter{{Dimension: report.Pages, Op: report.NotContains, Value: "pricing"}}},
	}
	each(t, func(t *testing.T, r *report.Reports, e *chtest.Engine) {
		for _, tt := range tests {
			q := tt.q
			q.Filters = tt.filters
			for _, iv := range report.Intervals() {
				points, err := r.Series(ctx(t), q, reporttest.Location(), report.MetricPageviews, iv)
				if err != nil {
					t.Fatal(err)
				}
				cmp, err := r.Compare(ctx(t), q)
				if err != nil {
					t.Fatal(err)
				}
				if tt.name == "wide" && cmp.Previous.Sessions == 0 {
					t.Errorf("wide: want sessions in the previous period")
				}
				for _, compare := range []bool{true, false} {
					got, err := r.Overview(ctx(t), q, reporttest.Location(), report.MetricPageviews, iv, compare)
					if err != nil {
						t.Fatalf("%s %s: %v", tt.name, iv, err)
					}
					want := cmp
					if !compare {
						want = report.Comparison{Current: cmp.Current}
					}
					if !summaryEqual(got.Current, want.Current) || !summaryEqual(got.Previous, want.Previous) ||
						!reflect.DeepEqual(got.Change, want.Change) {
						t.Errorf("%s %s compare=%t: Overview = %+v, Compare = %+v", tt.name, iv, compare, got.Comparison, want)
					}
					if !reflect.DeepEqual(got.Points, points) {
						t.Errorf("%s %s compare=%t: Overview points = %+v, Series = %+v", tt.name, iv, compare, got.Points, points)
					}
				}
			}
		}
	})
}

// TestBreakdownsIsBreakdown: the site page's one query for all session
// dimensions gives each exactly Breakdown's rows, in order, with small
// limits (so that LIMIT BY cuts ties as ORDER BY ... LIMIT does), with the
// bot rule and session, page and negated page filters.
func TestBreakdownsIsBreakdown(t *testing.T) {
	filters := [][]report.Filter{
		nil,
		{{Dimension: report.Channels, Op: report.Is, Value: "organic_search"}},
		{{Dimension: report.Pages, Op: report.Contains, Value: "pricing"}},
		{{Dimension: report.Pages, Op: report.NotContains, Value: "pricing"}, {Dimension: report.Browsers, Op: report.IsNot, Value: ""}},
	}
	dims := append(report.Dimensions(), report.Channels, "channels") // a repeat and an old name
	each(t, func(t *testing.T, r *report.Reports, e *chtest.Engine) {
		for _, q := range []report.Query{mainQuery(), withBots(mainQuery())} {
			for _, fs := range filters {
				q.Filters = fs
				for _, limit := range []int{1, 2, report.MaxLimit} {
					got, err := r.Breakdowns(ctx(t), q, dims, limit)
					if err != nil {
						t.Fatal(err)
					}
					if len(got) != len(report.Dimensions()) {
						t.Errorf("%d dimensions, want %d", len(got), len(report.Dimensions()))
					}
					nonEmpty := 0
					for _, dim := range report.Dimensions() {
						want, err := r.Breakdown(ctx(t), q, dim, limit)
						if err != nil {
							t.Fatal(err)
						}
						if !rowsEqual(got[dim], want) {
							t.Errorf("%v %s limit %d: Breakdowns = %+v, Breakdown = %+v", fs, dim, limit, got[dim], want)
						}
						if len(want) > 0 {
							nonEmpty++
						}
					}
					if nonEmpty < len(report.Dimensions())/2 {
						t.Errorf("%v: only %d dimensions with rows: the comparison would prove little", fs, nonEmpty)
					}
				}
			}
		}
	})
}

// TestOverviewWithIsOverviewAndBreakdowns: the site page's one query for
// its head and its session cards gives exactly Overview's figures and
// Breakdowns' rows (themselves tied to Compare, Series and Breakdown
// above), with and without the comparison, at limits that cut ties, with
// the bot rule and session, page and negated page filters; event
// dimensions are refused.
func TestOverviewWithIsOverviewAndBreakdowns(t *testing.T) {
	wide := mainQuery()
	wide.To = wide.To.Add(24 * time.Hour)
	wide.From = wide.To.Add(-36 * time.Hour)
	filters := [][]report.Filter{
		nil,
		{{Dimension: report.Channels, Op: report.Is, Value: "organic_search"}},
		{{Dimension: report.Pages, Op: report.Contains, Value: "pricing"}},
		{{Dimension: report.Pages, Op: report.NotContains, Value: "pricing"}, {Dimension: report.Browsers, Op: report.IsNot, Value: ""}},
	}
	var dims []report.Dimension
	for _, d := range report.Dimensions() {
		if !d.ReadsEvents() {
			dims = append(dims, d)
		}
	}
	asked := append(append([]report.Dimension(nil), dims...), report.Channels, "channels") // a repeat and an old name
	each(t, func(t *testing.T, r *report.Reports, e *chtest.Engine) {
		for _, q := range []report.Query{mainQuery(), withBots(mainQuery()), wide} {
			for _, fs := range filters {
				q.Filters = fs
				for _, iv := range []report.Interval{report.Hour, report.Day} {
					for _, compare := range []bool{true, false} {
						want, err := r.Overview(ctx(t), q, reporttest.Location(), report.MetricVisitors, iv, compare)
						if err != nil {
							t.Fatal(err)
						}
						for _, limit := range []int{1, 2, report.MaxLimit} {
							got, err := r.OverviewWith(ctx(t), q, reporttest.Location(), report.MetricVisitors, iv, compare, asked, limit)
							if err != nil {
								t.Fatalf("%v %s: %v", fs, iv, err)
							}
							if !summaryEqual(got.Current, want.Current) || !summaryEqual(got.Previous, want.Previous) ||
								!reflect.DeepEqual(got.Change, want.Change) || !reflect.DeepEqual(got.Points, want.Points) {
								t.Errorf("%v %s compare=%t limit %d: OverviewWith = %+v, Overview = %+v", fs, iv, compare, limit, got, want)
							}
							rows, err := r.Breakdowns(ctx(t), q, dims, limit)
							if err != nil {
								t.Fatal(err)
							}
							if len(got.Breakdowns) != len(dims) {
								t.Errorf("%d dimensions, want %d", len(got.Breakdowns), len(dims))
							}
							nonEmpty := 0
							for _, d := range dims {
								if !rowsEqual(got.Breakdowns[d], rows[d]) {
									t.Errorf("%v %s compare=%t %s limit %d: OverviewWith = %+v, Breakdowns = %+v", fs, iv, compare, d, limit, got.Breakdowns[d], rows[d])
								}
								if len(rows[d]) > 0 {
									nonEmpty++
								}
							}
							// The wide range holds no session for some filters.
							if want.Current.Sessions > 0 && nonEmpty < len(dims)/2 {
								t.Errorf("%v: only %d dimensions with rows: the comparison would prove little", fs, nonEmpty)
							}
						}
					}
				}
			}
		}
		for _, d := range []report.Dimension{report.Pages, report.Events, "nonsense"} {
			if _, err := r.OverviewWith(ctx(t), mainQuery(), reporttest.Location(), report.MetricVisitors, report.Day, true, []report.Dimension{d}, 10); !errors.Is(err, report.ErrInvalidQuery) {
				t.Errorf("OverviewWith(%s) = %v, want ErrInvalidQuery", d, err)
			}
		}
		if _, err := r.OverviewWith(ctx(t), mainQuery(), reporttest.Location(), report.MetricVisitors, report.Day, true, dims, 0); !errors.Is(err, report.ErrInvalidQuery) {
			t.Errorf("OverviewWith(limit 0) = %v, want ErrInvalidQuery", err)
		}
	})
}
