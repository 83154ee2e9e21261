package report

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/teller-analytics/teller/pkg/store"
)

// Summary holds a range's key figures.
type Summary struct {
	// Visitors is the number of distinct visitors with a session in range.
	Visitors uint64
	// Sessions is the number of sessions that started in range.
	Sessions uint64
	// Pageviews is the number of distinct pageviews of those sessions.
	Pageviews uint64
	// BounceRate is the share of sessions that are not engaged, 0..1 (GA4:
	// engaged = 2 or more pageviews, or longer than 10 s, or a custom event).
	BounceRate float64
	// AvgDurationSec is the mean of (last event - first event) over the
	// sessions, in seconds.
	AvgDurationSec float64
	// PageviewsPerSession is Pageviews / Sessions.
	PageviewsPerSession float64
	// Events is the number of distinct custom events of those sessions.
	Events uint64
}

// summaryCols are the merged columns the summary figures need.
var summaryCols = []string{colVisitor, colDuration, colPageviews, colCustom}

// summaryAggs are the aggregates over sessionsFrom(summaryCols...) that
// scanSummary reads, in order.
var summaryAggs = summaryAggsIf("")

// summarySums are summaryAggs after the visitors: the figures that add up
// across parts of a range (closed.go), in scanSummary's order.
var summarySums = []string{"count()", "sum(s_pageviews)", "countIf(" + bounceCond + ")", "sum(s_duration)", "sum(s_custom)"}

// summaryOf is the Summary of a merged grouping row: the distinct visitors,
// then summarySums.
func summaryOf(row []uint64) Summary {
	s := Summary{Visitors: row[0], Sessions: row[1], Pageviews: row[2], Events: row[5]}
	sc := summaryScan{bounces: row[3], durationMs: row[4]}
	sc.finish(&s)
	return s
}

// summaryAggsIf is summaryAggs over the sessions that match cond (all of
// them when cond is empty), as -If aggregates: the one definition of the
// summary figures, so that Compare's single scan computes each period's
// exactly as Summary does.
func summaryAggsIf(cond string) string {
	if cond == "" {
		return "uniqExact(s_visitor), " + strings.Join(summarySums, ", ")
	}
	c := "(" + cond + ")"
	return "uniqExactIf(s_visitor, " + c + "), countIf(" + c + "), sumIf(s_pageviews, " + c + "), countIf((" +
		bounceCond + ") AND " + c + "), sumIf(s_duration, " + c + "), sumIf(s_custom, " + c + ")"
}

func scanSummary(rows store.Rows, s *Summary) error {
	var sc summaryScan
	if err := rows.Scan(sc.dest(s)...); err != nil {
		return err
	}
	sc.finish(s)
	return nil
}

// scanComparison reads Compare's row: summaryAggs for the current period,
// then for the previous one.
func scanComparison(rows store.Rows, cur, prev *Summary) error {
	var c, p summaryScan
	if err := rows.Scan(append(c.dest(cur), p.dest(prev)...)...); err != nil {
		return err
	}
	c.finish(cur)
	p.finish(prev)
	return nil
}

// summaryScan holds the raw sums of summaryAggs that Summary's averages
// are derived from.
type summaryScan struct{ bounces, durationMs uint64 }

func (sc *summaryScan) dest(s *Summary) []any {
	return []any{&s.Visitors, &s.Sessions, &s.Pageviews, &sc.bounces, &sc.durationMs, &s.Events}
}

func (sc *summaryScan) finish(s *Summary) {
	if s.Sessions > 0 {
		n := float64(s.Sessions)
		s.BounceRate = float64(sc.bounces) / n
		s.AvgDurationSec = float64(sc.durationMs) / 1000 / n
		s.PageviewsPerSession = float64(s.Pageviews) / n
	}
}

// Summary computes the key figures of q's sessions. With no sessions every
// figure is 0.
func (r *Reports) Summary(ctx context.Context, q Query) (Summary, error) {
	if err := q.validate(); err != nil {
		return Summary{}, err
	}
	from, args := q.sessionsFrom(summaryCols...)
	var s Summary
	n := 0
	err := r.each(ctx, "SELECT "+summaryAggs+"\nFROM "+from, args, func(rows store.Rows) error {
		n++
		return scanSummary(rows, &s)
	})
	if err == nil && n != 1 {
		err = errors.New("no row")
	}
	if err != nil {
		return Summary{}, fmt.Errorf("report: summary of %s: %w", q.Site, err)
	}
	return s, nil
}

// Comparison is a range's summary beside the previous period's.
type Comparison struct {
	Current, Previous Summary
	Change            Change
}

// Change says how each figure moved from the previous period: a relative
// change (0.25 is +25 %) for counts and averages, a difference of shares
// (0.05 is +5 points) for BounceRate. A nil field has no previous value to
// compare with (it was 0, or there were no sessions).
type Change struct {
	Visitors, Sessions, Pageviews, Events           *float64
	BounceRate, AvgDurationSec, PageviewsPerSession *float64
}

// Compare computes q's summary and that of q.Previous() (the same length,
// immediately before) and the change between them.
//
// Both periods are read in one scan: sessionsFrom over [Previous().From, To)
// (the same sessions as the two ranges together, since Previous().To is
// From), each period's figures taken with -If aggregates split at From's
// second, the bound both ranges' started_at conditions use.
func (r *Reports) Compare(ctx context.Context, q Query) (Comparison, error) {
	if err := q.validate(); err != nil {
		return Comparison{}, err
	}
	if cut, ok := r.split(q, q.Previous().From); ok {
		// One key per period, the closed part's figures kept (closed.go).
		keys := "if(s_started >= toDateTime(?), ['" + overviewTotal + "'], ['" + overviewPrevious + "'])"
		both := q.Previous()
		both.To = q.To
		rows, err := r.summaries(ctx, both, cut, keys, []any{q.fromSec()})
		if err == nil {
			cur, prev := rows[overviewTotal], rows[overviewPrevious]
			return Comparison{Current: cur, Previous: prev, Change: changeOf(cur, prev)}, nil
		}
		if !errors.Is(err, errNotKept) {
			return Comparison{}, fmt.Errorf("report: comparison of %s with the previous period: %w", q.Site, err)
		}
	}
	kept, keep, ok, err := r.lookupPrevious(ctx, q.Previous())
	if err != nil {
		return Comparison{}, err
	}
	if ok {
		cur, err := r.Summary(ctx, q)
		if err != nil {
			return Comparison{}, err
		}
		return Comparison{Current: cur, Previous: kept, Change: changeOf(cur, kept)}, nil
	}
	both := q.Previous()
	both.To = q.To
	from, fromArgs := both.sessionsFrom(append([]string{colStarted}, summaryCols...)...)
	isCur := "s_started >= toDateTime(?)"
	sel := "SELECT " + summaryAggsIf(isCur) + ",\n  " + summaryAggsIf("NOT "+isCur)
	var args []any
	for range strings.Count(sel, "?") { // every ? of sel is isCur's bound
		args = append(args, q.fromSec())
	}
	args = append(args, fromArgs...)
	query := sel + "\nFROM " + from
	var cur, prev Summary
	n := 0
	err = r.each(ctx, query, args, func(rows store.Rows) error {
		n++
		return scanComparison(rows, &cur, &prev)
	})
	if err == nil && n != 1 {
		err = errors.New("no row")
	}
	if err != nil {
		return Comparison{}, fmt.Errorf("report: comparison of %s with the previous period: %w", q.Site, err)
	}
	r.keepPrevious(keep, prev)
	return Comparison{Current: cur, Previous: prev, Change: changeOf(cur, prev)}, nil
}

func changeOf(cur, prev Summary) Change {
	rel := func(c, p float64) *float64 {
		if p == 0 {
			return nil
		}
		v := (c - p) / p
		return &v
	}
	var c Change
	c.Visitors = rel(float64(cur.Visitors), float64(prev.Visitors))
	c.Sessions = rel(float64(cur.Sessions), float64(prev.Sessions))
	c.Pageviews = rel(float64(cur.Pageviews), float64(prev.Pageviews))
	c.Events = rel(float64(cur.Events), float64(prev.Events))
	c.AvgDurationSec = rel(cur.AvgDurationSec, prev.AvgDurationSec)
	c.PageviewsPerSession = rel(cur.PageviewsPerSession, prev.PageviewsPerSession)
	if prev.Sessions > 0 && cur.Sessions > 0 {
		d := cur.BounceRate - prev.BounceRate
		c.BounceRate = &d
	}
	return c
}
