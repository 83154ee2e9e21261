package report

import (
	"context"
	"errors"
	"fmt"

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
var summaryAggs = "uniqExact(s_visitor), count(), sum(s_pageviews), countIf(" + bounceCond + "), sum(s_duration), sum(s_custom)"

func scanSummary(rows store.Rows, s *Summary) error {
	var bounces, durationMs uint64
	if err := rows.Scan(&s.Visitors, &s.Sessions, &s.Pageviews, &bounces, &durationMs, &s.Events); err != nil {
		return err
	}
	if s.Sessions > 0 {
		n := float64(s.Sessions)
		s.BounceRate = float64(bounces) / n
		s.AvgDurationSec = float64(durationMs) / 1000 / n
		s.PageviewsPerSession = float64(s.Pageviews) / n
	}
	return nil
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
func (r *Reports) Compare(ctx context.Context, q Query) (Comparison, error) {
	cur, err := r.Summary(ctx, q)
	if err != nil {
		return Comparison{}, err
	}
	prev, err := r.Summary(ctx, q.Previous())
	if err != nil {
		return Comparison{}, fmt.Errorf("report: previous period: %w", err)
	}
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
