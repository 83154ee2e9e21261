package report_test

import (
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
