package report

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/teller-analytics/teller/pkg/store"
)

// Overview is the head of a site's report page: the range's key figures
// (with the previous period's, when asked) and its series.
type Overview struct {
	Comparison
	Points []Point
}

// The keys of Overview's rows that are not buckets: bucketKey never yields
// an empty string, nor one that starts with a letter.
const (
	overviewTotal    = ""
	overviewPrevious = "previous"
)

// Overview computes what Compare (or, without compare, Summary) and Series
// compute for q, in one scan of q's sessions instead of two or three.
//
// Every session row is counted twice through ARRAY JOIN: once under the key
// of its bucket and once under a total key; a session of the previous
// period (read only with compare) counts once, under its own key. So each
// figure, the distinct visitors of the range included, is the same
// aggregate over the same sessions as in Summary, Compare and Series, on
// ClickHouse 18.16 and current releases (no WITH TOTALS or ROLLUP, whose
// rows the Querier interface cannot tell apart on every engine).
func (r *Reports) Overview(ctx context.Context, q Query, loc *time.Location, m Metric, iv Interval, compare bool) (Overview, error) {
	if err := q.validate(); err != nil {
		return Overview{}, err
	}
	var err error
	if m, err = ParseMetric(string(m)); err != nil {
		return Overview{}, err
	}
	iv, tz, bs, err := seriesFrame(q, loc, iv)
	if err != nil {
		return Overview{}, err
	}
	readFrom := q.From
	if compare {
		readFrom = q.Previous().From
	}
	if cut, ok := r.split(q, readFrom); ok {
		if out, err := r.overviewSplit(ctx, q, cut, m, iv, tz, bs, compare); !errors.Is(err, errNotKept) {
			return out, err
		}
	}
	var out Overview
	var keep *previousLookup // compare: where to keep the previous period's figures
	kept := false            // the previous period's figures were kept ones
	if compare {
		prev, l, ok, err := r.lookupPrevious(ctx, q.Previous())
		if err != nil {
			return Overview{}, err
		}
		if ok {
			// Kept figures: read only the range itself.
			out.Previous, kept, compare = prev, true, false
		} else {
			keep = l
		}
	}
	read := q
	if compare {
		read = q.Previous()
		read.To = q.To
	}
	from, args := read.sessionsFrom(append([]string{colStarted}, summaryCols...)...)
	keys, keyArgs := overviewKeys(q, iv, tz, compare)
	args = append(args, keyArgs...)
	query := "SELECT bucket, " + summaryAggs + "\nFROM " + from + "\nARRAY JOIN " + keys + " AS bucket\nGROUP BY bucket\nORDER BY bucket"
	ps := newPointSet(bs)
	err = r.each(ctx, query, args, func(rows store.Rows) error {
		k, s, err := scanBucket(rows)
		switch {
		case err != nil:
			return err
		case k == overviewTotal:
			out.Current = s
		case k == overviewPrevious:
			out.Previous = s
		default:
			ps.add(k, s)
		}
		return nil
	})
	if err != nil {
		return Overview{}, fmt.Errorf("report: overview of %s: %w", q.Site, err)
	}
	if compare {
		r.keepPrevious(keep, out.Previous)
	}
	if compare || kept {
		out.Change = changeOf(out.Current, out.Previous)
	}
	out.Points = ps.series(m)
	return out, nil
}

// overviewKeys is the ARRAY JOIN of Overview's statement (see Overview)
// and its arguments.
func overviewKeys(q Query, iv Interval, tz string, compare bool) (string, []any) {
	key, n := bucketKey(iv, "s_started")
	keys := "[" + key + ", '" + overviewTotal + "']"
	var args []any
	if compare {
		// Previous().To is q.From: the sessions before From's second are the
		// previous period's, as in Compare.
		keys = "if(s_started >= toDateTime(?), " + keys + ", ['" + overviewPrevious + "'])"
		args = append(args, q.fromSec())
	}
	return keys, append(args, zoneArgs(tz, n)...)
}

// overviewSplit is Overview on a ClosedCache: the same keys, the closed
// part's figures kept (closed.go). The previous period, wholly before the
// cut, is in the closed part.
func (r *Reports) overviewSplit(ctx context.Context, q Query, cut time.Time, m Metric, iv Interval, tz string, bs []bucket, compare bool) (Overview, error) {
	read := q
	if compare {
		read = q.Previous()
		read.To = q.To
	}
	keys, keyArgs := overviewKeys(q, iv, tz, compare)
	rows, err := r.summaries(ctx, read, cut, keys, keyArgs)
	if err != nil {
		return Overview{}, fmt.Errorf("report: overview of %s: %w", q.Site, err)
	}
	var out Overview
	ps := newPointSet(bs)
	for k, s := range rows {
		switch k {
		case overviewTotal:
			out.Current = s
		case overviewPrevious:
			out.Previous = s
		default:
			ps.add(k, s)
		}
	}
	if compare {
		out.Change = changeOf(out.Current, out.Previous)
	}
	out.Points = ps.series(m)
	return out, nil
}
