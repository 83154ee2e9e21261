package report

import (
	"context"
	"errors"
	"fmt"
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
}

// Summary computes the key figures of q's sessions. With no sessions every
// figure is 0.
func (r *Reports) Summary(ctx context.Context, q Query) (Summary, error) {
	if err := q.validate(); err != nil {
		return Summary{}, err
	}
	from, args := q.sessionsFrom(colVisitor, colDuration, colPageviews, colCustom)
	query := `SELECT uniqExact(s_visitor), count(), sum(s_pageviews), countIf(` + bounceCond + `), sum(s_duration)
FROM ` + from
	var s Summary
	var bounces, durationMs uint64
	rows, err := r.q.Query(ctx, query, args...)
	if err != nil {
		return Summary{}, fmt.Errorf("report: summary of %s: %w", q.Site, err)
	}
	defer rows.Close()
	if !rows.Next() {
		err := rows.Err()
		if err == nil {
			err = errors.New("no row")
		}
		return Summary{}, fmt.Errorf("report: summary of %s: %w", q.Site, err)
	}
	if err := rows.Scan(&s.Visitors, &s.Sessions, &s.Pageviews, &bounces, &durationMs); err != nil {
		return Summary{}, fmt.Errorf("report: summary of %s: %w", q.Site, err)
	}
	if s.Sessions > 0 {
		n := float64(s.Sessions)
		s.BounceRate = float64(bounces) / n
		s.AvgDurationSec = float64(durationMs) / 1000 / n
		s.PageviewsPerSession = float64(s.Pageviews) / n
	}
	return s, nil
}
